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
