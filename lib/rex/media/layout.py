"""Where a proxy goes, as a pure function of the source path.

Two layouts editors use: a `Proxy` folder next to the source (Resolve's and
Blackmagic Proxy Generator's convention: DCIM/A001.MP4 -> DCIM/Proxy/A001.mov),
or the source tree mirrored under one proxy root (/Volumes/Media/Day1/A001.mp4
-> ROOT/Volumes/Media/Day1/A001.mov). Either way the proxy is named like its
source with `.mov`, and a proxy path that would be the source itself is refused.
"""

import os

from ..errors import CantCreate

PROXY_EXT = ".mov"
PART_SUFFIX = ".part"


def proxy_name(source):
    """The proxy's file name: the source's stem with .mov."""
    stem = os.path.splitext(os.path.basename(source))[0]
    return stem + PROXY_EXT


def proxy_path(source, root=None, subfolder="Proxy"):
    """The proxy of absolute path `source`: mirrored under `root`, else in `subfolder` beside it.

    CantCreate (73) when the proxy would be the source itself (a .mov already in
    the proxy place), so an encode can never overwrite a source.
    """
    source = os.path.normpath(source)
    directory = os.path.dirname(source)
    if root:
        drive, rest = os.path.splitdrive(directory)
        rest = rest.lstrip(os.sep + (os.altsep or ""))
        target_dir = os.path.join(os.path.normpath(root), drive.replace(":", ""), rest)
    else:
        target_dir = os.path.join(directory, subfolder or "Proxy")
    target = os.path.normpath(os.path.join(target_dir, proxy_name(source)))
    if os.path.normcase(target) == os.path.normcase(source):
        raise CantCreate(f"{source}: its proxy would be the source itself; choose another proxy root")
    return target


def part_path(proxy):
    """Where the encode writes before the checked result is renamed to `proxy`."""
    return proxy + PART_SUFFIX


def is_proxy_place(path, subfolder="Proxy"):
    """True for a path inside a proxy subfolder (a proxy given as a source by mistake)."""
    return os.path.basename(os.path.dirname(os.path.normpath(path))) == (subfolder or "Proxy")
