"""Decode the first frames of a real video and encode frames as H.264, both with PyAV.

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

from noisetrace.core.errors import VideoDecodeError
from noisetrace.core.io import atomic_path


@dataclass
class DecodedVideo:
    """Upright RGB frames ``(N, H, W, 3)`` uint8 with even sides, and what it took to get them."""

    frames: np.ndarray
    fps: Fraction
    source_size: tuple[int, int]  # (width, height) of the decoded, upright frames before resizing
    rotation: int  # degrees applied from the display matrix

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

    A video that breaks off mid-stream keeps the frames decoded before the damage; one that gives
    no frame at all raises :class:`VideoDecodeError`.
    """
    path = Path(path)
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise VideoDecodeError(f"Not a readable video: {path} ({exc}).") from exc
    frames: list[np.ndarray] = []
    rotation = 0
    size: tuple[int, int] | None = None
    source_size = (0, 0)
    try:
        if not container.streams.video:
            raise VideoDecodeError(f"No video stream in {path}.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        try:
            for frame in container.decode(stream):
                rgb = frame.to_ndarray(format="rgb24")
                rotation = int(round((frame.rotation or 0) / 90) * 90) % 360
                if rotation:
                    rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
                if size is None:
                    source_size = (rgb.shape[1], rgb.shape[0])
                    size = output_size(*source_size, max_side)
                frames.append(_fit(rgb, size))
                if len(frames) >= max_frames:
                    break
        except av.error.FFmpegError as exc:
            if not frames:
                raise VideoDecodeError(f"Could not decode any frame of {path} ({exc}).") from exc
    finally:
        container.close()
    if not frames:
        raise VideoDecodeError(f"Video has no decodable frames: {path}.")
    return DecodedVideo(np.stack(frames), Fraction(rate), source_size, rotation)


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
