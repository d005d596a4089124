"""A long clip's proxy made in chunks: each chunk encoded, then all joined and checked.

The steps a farm spreads over its workers (`encode_chunk` on any worker, `join`
once all have run), and `encode_split`, which runs them in turn here. They go
through the same Encoder as a whole encode (same preset and plan, background
priority, `.part` + check + rename, `stop()`), so a chunk is what a whole encode
would make of those frames. The chunks live in a hidden directory beside the
proxy (media.chunks.chunk_dir); `join` removes it whether it succeeds or fails.
"""

import os
import shutil

from .. import errors
from . import chunks, probe
from .encode import EncodeResult


def encode_chunk(encoder, job, chunk):
    """Encode `chunk` (chunks.Chunk) of `job`'s source into its chunk file; an EncodeResult
    with that file's Facts (RexError when it fails).

    The chunk file is checked (its frame count and audio streams) before it takes its
    name, so a chunk file that exists is a whole chunk.
    """
    src, preset, plan = encoder.prepare(job)
    target = chunks.chunk_path(job.proxy, chunk)
    argv = chunks.chunk_argv(encoder.ffmpeg, plan, chunk, target + ".part", src.audio_streams)

    def check(part):
        try:
            facts = probe.probe(part, encoder.ffprobe)
        except errors.DataError as exc:
            return [exc.message]
        return chunks.chunk_differences(chunk, facts, src.audio_streams) or facts

    facts = encoder.make(job, src, target + ".part", target, argv, check, what=f"chunk {chunk.index + 1}")
    return EncodeResult(job.source, job.proxy, preset=preset, facts=facts, message=f"chunk {chunk.index + 1}")


def join(encoder, job, plan, failures=None):
    """Join the chunk files of `plan` (all the chunks of `job`) into `job.proxy`; an EncodeResult
    (RexError when it fails).

    The joined proxy is checked like any proxy (frame count, rate, start timecode,
    audio streams) and every audio stream must last as long as the source's. The
    chunk directory is removed whatever happens. A missing chunk (its encode failed)
    fails the join naming it, with why it failed when `failures` ({index: message}) says.
    """
    try:
        src, preset, whole = encoder.prepare(job)
        paths = [chunks.chunk_path(job.proxy, c) for c in plan]
        missing = [c.index for c, path in zip(plan, paths) if not os.path.isfile(path)]
        if missing:
            why = [(failures or {}).get(i) for i in missing]
            raise errors.RexError(f"{job.source}: chunk {', '.join(str(i + 1) for i in missing)} of {len(plan)} "
                                  f"was not encoded" + "".join(f": {w}" for w in why[:1] if w), errors.PARTIAL)
        listing = os.path.join(chunks.chunk_dir(job.proxy), "concat.txt")
        with open(listing, "w", encoding="utf-8") as out:
            out.write(chunks.concat_list(paths, plan, src.fps))
        source_audio = probe.probe_audio_durations(job.source, encoder.ffprobe) if src.audio_streams else []

        def check(part):
            try:
                facts = probe.probe(part, encoder.ffprobe)
                joined_audio = probe.probe_audio_durations(part, encoder.ffprobe) if source_audio else []
            except errors.DataError as exc:
                return [exc.message]
            return chunks.joined_differences(src, facts, whole.timecode, source_audio, joined_audio) or facts

        argv = chunks.join_argv(encoder.ffmpeg, listing, whole.part, whole.timecode)
        facts = encoder.make(job, src, whole.part, job.proxy, argv, check, what="the joined proxy")
        return EncodeResult(job.source, job.proxy, preset=preset, facts=facts)
    finally:
        remove_chunks(job.proxy)


def encode_split(encoder, job, length=chunks.CHUNK_LENGTH):
    """Make `job`'s proxy chunk by chunk on this machine, then join them; an EncodeResult
    (never an exception for a media problem), and no chunk file left either way."""

    def work(job):
        try:
            src, _, _ = encoder.prepare(job)
            try:
                plan = chunks.plan(src.frames, src.fps, length)
            except ValueError as exc:
                raise errors.RexError(f"{job.source}: {exc}", errors.PARTIAL) from None
            for chunk in plan:
                encode_chunk(encoder, job, chunk)
            return join(encoder, job, plan)
        finally:
            remove_chunks(job.proxy)

    return encoder.run(job, work)


def remove_chunks(proxy):
    """Remove `proxy`'s chunk directory and everything in it (nothing if there is none);
    a directory that cannot be removed is named in a warning, never an error."""
    try:
        shutil.rmtree(chunks.chunk_dir(proxy))
    except FileNotFoundError:
        pass
    except OSError as exc:
        from .. import log

        log.warning(f"{chunks.chunk_dir(proxy)}: cannot remove the chunks: {errors.describe(exc)}")
