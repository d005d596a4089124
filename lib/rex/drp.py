"""Resolve project files (.drp): ZIPs of XML, checked member by member.

Resolve's XML is well-formed but not namespace-valid (tags like
`ListMgt::LmPowerNodeList`), so it is parsed with expat without namespace
processing.
"""

import zipfile
import zlib
import xml.parsers.expat

from .errors import DataError

PROJECT_XML = "project.xml"


def parse_xml(data, name):
    """Parse XML bytes without namespace processing; DataError if malformed."""
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise DataError(f"{name}: malformed XML: {exc}") from None


def check(path):
    """Prove a .drp is whole: every member's CRC, and project.xml parses."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise DataError(f"{path}: member {bad} fails its CRC check")
            names = archive.namelist()
            if PROJECT_XML not in names:
                raise DataError(f"{path}: no {PROJECT_XML} inside")
            parse_xml(archive.read(PROJECT_XML), f"{path}: {PROJECT_XML}")
            return f"{len(names)} members"
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not a valid ZIP: {exc}") from None
    except DataError:
        raise
    except (zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, zlib.error, OSError) as exc:
        raise DataError(f"{path}: unreadable ZIP: {exc}") from None


# --- canonical content ----------------------------------------------------------------
#
# Two exports of an unchanged project differ in bytes: member times, embedded save
# times and regenerated object ids. The canonical digest neutralises exactly those:
# the text of the volatile elements below, and every UUID (plain, or UTF-16 hex
# inside a blob) relabelled by its order of first appearance. Everything else — tag
# names, structure, every other value, the order of members' content — goes into
# the digest, so any real change gives a different digest. The replacement tokens
# contain NUL, which XML text can never hold, so they cannot collide with content.

import hashlib  # noqa: E402
import re  # noqa: E402

VOLATILE_ELEMENTS = ("DbSavedTime", "LastModTimeInSecs", "ModTimeInSecs", "ProjectAgeInMs",
                     "LastChangedTime", "LastRenderedTime")
_VOLATILE = re.compile(rb"<(" + b"|".join(e.encode() for e in VOLATILE_ELEMENTS) + rb")>[^<]*</\1>")
_H = rb"[0-9a-fA-F]"
_U16 = rb"(?:00(?:3[0-9]|6[1-6]|4[1-6]))"          # one hex digit as UTF-16BE, in hex
_UUID = re.compile(
    _H + rb"{8}-" + _H + rb"{4}-" + _H + rb"{4}-" + _H + rb"{4}-" + _H + rb"{12}"
    + rb"|" + _U16 + rb"{8}002d" + _U16 + rb"{4}002d" + _U16 + rb"{4}002d" + _U16 + rb"{4}002d" + _U16 + rb"{12}")
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _uuid_key(raw):
    if len(raw) == 36:
        return raw.lower()
    return bytes.fromhex(raw.decode()).decode("utf-16-be").lower().encode()


class _Labels:
    """UUID -> label by order of first appearance, shared across a project's members."""

    def __init__(self):
        self.map = {}

    def label(self, key):
        return self.map.setdefault(key, len(self.map))

    def sub(self, match):
        return b"\0%d\0" % self.label(_uuid_key(match.group(0)))


def canonical_member(data, labels):
    """The canonical bytes of one XML member."""
    data = _VOLATILE.sub(rb"<\1>\0</\1>", data)
    return _UUID.sub(labels.sub, data)


def canonical_digest(path):
    """SHA-256 of a .drp's content with volatile parts neutralised (see above)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise DataError(f"{path}: duplicate member names")
            labels = _Labels()
            out = hashlib.sha256(b"rex-drp-canonical-1\0")

            def add(name, data):
                canon = canonical_member(data, labels) if name.lower().endswith(".xml") else data
                label_name = _UUID.sub(labels.sub, name.encode("utf-8", "surrogateescape"))
                out.update(b"%d\0" % len(label_name) + label_name + b"%d\0" % len(canon))
                out.update(hashlib.sha256(canon).digest())

            fixed = sorted(n for n in names if not _UUID_TEXT.search(n))
            for name in fixed:
                add(name, archive.read(name))
            pending = [n for n in names if _UUID_TEXT.search(n)]
            # id-named members whose id is already known go in label order; the rest in
            # the order of their id-free content, so regenerated ids do not reorder them.
            known = sorted((labels.map[_UUID_TEXT.search(n).group(0).lower().encode()], n) for n in pending
                           if _UUID_TEXT.search(n).group(0).lower().encode() in labels.map)
            for _label, name in known:
                add(name, archive.read(name))
            rest = [n for n in pending if n not in {k[1] for k in known}]
            keyed = []
            for name in rest:
                data = archive.read(name)
                local = canonical_member(data, _Labels()) if name.lower().endswith(".xml") else data
                keyed.append((hashlib.sha256(local).digest(), name, data))
            for _key, name, data in sorted(keyed):
                add(name, data)
            return out.hexdigest()
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not a valid ZIP: {exc}") from None
    except (EOFError, zlib.error, NotImplementedError) as exc:
        raise DataError(f"{path}: unreadable ZIP: {exc}") from None
