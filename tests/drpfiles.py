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
        for info, data in members:
            new = zipfile.ZipInfo(info.filename, date_time=when)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            z.writestr(new, data)


def reexport(src, dst, seed=0):
    """Write `dst`: `src` as Resolve would export it again, unchanged."""
    rng = random.Random(seed)
    members = read_members(src)
    ids = set()
    for _info, data in members:
        ids.update(m.decode() for m in _UUID.findall(data))
    for info, _ in members:
        ids.update(m.decode() for m in _UUID.findall(info.filename.encode()))
    fresh = {old: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for old in sorted(ids)}
    # One simultaneous substitution (ids can map onto each other's old values when
    # a re-export is re-exported), of the plain and the UTF-16 hex forms.
    table = {}
    for old, new in fresh.items():
        table[old.encode()] = new.encode()
        table[_utf16hex(old)] = _utf16hex(new)
    pattern = re.compile(b"|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)) or b"(?!)")
    out = []
    for info, data in members:
        data = pattern.sub(lambda m: table[m.group(0)], data)
        data = _VOLATILE.sub(lambda m: b"<%s>%d</%s>" % (m.group(1), rng.randrange(10**9), m.group(1)), data)
        info.filename = pattern.sub(lambda m: table[m.group(0)], info.filename.encode()).decode()
        out.append((info, data))
    rng.shuffle(out)
    write_members(dst, out, when=(2026, 11, 21, rng.randrange(24), rng.randrange(60), rng.randrange(60) // 2 * 2))
    return dst
