"""The whole proxy pipeline as the user unit runs it: proxy-scan | proxy-encode |
proxy-link, through the strict simulator, with real clips (23.976 with timecode,
25 fps at 10:00:00:00 with two audio streams, 29.97 without audio)."""

import os
import subprocess
import sys

import pytest

from conftest import BIN
from proxyclips import clip_set
from proxyscene import open_cut

from _rexsim.app import Resolve  # noqa: E402

pytestmark = pytest.mark.slow   # real encodes through the pipeline



@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return clip_set(str(tmp_path_factory.mktemp("media") / "Card"))


@pytest.fixture
def scene(sim, tmp_path, media):
    return open_cut(sim, media, tmp_path / "proxies")


def proxy_status(media_id):
    """What Resolve shows in the clip's "Proxy" column (asked through the API)."""
    stack = [Resolve().GetProjectManager().GetCurrentProject().GetMediaPool().GetRootFolder()]
    while stack:
        folder = stack.pop()
        for clip in folder.GetClipList():
            if clip.GetMediaId() == media_id:
                return clip.GetClipProperty("Proxy")
        stack.extend(folder.GetSubFolderList())
    raise LookupError(media_id)


def pipeline(env, *encode_args):
    py = sys.executable
    script = (f'"{py}" "{BIN}/proxy-scan" --json | "{py}" "{BIN}/proxy-encode" --json {" ".join(encode_args)} '
              f'| "{py}" "{BIN}/proxy-link" --yes')
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("preset", ["prores_proxy", "prores_lt", "dnxhr_lb", "dnxhr_sq", "h264_intra"])
def test_scan_encode_link_links_every_clip(scene, preset):
    env, ids = scene
    result = pipeline(env, "--preset", preset)
    assert result.returncode == 0, result.stderr
    linked = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(linked) == 3 and all(p.endswith(".mov") and os.path.exists(p) for _s, p in linked)
    for media_id in ids:
        shown = proxy_status(media_id)
        assert shown not in ("None", "Offline") and "x" in shown, shown
    again = pipeline(env, "--preset", preset)   # every clip is linked and online: nothing to do
    assert again.returncode == 0 and again.stdout == ""


def test_offline_proxy_is_encoded_again_and_relinked(scene, media):
    env, ids = scene
    first = pipeline(env)
    assert first.returncode == 0, first.stderr
    proxies = dict(line.split("\t") for line in first.stdout.splitlines())   # finish order, not input order
    gone = proxies[media["a2398"]]
    os.unlink(gone)
    assert proxy_status(ids[0]) == "Offline"
    second = pipeline(env)
    assert second.returncode == 0, second.stderr
    assert [line.split("\t")[1] for line in second.stdout.splitlines()] == [gone]
    assert os.path.exists(gone)
