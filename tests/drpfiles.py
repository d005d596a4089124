"""Making .drp files for tests: the simulator's exports, the real fixtures, and
faithful re-exports of either.

`samples` are exports by the Resolve simulator of two projects of its own, there in
every checkout. The real Resolve exports (FIXTURES, in ../shared/fixtures/drp or
$REX_DRP_FIXTURES) are only beside the repository where ../shared is: a test about
them goes through `real_fixtures` (or `sources`), which skips without them, naming
the directory, and fails under CI=true instead, so a green CI proves they ran.

`reexport` does to a project file what Resolve does when it exports an unchanged
project again: new member times, new save times, regenerated object ids (also
inside hex blobs, as UTF-16) with the SeqContainer members renamed after them, and
members in a different order.
"""

import atexit
import glob
import os
import random
import re
import shutil
import sys
import tempfile
import uuid
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FIXTURE_DIR = os.environ.get("REX_DRP_FIXTURES") or os.path.join(SHARED, "fixtures", "drp")
FIXTURES = sorted(glob.glob(os.path.join(FIXTURE_DIR, "*.drp")))
SIM_VERSION = [21, 0, 4, 5, ""]


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def real_fixtures():
    """FIXTURES, for a test about the real Resolve exports; without them the test
    skips naming the missing directory, or fails under CI=true (CI has ../shared)."""
    if FIXTURES:
        return FIXTURES
    import pytest

    why = f"no real Resolve .drp fixtures in {FIXTURE_DIR} (the ../shared beside the repository)"
    if in_ci():
        pytest.fail(why + "; CI=true, so the tests about them must run, not skip", pytrace=False)
    pytest.skip(why)


def sources():
    """pytest parameters for a test to run on each .drp there is: the simulator's exports,
    then the real ones (one 'real-fixtures' parameter when missing: `source` skips or fails it)."""
    import pytest

    real = [pytest.param(p, id=os.path.basename(p)) for p in FIXTURES]
    return [pytest.param(p, id="sim-" + os.path.basename(p)) for p in samples()] + (
        real or [pytest.param(None, id="real-fixtures")])


def source(param):
    """The file of a test parametrized by `sources` (see real_fixtures when None)."""
    return param if param is not None else real_fixtures()


_SAMPLES = []


def _sim():
    """The simulator's package (_rexsim), importable from anywhere."""
    modules = os.path.join(ROOT, "tests", "resolve_sim", "Modules")
    if modules not in sys.path:
        sys.path.insert(0, modules)
    import _rexsim.drp
    import _rexsim.library

    return _rexsim


def _sample_projects():
    """Two different projects: a small spot, and a feature with nested bins, several
    timelines and tracks, unicode names and settings of its own."""
    library = _sim().library

    spot = library.sample_project("Spot")
    feature = library.sample_project("Feature \u2014 \u00e9t\u00e9 / cut", {"timelineFrameRate": "25"})
    reels = library.new_bin("Reels")
    day = library.new_bin("Day 2")
    day["clips"] += [library.new_clip("B%03d_C%03d.mov" % (2, i), fps=25, frames=100 + i) for i in range(4)]
    reels["folders"].append(day)
    reels["clips"].append(library.new_clip("Score.wav", props={"Type": "Audio", "Resolution": ""}))
    feature["media"]["folders"].append(reels)
    library.add_timeline(feature, "Reel 1", video=[["B002_C000.mov", "B002_C001.mov"], ["A001_C001.mov"]],
                         audio=["Score.wav", "B002_C000.mov"], titles=["Main Title", "Credits"])
    library.add_timeline(feature, "Reel 2", video=["B002_C002.mov", "B002_C003.mov"])
    return [("Spot.drp", spot), ("Feature.drp", feature)]


def samples():
    """Paths of two .drp exports by the simulator (made once per process, different content)."""
    if not _SAMPLES:
        drp = _sim().drp
        where = tempfile.mkdtemp(prefix="rex-drp-samples-")
        atexit.register(shutil.rmtree, where, True)
        for name, project in _sample_projects():
            path = os.path.join(where, name)
            with open(path, "wb") as f:
                f.write(drp.build(project, SIM_VERSION))
            _SAMPLES.append(path)
    return list(_SAMPLES)

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
