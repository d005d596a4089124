"""The farm's pure decisions: version keys, path maps, job ids and timeouts, Redis URLs."""

import posixpath
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rex import errors
from rex.proxy import farmconn, farmkey, farmspec
from rex.proxy.pathmap import PathMap

# ------------------------------------------------------------------ version key


def test_version_key_is_major_minor_and_a_hash_of_the_preset_table():
    key = farmkey.version_key()
    assert re.fullmatch(r"\d+\.\d+-[0-9a-f]{12}", key)
    assert farmkey.queue_name() == "rex-proxy:" + key
    assert farmkey.queue_name("0.9-abc") == "rex-proxy:0.9-abc"


def test_the_key_changes_with_the_minor_version_and_any_preset_argument_not_the_patch():
    table = farmkey.preset_table()
    assert farmkey.key_of("1.2.3", table) == farmkey.key_of("1.2.7", table)
    assert farmkey.key_of("1.2.3", table) != farmkey.key_of("1.3.0", table)
    changed = {**table, "presets": dict(table["presets"])}
    changed["presets"]["prores_proxy"] = dict(changed["presets"]["prores_proxy"], pix_fmt="yuv422p")
    assert farmkey.key_of("1.2.3", table) != farmkey.key_of("1.2.3", changed)


# ------------------------------------------------------------------ path map

component = st.text(alphabet="abcMV12 ._-", min_size=1, max_size=6).filter(lambda c: c not in (".", ".."))
absolute = st.lists(component, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


def test_longest_prefix_wins_and_only_whole_components_match():
    m = PathMap.from_config({"/Volumes/Media": "/mnt/media", "/Volumes/Media/Special": "/srv/special"})
    assert m.to_worker("/Volumes/Media/Day1/A.mov") == "/mnt/media/Day1/A.mov"
    assert m.to_worker("/Volumes/Media/Special/B.mov") == "/srv/special/B.mov"
    assert m.to_worker("/Volumes/Media2/C.mov") == "/Volumes/Media2/C.mov"
    assert m.to_worker("/Volumes/Media") == "/mnt/media"
    assert m.to_queuer("/mnt/media/Day1/A.mov") == "/Volumes/Media/Day1/A.mov"
    assert m.to_queuer("/srv/special/B.mov") == "/Volumes/Media/Special/B.mov"
    assert m.to_queuer("/mnt/media2/x") == "/mnt/media2/x"


@pytest.mark.parametrize("pairs", [
    {"/a": "/x", "/b": "/x"},              # two queuer paths on one worker path
    {"/a": "/x", "/b": "/x/y"},            # /x/y comes back as /a/y or /b
])
def test_a_map_whose_way_back_is_ambiguous_is_refused(pairs):
    with pytest.raises(ValueError):
        PathMap.from_config(pairs)


@given(st.dictionaries(absolute, absolute, max_size=4), absolute)
def test_a_queuer_path_comes_back_where_it_came_from(mapping, path):
    try:
        m = PathMap.from_config(mapping)
    except ValueError:
        assume(False)
    queuer_sides = [posixpath.normpath(a) for a in mapping]
    worker_sides = [posixpath.normpath(b) for b in mapping.values()]
    under = lambda p, prefix: p == prefix or p.startswith(prefix + "/")   # noqa: E731
    # A path outside every queuer prefix but inside a worker one is not the queuer's to give.
    assume(any(under(path, q) for q in queuer_sides) or not any(under(path, w) for w in worker_sides))
    assert m.to_queuer(m.to_worker(path)) == path


@given(absolute, absolute, st.lists(component, max_size=3))
def test_a_mapped_path_keeps_everything_below_the_prefix(queuer, worker, rest):
    m = PathMap.from_config({queuer: worker})
    path = posixpath.join(queuer, *rest)
    assert m.to_worker(path) == posixpath.join(worker, *rest)


def test_the_config_takes_a_mapping_or_a_list_and_refuses_relative_paths():
    from rex.config.schema import BY_NAME
    from rex.config.types import coerce

    key = BY_NAME["farm.path_map"]
    assert coerce(key, {"/Volumes/Media/": "/mnt/media"}) == {"/Volumes/Media": "/mnt/media"}
    assert coerce(key, ["/Volumes/Media: /mnt/media", {"/Volumes/B": "/mnt/b"}]) == {
        "/Volumes/Media": "/mnt/media", "/Volumes/B": "/mnt/b"}
    for bad in (["Volumes: /mnt"], "/a", [["/a", "/b"]]):
        with pytest.raises(ValueError):
            coerce(key, bad)


# ------------------------------------------------------------------ job spec

def test_job_id_is_stable_per_target_and_differs_between_targets():
    assert farmspec.job_id("/p/A.mov") == farmspec.job_id("/p/A.mov")
    assert farmspec.job_id("/p/A.mov") != farmspec.job_id("/p/B.mov")
    assert re.fullmatch(r"rex-proxy-[0-9a-f]{32}", farmspec.job_id("/p/é\udcff.mov"))


@given(st.integers(1, 10 ** 7), st.sampled_from(sorted(farmspec.SLOW_FPS)),
       st.tuples(st.integers(16, 8192), st.integers(16, 4320)))
def test_timeout_is_never_rq_default_and_grows_with_frames_and_size(frames, preset, size):
    spec = {"frames": frames, "preset": preset, "size": list(size)}
    timeout = farmspec.job_timeout(spec)
    assert timeout >= farmspec.MIN_TIMEOUT > 180
    assert farmspec.job_timeout(dict(spec, frames=frames * 2)) >= timeout
    assert farmspec.job_timeout(dict(spec, size=[size[0] * 2, size[1] * 2])) >= timeout
    # Time enough for the whole clip at the preset's slowest assumed speed.
    assert timeout - farmspec.MIN_TIMEOUT >= frames / farmspec.SLOW_FPS[preset]


def test_an_hour_of_uhd_gets_hours_not_minutes():
    spec = {"frames": 25 * 3600, "preset": "prores_lt", "size": [3840, 2160]}
    assert farmspec.job_timeout(spec) > 4 * 3600


# ------------------------------------------------------------------ URLs

@pytest.mark.parametrize("url, where", [
    ("redis://server.local:6380/1", "server.local:6380"),
    ("redis://server.local/0", "server.local:6379"),
    ("rediss://user@10.0.0.5:7000", "10.0.0.5:7000"),
    ("unix:///run/redis.sock", "/run/redis.sock"),
])
def test_where_names_host_and_port_only(url, where):
    assert farmconn.where(url) == where
    assert farmconn.check_url(url) == url


@pytest.mark.parametrize("url", ["server:6379", "http://server:6379", ""])
def test_a_url_that_is_not_redis_is_a_usage_error(url):
    with pytest.raises(errors.UsageError):
        farmconn.check_url(url)


def test_a_password_in_the_url_is_refused_without_echoing_it():
    with pytest.raises(errors.UsageError) as caught:
        farmconn.check_url("redis://:hunter2@server:6379/0")
    assert "hunter2" not in caught.value.message and "server:6379" in caught.value.message
