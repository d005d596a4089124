"""Making .drp files for tests: faithful re-exports of the real fixtures.

`reexport` does to a project file what Resolve does when it exports an unchanged
project again: new member times, new save times, regenerated object ids (also
inside hex blobs, as UTF-16) with the SeqContainer members renamed after them, and
members in a different order.
"""

import glob
import os
import random
import re
import uuid
import zipfile

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared")
FIXTURES = sorted(glob.glob(os.path.join(SHARED, "fixtures", "drp", "*.drp")))

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VOLATILE = re.compile(rb"<(DbSavedTime|LastModTimeInSecs|ModTimeInSecs|ProjectAgeInMs|LastChangedTime|"
                       rb"LastRenderedTime)>[^<]*</\1>")


def _utf16hex(text):
    return text.encode("utf-16-be").hex().encode()


def read_members(path):
    with zipfile.ZipFile(path) as z:
        return [(i, z.read(i.filename)) for i in z.infolist()]


def write_members(path, members, when=(2026, 11, 21, 12, 0, 0)):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        add_members(z, members, when)


def add_members(z, members, when):
    """Write (ZipInfo, bytes) members into the open ZipFile `z`, all stamped `when`."""
    for info, data in members:
        new = zipfile.ZipInfo(info.filename, date_time=when)
        new.compress_type = info.compress_type
        new.external_attr = info.external_attr
        z.writestr(new, data)


# Ids in a member: plain, or UTF-16BE hex inside a blob (lowercase, as Resolve writes it).
_WIDE = rb"(?:00(?:3[0-9]|6[1-6]))"
_ANY_ID = re.compile(_UUID.pattern + b"|" + _WIDE + rb"{8}002d" + _WIDE + rb"{4}002d" + _WIDE + rb"{4}002d"
                     + _WIDE + rb"{4}002d" + _WIDE + rb"{12}")


def reexport(src, dst, seed=0):
    """Write `dst`: `src` as Resolve would export it again, unchanged.

    Every id is replaced in one pass (ids may map onto each other's old values when
    a re-export is re-exported), in time linear in the file's size.
    """
    rng = random.Random(seed)
    members = read_members(src)
    ids = set()
    for info, data in members:
        ids.update(m.decode() for m in _UUID.findall(data))
        ids.update(m.decode() for m in _UUID.findall(info.filename.encode()))
    fresh = {old: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for old in sorted(ids)}
    table = {}
    for old, new in fresh.items():
        table[old.encode()] = new.encode()
        table[_utf16hex(old)] = _utf16hex(new)

    def swap(m):
        return table.get(m.group(0), m.group(0))

    out = []
    for info, data in members:
        data = _ANY_ID.sub(swap, data)
        data = _VOLATILE.sub(lambda m: b"<%s>%d</%s>" % (m.group(1), rng.randrange(10**9), m.group(1)), data)
        info.filename = _ANY_ID.sub(swap, info.filename.encode()).decode()
        out.append((info, data))
    rng.shuffle(out)
    write_members(dst, out, when=(2026, 11, 21, rng.randrange(24), rng.randrange(60), rng.randrange(60) // 2 * 2))
    return dst
