"""proxy-encode on clips generated with lavfi: proxies that match their sources."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction

import pytest

from conftest import BIN
from smalldisk import needs_root, small_disk

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg not installed")

HOSTILE = "clip with spaces é\nline.mov"


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, stdin=subprocess.DEVNULL)


def lavfi_video(size, rate, seconds):
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def sine(freq, seconds):
    return ["-f", "lavfi", "-i", f"sine=f={freq}:sample_rate=48000:duration={seconds}"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Source clips: fractional and drop-frame rates with timecode, audio layouts, odd size, VFR."""
    d = tmp_path_factory.mktemp("media")
    p = {k: str(d / n) for k, n in [("c2398", "A001_2398.mov"), ("c2997", "A002_2997df.mov"),
                                    ("c25", "A003_25fps.mov"), ("noaudio", "A004_noaudio.mp4"),
                                    ("odd", "A005_odd.mkv"), ("vfr", "A006_vfr.mp4")]}
    ffmpeg(*lavfi_video("640x360", "24000/1001", 1.5), *sine(440, 1.5), "-map", "0", "-map", "1",
           "-timecode", "01:00:00:00", *H264, "-c:a", "pcm_s16le", p["c2398"])
    ffmpeg(*lavfi_video("320x180", "30000/1001", 1), *sine(440, 1), "-map", "0", "-map", "1",
           "-timecode", "01:00:00;00", *H264, "-c:a", "pcm_s24le", p["c2997"])
    ffmpeg(*lavfi_video("320x180", "25", 1), *sine(440, 1), *sine(880, 1), "-map", "0", "-map", "1", "-map", "2",
           "-timecode", "10:00:00:00", *H264, "-c:a", "pcm_s16le", p["c25"])
    ffmpeg(*lavfi_video("320x180", "25", 1), *H264, p["noaudio"])
    ffmpeg(*lavfi_video("321x181", "25", 1), *sine(440, 1), "-map", "0", "-map", "1", "-c:v", "ffv1",
           "-c:a", "flac", p["odd"])
    ffmpeg(*lavfi_video("320x180", "30", 1), *lavfi_video("320x180", "15", 1), "-filter_complex",
           "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-fps_mode", "vfr", *H264, p["vfr"])
    hostile = str(d / HOSTILE)
    shutil.copyfile(p["c25"], hostile)
    corrupt = str(d / "A007_corrupt.mp4")
    with open(p["noaudio"], "rb") as f:
        data = f.read()
    with open(corrupt, "wb") as f:
        f.write(data[:len(data) // 3])
    p["hostile"], p["corrupt"] = hostile, corrupt
    long_clip = str(d / "B001_long.mov")
    ffmpeg(*lavfi_video("1280x720", "25", 40), *H264, long_clip)
    p["long"] = long_clip
    return p


GOOD = ("c2398", "c2997", "c25", "noaudio", "odd", "vfr")


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format",
                          "-count_packets", "file:" + path], capture_output=True, check=True).stdout
    data = json.loads(out)
    video = [s for s in data["streams"] if s["codec_type"] == "video"][0]
    tc = video.get("tags", {}).get("timecode") or next(
        (s["tags"]["timecode"] for s in data["streams"] if s.get("tags", {}).get("timecode")), None)
    return {"frames": int(video["nb_read_packets"]), "fps": Fraction(video["r_frame_rate"]), "timecode": tc,
            "audio": sum(s["codec_type"] == "audio" for s in data["streams"]), "width": video["width"],
            "height": video["height"], "codec": video["codec_name"], "pix_fmt": video["pix_fmt"],
            "format": data["format"]["format_name"]}


def pairs(result):
    return [tuple(line.split("\t")) for line in result.out.splitlines()]


@pytest.fixture
def env(rex_env, tmp_path):
    env = dict(rex_env)
    env["REX_PROXY_ROOT"] = str(tmp_path / "proxies")
    return env


PIX = {"prores_proxy": ("prores", "yuv422p10le"), "prores_lt": ("prores", "yuv422p10le"),
       "dnxhr_lb": ("dnxhd", "yuv422p"), "dnxhr_sq": ("dnxhd", "yuv422p"), "h264_intra": ("h264", "yuv420p")}


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PIX))
def test_each_preset_matches_its_sources(run, env, clips, preset):
    sources = [clips[k] for k in GOOD]
    result = run("proxy-encode", "--preset", preset, "--height", "original", *sources, env=env)
    assert result.returncode == 0, result.err
    got = dict(pairs(result))
    assert sorted(got) == sorted(sources)
    for source, proxy in got.items():
        assert proxy.endswith(".mov") and proxy.startswith(env["REX_PROXY_ROOT"] + source.rsplit(".", 1)[0])
        a, b = probe(source), probe(proxy)
        assert (b["frames"], b["fps"], b["timecode"], b["audio"]) == (a["frames"], a["fps"], a["timecode"],
                                                                     a["audio"]), source
        assert (b["codec"], b["pix_fmt"]) == PIX[preset]
        assert "mov" in b["format"]
        assert b["height"] <= a["height"] and b["width"] <= a["width"] and b["width"] % 2 == 0
        assert not os.path.exists(proxy + ".part")


@pytest.mark.slow
def test_heights_never_upscale_and_keep_even_widths(run, env, clips):
    result = run("proxy-encode", "--height", "1080", clips["c2398"], clips["odd"], "--json", env=env)
    assert result.returncode == 0, result.err
    rows = {r["source"]: r for r in map(json.loads, result.out.splitlines())}
    assert (rows[clips["c2398"]]["width"], rows[clips["c2398"]]["height"]) == (640, 360)
    assert (rows[clips["odd"]]["width"], rows[clips["odd"]]["height"]) == (320, 180)
    result = run("proxy-encode", "--height", "quarter", "--proxy-subfolder", clips["c2398"], "--json", env=env)
    assert result.returncode == 0, result.err
    row = json.loads(result.out)
    assert (row["width"], row["height"]) == (160, 90)
    os.unlink(row["path"])


@pytest.mark.slow
def test_rerun_skips_valid_proxies_and_redoes_a_bad_one(run, env, clips):
    sources = [clips[k] for k in GOOD]
    first = run("proxy-encode", *sources, env=env)
    assert first.returncode == 0, first.err
    mtimes = {p: os.stat(p).st_mtime_ns for _, p in pairs(first)}
    started = time.monotonic()
    again = run("proxy-encode", "--json", *sources, env=env)
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.err
    rows = [json.loads(line) for line in again.out.splitlines()]
    assert all(r["skipped"] for r in rows) and sorted((r["source"], r["path"]) for r in rows) == sorted(pairs(first))
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes
    assert elapsed < 30
    bad = pairs(first)[0][1]
    with open(bad, "r+b") as f:
        f.truncate(os.path.getsize(bad) // 2)
    third = run("proxy-encode", "--json", *sources, env=env)
    assert third.returncode == 0, third.err
    redone = [json.loads(line) for line in third.out.splitlines() if not json.loads(line)["skipped"]]
    assert [r["path"] for r in redone] == [bad]


def test_layouts(run, rex_env, clips, tmp_path):
    result = run("proxy-encode", clips["noaudio"], env=rex_env)       # no root: a Proxy folder beside it
    assert result.returncode == 0, result.err
    directory, name = os.path.split(clips["noaudio"])
    expected = os.path.join(directory, "Proxy", os.path.splitext(name)[0] + ".mov")
    assert pairs(result) == [(clips["noaudio"], expected)]
    os.unlink(expected)
    root = tmp_path / "root"
    result = run("proxy-encode", "--proxy-root", root, clips["noaudio"], env=rex_env)
    assert pairs(result) == [(clips["noaudio"], str(root) + os.path.splitext(clips["noaudio"])[0] + ".mov")]


def test_a_proxy_never_overwrites_its_source(run, rex_env, clips, tmp_path):
    src_dir = tmp_path / "Proxy"
    src_dir.mkdir()
    source = src_dir / "X.mov"
    shutil.copyfile(clips["c25"], source)
    result = run("proxy-encode", "--proxy-root", "/", source, env=rex_env)
    assert result.returncode == 73 and "source itself" in result.err


@pytest.mark.slow
def test_rules_choose_presets(run, env, clips, tmp_path):
    config = tmp_path / "rex.yaml"
    config.write_text("proxy:\n  rules:\n    - match: {ext: [mkv]}\n      preset: dnxhr_lb\n"
                      "    - match: {glob: '*25fps*', min_height: 100}\n      preset: h264_intra\n"
                      "  height: original\n")
    result = run("proxy-encode", "-c", config, "--json", clips["odd"], clips["c25"], clips["noaudio"], env=env)
    assert result.returncode == 0, result.err
    rows = {r["source"]: r for r in map(json.loads, result.out.splitlines())}
    assert rows[clips["odd"]]["preset"] == "dnxhr_lb" and rows[clips["odd"]]["codec"] == "dnxhd"
    assert rows[clips["c25"]]["preset"] == "h264_intra" and rows[clips["c25"]]["codec"] == "h264"
    assert rows[clips["noaudio"]]["preset"] == "prores_proxy"
    config.write_text("proxy:\n  rules:\n    - match: {exts: mkv}\n      preset: dnxhr_lb\n")
    result = run("proxy-encode", "-c", config, clips["odd"], env=env)
    assert result.returncode == 78 and "did you mean 'ext'" in result.err


@pytest.mark.slow
def test_corrupt_file_named_others_done(run, env, clips):
    result = run("proxy-encode", clips["corrupt"], clips["c25"], clips["noaudio"], env=env)
    assert result.returncode == 1, result.err
    assert sorted(s for s, _ in pairs(result)) == sorted([clips["c25"], clips["noaudio"]])
    assert clips["corrupt"] in result.err and "error" in result.err


def test_records_missing_and_malformed(run, env, clips):
    records = "\n".join([json.dumps({"path": clips["c25"], "start_tc": "11:00:00:00", "hflip": True,
                                     "data_level": "Full"}), "{not json", "/no/such/clip.mov"]) + "\n"
    result = run("proxy-encode", "--json", env=env, input=records)
    assert result.returncode == 65, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert len(rows) == 1 and rows[0]["timecode"] == "11:00:00:00"
    assert probe(rows[0]["path"])["timecode"] == "11:00:00:00"
    assert "/no/such/clip.mov: no such file" in result.err and "malformed JSON record" in result.err
    result = run("proxy-encode", "/no/such/clip.mov", env=env)
    assert result.returncode == 66


@pytest.mark.slow
def test_hostile_names_with_null(run, env, clips):
    result = run("proxy-encode", "-0", env=env, input=clips["hostile"] + "\0")
    assert result.returncode == 0, result.err
    source, proxy = result.out.rstrip("\0").split("\t")
    assert source == clips["hostile"] and os.path.basename(proxy) == os.path.splitext(HOSTILE)[0] + ".mov"
    assert probe(proxy)["audio"] == 2
    result = run("proxy-encode", clips["hostile"], env=env)      # a newline cannot go on a line
    assert result.returncode != 0 and "use -0" in result.err


def test_ffmpeg_missing_is_69(run, env, clips, tmp_path):
    env = dict(env, PATH=str(tmp_path))
    result = run("proxy-encode", clips["c25"], env=env)
    assert result.returncode == 69 and "ffmpeg" in result.err


def _start(env, *args):
    return subprocess.Popen([sys.executable, os.path.join(BIN, "proxy-encode"), *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_part(directory, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for dirpath, _, names in os.walk(directory):
            for n in names:
                if n.endswith(".mov.part") and os.path.getsize(os.path.join(dirpath, n)) > 10000:
                    return os.path.join(dirpath, n)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no .part appeared")


def _ffmpeg_children_gone(part, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", part], capture_output=True).stdout.strip()
        if not found:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_kill_9_mid_encode_leaves_no_final_file_and_next_run_finishes(run, env, clips):
    args = ["--preset", "prores_lt", "--height", "original", "--threads", "1", clips["long"]]
    proc = _start(env, *args)
    part = _wait_for_part(env["REX_PROXY_ROOT"], proc)
    proc.kill()
    proc.wait()
    assert _ffmpeg_children_gone(part)
    final = part[:-len(".part")]
    assert not os.path.exists(final)
    result = run("proxy-encode", *args, env=env, timeout=300)
    assert result.returncode == 0, result.err
    assert pairs(result) == [(clips["long"], final)] and not os.path.exists(part)
    assert probe(final)["frames"] == probe(clips["long"])["frames"]
    os.unlink(final)


def test_sigterm_stops_cleanly(env, clips):
    proc = _start(env, "--preset", "prores_lt", "--height", "original", "--threads", "1", clips["long"])
    part = _wait_for_part(env["REX_PROXY_ROOT"], proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and out == b""
    assert not os.path.exists(part) and not os.path.exists(part[:-len(".part")])
    assert _ffmpeg_children_gone(part)


def test_dry_run_encodes_nothing(run, env, clips):
    result = run("proxy-encode", "-n", clips["c25"], env=env)
    assert result.returncode == 0 and result.out == "" and "would encode" in result.err
    assert not os.path.exists(env["REX_PROXY_ROOT"])


@pytest.mark.slow
def test_a_finished_proxy_is_printed_before_the_next_input_arrives(env, clips):
    """A slow upstream (proxy-scan waiting on Resolve) must not hold back finished pairs."""
    proc = subprocess.Popen([sys.executable, os.path.join(BIN, "proxy-encode"), "--height", "90"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write((clips["c25"] + "\n").encode())
        proc.stdin.flush()
        import select

        ready, _, _ = select.select([proc.stdout], [], [], 60)    # stdin stays open: no more input yet
        assert ready, "the finished pair waited for the next input"
        first = proc.stdout.readline().decode()
        assert first.split("\t")[0] == clips["c25"], proc.stderr.read1().decode() if not first else first
        proc.stdin.write((clips["noaudio"] + "\n").encode())
        proc.stdin.close()
        rest = proc.stdout.read().decode()
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
        assert rest.split("\t")[0] == clips["noaudio"]
    finally:
        proc.kill()
        proc.wait()


@needs_root
def test_full_disk_is_74_and_leaves_no_part(run, env, clips, tmp_path):
    with small_disk(tmp_path / "small", "64k") as mount:
        result = run("proxy-encode", "--proxy-root", mount, "--preset", "prores_lt", "--height", "original",
                     clips["c25"], env=env)
        assert result.returncode == 74, result.err
        assert "disk full" in result.err and result.out == ""
        assert [n for _d, _s, files in os.walk(mount) for n in files] == []
