"""Decode the first frames of a real video and encode frames as H.264, both with PyAV.

Decoding is the face stage's (:func:`noisetrace.faces.video.iter_frames`: upright by the display
matrix, a truncated file keeps the frames before the damage), so a benchmark video and an extracted
one are decoded alike; here the frames are only fitted to the output size.

The benchmark re-encodes the real videos *and* the fakes with the same encoder, CRF and preset,
so compression history is not a label leak: in FF++ the originals and every manipulation share
the c23 encoding too. The encoder runs single-threaded: libx264's output then depends only on
its input and settings, so a seed reproduces the files byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from noisetrace.core.io import atomic_path
from noisetrace.faces.video import frame_rate, iter_frames


@dataclass
class DecodedVideo:
    """Upright RGB frames ``(N, H, W, 3)`` uint8 with even sides, and what it took to get them."""

    frames: np.ndarray
    fps: Fraction
    source_size: tuple[int, int]  # (width, height) of the decoded, upright frames before resizing

    @property
    def size(self) -> tuple[int, int]:
        return int(self.frames.shape[2]), int(self.frames.shape[1])


def output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Frame size written for a ``width × height`` video: scaled to ``max_side``, sides made even.

    H.264 in 4:2:0 needs even sides; odd ones lose their last row or column rather than being
    resampled, so small videos keep their pixels untouched.
    """
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = round(width * scale), round(height * scale)
    return max(width - width % 2, 2), max(height - height % 2, 2)


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = rgb.shape[:2]
    target_w, target_h = size
    if (width, height) == (target_w, target_h):
        return rgb
    if width - target_w <= 1 and height - target_h <= 1:  # odd side: crop, do not resample
        return np.ascontiguousarray(rgb[:target_h, :target_w])
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def read_video(path: str | os.PathLike[str], max_frames: int, max_side: int | None = None) -> DecodedVideo:
    """Decode the first ``max_frames`` frames and stop; rotate upright; fit to :func:`output_size`.

    As :func:`~noisetrace.faces.video.iter_frames`, a video that breaks off mid-stream keeps the frames
    decoded before the damage; one that gives no frame at all (or is no video) raises
    :class:`~noisetrace.core.errors.VideoDecodeError`.
    """
    path = Path(path)
    rate = frame_rate(path) or Fraction(25)
    frames: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    source_size = (0, 0)
    for _, rgb in iter_frames(path, max_frames):
        if size is None:
            source_size = (rgb.shape[1], rgb.shape[0])
            size = output_size(*source_size, max_side)
        frames.append(_fit(rgb, size))
    return DecodedVideo(np.stack(frames), Fraction(rate), source_size)


def write_video(
    path: str | os.PathLike[str], frames: np.ndarray, fps: Fraction, crf: int, preset: str = "faster"
) -> Path:
    """Encode RGB frames as H.264 (yuv420p, ``crf``, ``preset``) into an MP4, atomically."""
    path = Path(path)
    height, width = frames.shape[1:3]
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        stream.codec_context.thread_count = 1
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
