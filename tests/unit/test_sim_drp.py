"""The simulator's .drp exports, built from its own state, have the shape of the real
Resolve 21 exports (compared where ../shared has them), so what the tests prove on
the simulator's files holds on Resolve's."""

import re
import xml.parsers.expat
import zipfile

from drpfiles import real_fixtures, samples
from rex.backups.drp import VOLATILE_ELEMENTS, canonical_digest

# Elements the simulator writes that the two real fixtures happen not to hold: bins
# below Master (ParentFolder) and generated items such as titles on a timeline.
NOT_IN_THE_FIXTURES = {"ParentFolder", "Sm2TiGeneratorClip"}


def kind(name):
    if name.startswith("SeqContainer/"):
        return "SeqContainer/<id>.xml"
    return "MediaPool/**/MpFolder.xml" if name.endswith("/MpFolder.xml") else name


def shape(paths):
    """Per kind of member: its root tags, all its tags, and its second lines (the version comment)."""
    out = {}
    for path in paths:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                data, tags = z.read(info.filename), []
                parser = xml.parsers.expat.ParserCreate()
                parser.StartElementHandler = lambda tag, attrs: tags.append(tag)
                parser.Parse(data, True)
                roots, every, heads = out.setdefault(kind(info.filename), (set(), set(), set()))
                roots.add(tags[0])
                every.update(tags)
                heads.add(re.sub(rb'DbAppVer="[^"]*"', b'DbAppVer="..."', data.split(b"\n")[1]))
    return out


def test_the_simulators_exports_are_shaped_like_resolves():
    sim, real = shape(samples()), shape(real_fixtures())
    assert set(sim) == set(real)
    for member, (roots, tags, heads) in sim.items():
        real_roots, real_tags, real_heads = real[member]
        assert roots == real_roots, member
        assert heads == real_heads, member        # <!--DbAppVer="..." DbPrjVer="17"-->
        assert tags - real_tags <= NOT_IN_THE_FIXTURES, (member, tags - real_tags)
    assert sim["Gallery.xml"][1] == real["Gallery.xml"][1]  # views and memory stills
    volatile = set(VOLATILE_ELEMENTS)
    assert {t for _r, tags, _h in real.values() for t in tags} & volatile == \
        {t for _r, tags, _h in sim.values() for t in tags} & volatile


def test_the_simulators_two_projects_differ_and_each_is_whole():
    assert len({canonical_digest(p) for p in samples()}) == 2
    for path in samples():
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            assert z.namelist()[0] == "project.xml" and z.namelist()[-1] == "Gallery.xml"
