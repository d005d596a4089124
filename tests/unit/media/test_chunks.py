"""The pure decisions of a split encode: where chunks are cut, their argv, the join."""

import json
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.media import chunks, presets, probe

COMMON = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(50),
          Fraction(60000, 1001), Fraction(60), Fraction(120000, 1001)]
rates = st.one_of(st.sampled_from(COMMON),
                  st.builds(Fraction, st.integers(10000, 240000), st.integers(1000, 1001)))
lengths = st.one_of(st.integers(1, 900), st.fractions(Fraction(1, 100), Fraction(900)))
# Short clips in any chunk length, long ones (up to a day at 23.976) in realistic lengths:
# never more than a few thousand chunks.
clips = st.one_of(st.tuples(st.integers(1, 3000), rates, lengths),
                  st.tuples(st.integers(1, 2_000_000), rates, st.integers(60, 900)))


def rescale(value, num, den):
    """av_rescale_rnd(value, num, den, AV_ROUND_NEAR_INF) for value >= 0: how ffmpeg turns
    a time in one unit into another (a seek into a stream's ticks, a time into samples)."""
    return (value * num + den // 2) // den


@given(clips)
def test_chunks_cover_the_clip_exactly_within_the_length(clip):
    frames, fps, length = clip
    plan = chunks.plan(frames, fps, length)
    most = chunks.frames_per_chunk(fps, length)
    assert most >= 1 and (most == 1 or Fraction(most) / fps <= Fraction(length))
    assert [c.index for c in plan] == list(range(len(plan)))
    assert plan[0].start == 0
    for before, after in zip(plan, plan[1:]):
        assert before.start + before.frames == after.start          # no gap, no overlap
    assert plan[-1].start + plan[-1].frames == frames
    assert all(1 <= c.frames <= most for c in plan)
    assert len(plan) == -(-frames // most)                           # as few chunks as the length allows
    assert max(c.frames for c in plan) - min(c.frames for c in plan) <= 1   # no stub at the end


@given(clips)
def test_cut_times_are_the_frames_start_and_shared_by_both_sides(clip):
    frames, fps, length = clip
    plan = chunks.plan(frames, fps, length)
    for c in plan:
        exact = Fraction(c.start * chunks.US) / fps
        assert abs(c.start_us - exact) <= Fraction(1, 2)
        assert isinstance(c.start, int) and isinstance(c.start_us, int)
    for before, after in zip(plan, plan[1:]):
        assert before.end_us == after.start_us and not before.last
    assert plan[-1].last and plan[-1].end_us is None


@given(clips, st.sampled_from([8000, 22050, 44100, 48000, 96000, 192000]))
def test_audio_is_cut_at_the_same_samples_on_both_sides_and_never_drifts(clip, sample_rate):
    frames, fps, length = clip
    plan = chunks.plan(frames, fps, length)
    # ffmpeg's sample for a cut time: the same for the end of one chunk and the seek of the next.
    starts = [rescale(c.start_us, sample_rate, chunks.US) for c in plan]
    ends = [rescale(c.end_us, sample_rate, chunks.US) for c in plan[:-1]]
    assert ends == starts[1:]
    # Each cut within a sample of its frame's exact time, however many chunks came before.
    for c, sample in zip(plan, starts):
        exact = Fraction(c.start * sample_rate) / fps
        assert abs(sample - exact) < 1
    for c, start, end in zip(plan, starts, ends):
        assert abs((end - start) - Fraction(c.frames * sample_rate) / fps) < 2


@given(clips, st.sampled_from(COMMON), st.integers(1, 12))
def test_the_seek_lands_on_the_first_frame_of_the_chunk(clip, fps, multiple):
    """In a time base where frames have whole ticks (1/24000 for 23.976, 1/90000 for 29.97...),
    ffmpeg's seek tick is the chunk's first frame: it keeps that frame and not the one before."""
    frames, _, length = clip
    for den in {fps.numerator * multiple, 90000}:
        tick = Fraction(den) / fps           # ticks per frame
        if tick.denominator != 1 or den > 1_000_000:
            continue
        for c in chunks.plan(frames, fps, length):
            assert rescale(c.start_us, den, chunks.US) == c.start * tick


@given(st.integers(0, 10 ** 12))
def test_seconds_text_is_exact(us):
    text = chunks.seconds_text(us)
    assert Fraction(text) * chunks.US == us


def facts(**over):
    base = dict(width=1920, height=1080, fps=Fraction(24000, 1001), frames=24 * 60 * 20, timecode="01:00:00:00",
                audio_streams=2, duration=24 * 60 * 20 * 1001 / 24000)
    base.update(over)
    return probe.Facts(**base)


def test_only_long_clips_with_a_steady_rate_are_split():
    fps = Fraction(24000, 1001)
    frames = 24 * 60 * 20                               # 20 minutes and 1.2 s
    duration = float(frames / fps)
    assert chunks.splittable(frames, fps, duration, over=600)
    assert not chunks.splittable(frames, fps, duration, over=1800)      # not over 30 minutes
    assert not chunks.splittable(frames, fps, 1190.0, over=600)        # variable rate: frames do not fit the time
    assert chunks.splittable(frames, fps, duration + 1.9 / 24, over=600)
    assert not chunks.splittable(None, fps, duration, over=600)
    assert not chunks.splittable(frames, None, duration, over=600)
    assert not chunks.splittable(frames, fps, None, over=600)
    with pytest.raises(ValueError):
        chunks.plan(0, Fraction(25), 10)
    with pytest.raises(ValueError):
        chunks.plan(100, None, 10)


PLAN = presets.Plan("/m/A 001.mov", "/p/A 001.mov.part", "prores_proxy", (960, 540),
                    "hflip,scale=960:540", "01:00:00;00", 1)


@given(st.integers(2, 100_000), st.sampled_from(COMMON), st.integers(1, 600), st.integers(0, 4), st.data())
def test_a_chunk_is_encoded_like_the_whole_clip_with_an_exact_seek(frames, fps, length, audio, data):
    plan = chunks.plan(frames, fps, length)
    chunk = data.draw(st.sampled_from(plan))
    argv = chunks.chunk_argv("ffmpeg", PLAN, chunk, "/p/c.part", audio)
    seek = argv.index("-ss")
    assert seek < argv.index("-i") and argv[seek + 1] == chunks.seconds_text(chunk.start_us)
    assert {"-copyts", "-start_at_zero"} <= set(argv[:argv.index("-i")])
    vf = argv[argv.index("-vf") + 1]
    assert vf == f"trim=end_frame={chunk.frames},setpts=PTS-STARTPTS,{PLAN.vf}"
    assert "-timecode" not in argv and argv[-1] == "file:/p/c.part"
    assert not any(a.startswith("-frames") for a in argv)
    if audio:
        af = argv[argv.index("-af") + 1]
        assert af.endswith("asetpts=PTS-STARTPTS")
        assert af.startswith("atrim=end=") != chunk.last
        assert chunk.last or af.startswith(f"atrim=end={chunks.seconds_text(chunk.end_us)},")
    else:
        assert "-af" not in argv
    # Everything else is the whole encode's argv: same preset, threads, maps and audio codec.
    whole = presets.ffmpeg_argv("ffmpeg", replace(PLAN, part="/p/c.part", timecode=None))
    rest = [a for a in argv if a not in ("-copyts", "-start_at_zero")]
    for option in ("-ss", "-af"):
        if option in rest:
            i = rest.index(option)
            del rest[i:i + 2]
    rest[rest.index("-vf") + 1] = PLAN.vf
    assert rest == whole


def test_the_join_copies_streams_and_writes_the_clips_timecode():
    argv = chunks.join_argv("ffmpeg", "/p/.A.mov.chunks/concat.txt", "/p/A.mov.part", "01:00:00;00")
    i = argv.index("-i")
    assert argv[i - 4:i] == ["-f", "concat", "-safe", "0"] and argv[i + 1] == "file:/p/.A.mov.chunks/concat.txt"
    assert argv[argv.index("-c") + 1] == "copy"
    assert argv[argv.index("-timecode") + 1] == "01:00:00;00"
    assert argv[-3:] == ["-f", "mov", "file:/p/A.mov.part"]
    assert "-timecode" not in chunks.join_argv("ffmpeg", "l", "p", None)


@given(st.integers(1, 100_000), st.sampled_from(COMMON), st.integers(1, 600))
def test_the_concat_list_gives_each_chunk_its_video_duration(frames, fps, length):
    plan = chunks.plan(frames, fps, length)
    text = chunks.concat_list([f"/p/{c.index}.mov" for c in plan], plan, fps)
    durations = [Fraction(line.split()[1]) for line in text.splitlines() if line.startswith("duration ")]
    assert len(durations) == len(plan)
    for c, d in zip(plan, durations):
        assert abs(d - Fraction(c.frames) / fps) <= Fraction(1, 2 * chunks.US)


def test_concat_list_quotes_paths():
    plan = chunks.plan(10, Fraction(25), 1)
    text = chunks.concat_list(["/p/it's here.mov"], plan, Fraction(25))
    assert "file 'file:/p/it'\\''s here.mov'" in text


def test_chunk_files_live_hidden_beside_the_proxy():
    assert chunks.chunk_dir("/p/Proxy/A001.mov") == "/p/Proxy/.A001.mov.chunks"
    assert chunks.chunk_path("/p/Proxy/A001.mov", 3) == "/p/Proxy/.A001.mov.chunks/00003.mov"


def test_a_joined_proxy_is_checked_like_any_and_its_audio_for_length():
    src = facts()
    assert chunks.joined_differences(src, src, "01:00:00:00", [1201.2, 1201.2], [1201.2, 1201.21]) == []
    found = chunks.joined_differences(src, replace(src, frames=src.frames - 1), "01:00:00:00",
                                      [1201.2, 1201.2], [1201.2, 1199.2])
    assert found == [f"frame count {src.frames - 1} instead of {src.frames}",
                     "audio stream 2 lasts 1199.2 s instead of 1201.2 s"]
    assert chunks.joined_differences(src, replace(src, timecode="02:00:00:00"), "01:00:00:00", [], []) == [
        "start timecode 02:00:00:00 instead of 01:00:00:00"]
    chunk = chunks.plan(100, Fraction(25), 1)[0]
    assert chunks.chunk_differences(chunk, replace(src, frames=25, audio_streams=2), 2) == []
    assert chunks.chunk_differences(chunk, replace(src, frames=24, audio_streams=1), 2) == [
        "24 frames instead of 25", "1 audio streams instead of 2"]


def test_audio_durations_from_ffprobe_json():
    text = json.dumps({"streams": [
        {"codec_type": "video", "duration": "10.01"},
        {"codec_type": "audio", "duration": "10.300000"},
        {"codec_type": "audio", "duration_ts": 441000, "time_base": "1/44100"},
        {"codec_type": "audio"}]})
    assert probe.audio_durations(text) == [10.3, 10.0, None]
