"""Video decoding with PyAV: only the frames the paper uses, honouring rotation, failing clearly.

The paper keeps the first 120 frames of each video, so decoding stops as soon as those are out:
decoding a whole FF++ video to use 120 of its ~500 frames would waste most of the extraction time.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from noisetrace.core.errors import NoisetraceError, VideoDecodeError


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, before decoding it."""

    path: str
    width: int
    height: int
    fps: float
    frame_count: int  # as declared by the container; 0 when unknown
    codec: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise VideoDecodeError(f"Video not found: {path}.")
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"Video file is empty (0 bytes): {path}.")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoDecodeError(f"Not a readable video: {path} ({exc}).") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"No video stream in {path}.")
    if container.streams.video[0].codec_context is None:  # e.g. a damaged or unknown codec entry
        container.close()
        raise VideoDecodeError(f"No decoder for the video stream of {path} (its codec is unknown or damaged).")
    return container


def _rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    return stream.average_rate or stream.guessed_rate


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the container header (no decoding)."""
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = _rate(stream)
        return VideoInfo(
            path=str(path),
            width=int(stream.codec_context.width),
            height=int(stream.codec_context.height),
            fps=float(rate) if rate else 0.0,
            frame_count=int(stream.frames or 0),
            codec=stream.codec_context.name,
        )


def frame_rate(path: str | os.PathLike[str]) -> Fraction | None:
    """The video stream's frame rate as an exact fraction (average, else guessed; ``None`` when the
    container states neither), for re-encoding at the source's rate; :func:`probe_video` gives it as
    a float."""
    with _open(Path(path)) as container:
        return _rate(container.streams.video[0])


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """Decode to RGB uint8 and apply the display-matrix rotation, so faces are upright.

    PyAV reports the angle by which display rotates the frame counter-clockwise; ``np.rot90``
    also rotates counter-clockwise. Grayscale and other pixel formats are converted to RGB here.
    """
    rgb = frame.to_ndarray(format="rgb24")
    quarter_turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
    return np.ascontiguousarray(np.rot90(rgb, k=quarter_turns)) if quarter_turns else rgb


def iter_frames(
    path: str | os.PathLike[str], max_frames: int | None = None, threads: int = 0, stride: int = 1
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, rgb)`` for the first ``max_frames`` frames and stop decoding there.

    ``stride`` keeps every n-th of those frames (indices 0, n, 2n, ...); the others are decoded (the
    codec needs them) but not converted to RGB, which is a large part of decoding at 1080p.

    ``threads=0`` lets FFmpeg choose (frame + slice threading). A file that breaks off mid-stream
    (truncated download) yields the frames decoded before the damage; a file that yields no frame
    at all raises :class:`VideoDecodeError`.
    """
    path = Path(path)
    if stride < 1:
        raise NoisetraceError(f"frame stride must be at least 1, got {stride}.")
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        index = 0
        try:
            for frame in container.decode(stream):
                if max_frames is not None and index >= max_frames:
                    break
                if index % stride == 0:
                    yield index, _upright(frame)
                index += 1
        except av.error.FFmpegError as exc:
            if index == 0:
                raise VideoDecodeError(f"Could not decode any frame of {path} ({exc}).") from exc
            return  # truncated: keep what was decoded before the damage
        if index == 0:
            raise VideoDecodeError(f"Video has no decodable frames: {path}.")
    finally:
        container.close()


def decode_ahead(frames: Iterator[tuple[int, np.ndarray]], depth: int = 8) -> Iterator[tuple[int, np.ndarray]]:
    """Run a frame iterator in a background thread, up to ``depth`` frames ahead of the consumer.

    FFmpeg decodes and converts pixels without Python's lock, and so do the detector's tensor
    operations, so decoding the next frames overlaps with detecting faces in the current ones. An
    exception of the decoder (e.g. :class:`VideoDecodeError`) is raised in the consumer, at the
    point of the stream where it happened; a consumer that stops early stops the decoder too.
    """
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in frames:
                if not put(("frame", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="noisetrace-decode", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise payload  # type: ignore[misc]
            yield payload  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def read_frames(path: str | os.PathLike[str], max_frames: int | None = None) -> list[np.ndarray]:
    """All of :func:`iter_frames` as a list (for short clips and tests)."""
    return [rgb for _, rgb in iter_frames(path, max_frames)]
