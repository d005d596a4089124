"""A long clip split into chunks, encoded apart and joined (rex.media.chunked), with real ffmpeg:
the joined proxy is the whole encode's frames and samples, its timecode and audio in sync,
and no chunk file is left whether it succeeds or fails."""

import os
import shutil
import subprocess

import pytest

from proxyclips import probe_counts
from rex import errors
from rex.media import chunked, chunks, encode

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg not installed")


def make_source(path, rate, seconds, timecode=None, audio=(), codec=("-c:v", "mpeg4", "-q:v", "8")):
    """A clip with one mono audio stream per sample rate in `audio` (each a little longer
    or shorter than the picture, as camera audio is) and an optional timecode."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size=320x180:rate={rate}:duration={seconds}"]
    for i, sample_rate in enumerate(audio):
        argv += ["-f", "lavfi", "-i", f"sine=frequency={440 + 110 * i}:sample_rate={sample_rate}:"
                                      f"duration={seconds + 0.1 * (i % 2)}"]
    argv += ["-map", "0:v"] + [x for i in range(len(audio)) for x in ("-map", f"{i + 1}:a")]
    argv += [*codec, "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le"]
    if timecode:
        argv += ["-timecode", timecode]
    subprocess.run(argv + [str(path)], check=True, timeout=120)
    return str(path)


def decoded_md5(path, stream):
    """The md5 of one stream decoded: equal for the same pictures or the same samples."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", stream, "-f", "md5", "-"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return out.strip()


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".part") or name.endswith(".chunks"))


# name: (rate, seconds, timecode, audio sample rates, preset, record, codec of the source)
CASES = {
    "23.976 two audio rates prores": ("24000/1001", 4, "01:00:00:00", (48000, 44100), "prores_proxy", {}, None),
    "29.97 drop-frame dnxhr": ("30000/1001", 4, "01:00:00;00", (48000,), "dnxhr_lb", {}, None),
    "25 silent h264 flipped": ("25", 3, None, (), "h264_intra", {"hflip": "On", "data_level": "Full"}, None),
    "23.976 long-GOP source": ("24000/1001", 4, "10:00:00:00", (48000, 48000, 48000), "prores_proxy", {},
                               ("-c:v", "libx264", "-preset", "ultrafast", "-g", "48", "-bf", "3")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_split_encode_is_the_whole_encode(tmp_path, name):
    rate, seconds, timecode, audio, preset, record, codec = CASES[name]
    source = make_source(tmp_path / "A001 it's.mov", rate, seconds, timecode, audio,
                         **({"codec": codec} if codec else {}))
    encoder = encode.Encoder("ffmpeg", "ffprobe")
    whole = encoder.run(encode.Job(source, str(tmp_path / "whole" / "A001.mov"), record, preset, "original"))
    assert whole.ok, whole.message
    job = encode.Job(source, str(tmp_path / "split" / "A001 it's.mov"), record, preset, "original")
    plan = chunks.plan(whole.facts.frames, whole.facts.fps, 1.3)
    assert len(plan) >= 3
    split = chunked.encode_split(encoder, job, length=1.3)
    assert split.ok, split.message
    assert split.facts == whole.facts                     # frames, rate, timecode, audio streams, size
    frames, streams, tc = probe_counts(split.proxy)
    assert (frames, streams, tc) == probe_counts(whole.proxy)
    assert tc == timecode
    # The very same pictures (all-intra encoders make the same frame from the same input)...
    if preset != "h264_intra":
        assert decoded_md5(split.proxy, "0:v:0") == decoded_md5(whole.proxy, "0:v:0")
    # ...and every audio stream the same samples: cut where the next chunk starts, nothing drifts.
    for i in range(len(audio)):
        assert decoded_md5(split.proxy, f"0:a:{i}") == decoded_md5(whole.proxy, f"0:a:{i}"), f"audio {i}"
    assert leftovers(tmp_path / "split") == []


def test_chunks_are_removed_when_an_encode_fails(tmp_path):
    source = make_source(tmp_path / "B001.mov", "25", 3, "10:00:00:00", (48000,))
    proxy = tmp_path / "Proxy" / "B001.mov"
    started = []

    def on_start(job, facts):        # the source goes away while the second chunk is encoded
        started.append(job)
        if len(started) == 2:
            os.unlink(source)

    encoder = encode.Encoder("ffmpeg", "ffprobe", on_start=on_start)
    result = chunked.encode_split(encoder, encode.Job(source, str(proxy), {}, "prores_proxy", "original"), length=1)
    assert result.code == errors.PARTIAL and "B001.mov" in result.message
    assert len(started) == 2
    assert not proxy.exists() and leftovers(proxy.parent) == []


def test_a_join_missing_a_chunk_fails_naming_it_and_cleans_up(tmp_path):
    source = make_source(tmp_path / "C001.mov", "30000/1001", 3, "01:00:00;00", (48000,))
    proxy = str(tmp_path / "Proxy" / "C001.mov")
    encoder = encode.Encoder("ffmpeg", "ffprobe")
    job = encode.Job(source, proxy, {}, "prores_proxy", "original")
    plan = chunks.plan(90, encoder.prepare(job)[0].fps, 1.5)
    for chunk in plan:
        if chunk.index != 1:
            chunked.encode_chunk(encoder, job, chunk)
    assert sorted(os.listdir(chunks.chunk_dir(proxy))) == ["00000.mov", "00002.mov"]
    with pytest.raises(Exception) as caught:
        chunked.join(encoder, job, plan)
    assert "chunk 2 of 3 was not encoded" in str(caught.value)
    assert not os.path.exists(proxy) and leftovers(os.path.dirname(proxy)) == []


def test_a_damaged_chunk_fails_the_joined_check(tmp_path):
    """A chunk cut short after it was checked (a full disk, a bad copy): the joined proxy
    misses frames, its check says so, and nothing is left."""
    source = make_source(tmp_path / "D001.mov", "25", 3, "10:00:00:00", (48000,))
    proxy = str(tmp_path / "Proxy" / "D001.mov")
    encoder = encode.Encoder("ffmpeg", "ffprobe")
    job = encode.Job(source, proxy, {}, "prores_proxy", "original")
    plan = chunks.plan(75, 25, 1)
    for chunk in plan:
        chunked.encode_chunk(encoder, job, chunk)
    damaged = chunks.chunk_path(proxy, 1)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", damaged, "-map", "0", "-c", "copy", "-frames:v", "5",
                    "-f", "mov", damaged + ".tmp"], check=True)
    os.replace(damaged + ".tmp", damaged)
    with pytest.raises(Exception) as caught:
        chunked.join(encoder, job, plan)
    assert "frame count" in str(caught.value)
    assert not os.path.exists(proxy) and leftovers(os.path.dirname(proxy)) == []
