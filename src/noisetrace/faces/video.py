"""Video decoding with PyAV: only the frames the paper uses, honouring rotation, failing clearly.

The paper keeps the first 120 frames of each video, so decoding stops as soon as those are out:
decoding a whole FF++ video to use 120 of its ~500 frames would waste most of the extraction time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from noisetrace.core.errors import VideoDecodeError


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
    path: str | os.PathLike[str], max_frames: int | None = None, threads: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, rgb)`` for the first ``max_frames`` frames and stop decoding there.

    ``threads=0`` lets FFmpeg choose (frame + slice threading). A file that breaks off mid-stream
    (truncated download) yields the frames decoded before the damage; a file that yields no frame
    at all raises :class:`VideoDecodeError`.
    """
    path = Path(path)
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


def read_frames(path: str | os.PathLike[str], max_frames: int | None = None) -> list[np.ndarray]:
    """All of :func:`iter_frames` as a list (for short clips and tests)."""
    return [rgb for _, rgb in iter_frames(path, max_frames)]
