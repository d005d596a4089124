"""Bench data for rex-dedupe: Resolve project files (.drp) grown from the real exports.

A real export (tests/../shared/fixtures/drp) is a ZIP of XML: project.xml, the media
pool, one SeqContainer/<uuid>.xml per timeline, Gallery.xml. `grow` adds timelines
made from the fixture's own: every DbId regenerated, and the hex blobs
(FieldsBlob, CompositionBA, ...) lengthened with random hex — what Resolve stores
there is mostly zlib data, so it compresses about as badly — with some UTF-16 hex
ids inside, as Resolve's blobs have. Re-exports come from tests/drpfiles.reexport.
"""

import os
import random
import re
import sys
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import drpfiles  # noqa: E402

FIXTURES = drpfiles.FIXTURES
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BLOB = re.compile(rb"<(FieldsBlob|CompositionBA|[A-Za-z]+BA)>([0-9a-f]+)</\1>")
_DURATION = re.compile(rb"<Duration>(\d+)</Duration>")


def fixture(name_part=""):
    found = [f for f in FIXTURES if name_part in os.path.basename(f)]
    if not found:
        raise RuntimeError(f"no fixture .drp matching {name_part!r} under {os.path.dirname(drpfiles.SHARED)}")
    return found[0]


def _timelines(members):
    return [data for info, data in members if info.filename.startswith("SeqContainer/") and data]


def _new_timeline(template, rng, blob_bytes):
    """(uuid, bytes): `template` with fresh DbIds and its blobs grown by about `blob_bytes` of hex."""
    fresh = {}

    def new_id(m):
        old = m.group(0)
        if old not in fresh:
            fresh[old] = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
        return fresh[old]

    data = _UUID.sub(new_id, template)
    blobs = _BLOB.findall(data)
    per_blob = max(64, blob_bytes // max(1, len(blobs)))

    def grow_blob(m):
        extra = rng.randbytes(rng.randrange(per_blob // 2, per_blob * 3 // 2) // 2).hex().encode()
        if rng.random() < 0.3:   # an id inside the blob, as UTF-16 hex (a reference to another object)
            ref = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            extra = extra[:len(extra) // 2] + ref.encode("utf-16-be").hex().encode() + extra[len(extra) // 2:]
        return b"<%s>%s%s</%s>" % (m.group(1), m.group(2), extra, m.group(1))

    data = _BLOB.sub(grow_blob, data)
    ident = _UUID.search(data).group(0).decode()   # the container's DbId names the member
    return ident, data


def grow(src, dst, target_bytes, seed=0, blob_bytes=160_000, progress=None):
    """Write `dst`: the project `src` with timelines added until the ZIP holds ~target_bytes."""
    rng = random.Random(seed)
    members = drpfiles.read_members(src)
    templates = _timelines(members)
    when = (2026, 11, 20, 18, 30, 0)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        drpfiles.add_members(z, members, when)
        added = 0
        while z.fp.tell() < target_bytes:
            ident, data = _new_timeline(rng.choice(templates), rng, blob_bytes)
            info = zipfile.ZipInfo(f"SeqContainer/{ident}.xml", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            added += 1
            if progress and added % 100 == 0:
                progress(f"    {dst}: {z.fp.tell() / 1e6:.0f} MB, {added} timelines added")
    return added


def edit(src, dst, step):
    """Write `dst`: `src` with one real change (a clip's duration in a timeline), as a user's edit."""
    members = drpfiles.read_members(src)
    out, done = [], False
    for info, data in members:
        if not done and info.filename.startswith("SeqContainer/") and _DURATION.search(data):
            data = _DURATION.sub(lambda m: b"<Duration>%d</Duration>" % (int(m.group(1)) + step), data, count=1)
            done = True
        out.append((info, data))
    if not done:
        raise RuntimeError(f"{src}: no <Duration> to edit")
    drpfiles.write_members(dst, out)
    return dst


reexport = drpfiles.reexport
