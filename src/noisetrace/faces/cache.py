"""The face cache: the contract between face extraction and every stage that reads face crops.

Layout::

    <root>/<uid>/NNNN.png     lossless 224×224 RGB crop of frame NNNN (frame index in the video)
    <root>/<uid>/meta.json    per-frame boxes, landmarks, scores, frames without a face and why,
                              detector settings, source video hash
    <root>/<uid>/overview.jpg a small full frame with every detection drawn (for review only)
    <root>/_status/<uid>.json videos that produced no crops (no face, unreadable file) and why
    <root>/extract_report.csv one row per video processed: uid, status, frames, faces, message
    <root>/exclusions.txt     uids a person rejected after review (one per line, ``#`` comments)

A video folder appears only when complete (written through :func:`noisetrace.core.io.atomic_directory`),
so ``meta.json`` existing means every crop it lists is on disk. Crops are PNG by default because SRM
residuals study high-frequency noise, and JPEG would add its own 8×8 block noise to exactly that signal.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import writing

META_FILE = "meta.json"
OVERVIEW_FILE = "overview.jpg"
STATUS_DIR = "_status"
REPORT_FILE = "extract_report.csv"
EXCLUSIONS_FILE = "exclusions.txt"
CACHE_FORMAT_VERSION = 1


@dataclass
class FrameRecord:
    """What extraction found in one decoded frame.

    ``file`` is ``None`` when no subject face was found; ``reason`` then says why
    (``no_face``: the detector found none; ``lost_subject``: faces were found but none continued the
    tracked subject).
    """

    index: int
    file: str | None
    box: list[float] | None = None  # detector box x1, y1, x2, y2 in frame pixels
    crop_box: list[float] | None = None  # the enlarged square-free box actually cropped
    landmarks: list[list[float]] | None = None  # 5 points (eyes, nose, mouth corners), frame pixels
    score: float | None = None
    reason: str | None = None
    detection: str | None = None  # "detected" (full cascade) or "tracked"; None in caches made before


@dataclass
class VideoFaces:
    """Contents of ``meta.json`` for one video."""

    uid: str
    source: dict[str, Any]
    detector: dict[str, Any]
    crop: dict[str, Any]
    frames: list[FrameRecord] = field(default_factory=list)
    status: str = "ok"  # ok | partial (some frames without the subject) | truncated (file ended early)
    message: str = ""
    format_version: int = CACHE_FORMAT_VERSION

    @property
    def face_frames(self) -> list[FrameRecord]:
        return [f for f in self.frames if f.file is not None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> VideoFaces:
        frames = [FrameRecord(**f) for f in obj.get("frames", [])]
        return cls(
            uid=obj["uid"],
            source=obj.get("source", {}),
            detector=obj.get("detector", {}),
            crop=obj.get("crop", {}),
            frames=frames,
            status=obj.get("status", "ok"),
            message=obj.get("message", ""),
            format_version=obj.get("format_version", CACHE_FORMAT_VERSION),
        )


def crop_filename(frame_index: int, suffix: str = ".png") -> str:
    """Crops are named by frame index, four digits (the paper keeps 120 frames; more digits if needed)."""
    return f"{frame_index:04d}{suffix}"


def write_image(path: str | os.PathLike[str], rgb: np.ndarray, params: list[int] | None = None) -> None:
    """Write an RGB uint8 image in the format its suffix names (``.png``, ``.jpg``).

    The image is encoded in memory and written with Python's own file writing, so that a failed write
    says why (disk full, permission denied, ...: an :class:`~noisetrace.core.errors.OutputError` naming
    the file) instead of OpenCV's bare ``False``.
    """
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params or [])
    if not ok:
        raise NoisetraceError(f"Could not encode the image {path} (an array of shape {rgb.shape}).")
    with writing(path):
        path.write_bytes(encoded.tobytes())


def write_crop(path: str | os.PathLike[str], rgb: np.ndarray) -> None:
    """Write an RGB uint8 crop; PNG compression level 1 is lossless and several times faster than 9."""
    params = (
        [cv2.IMWRITE_PNG_COMPRESSION, 1] if str(path).endswith(".png") else [cv2.IMWRITE_JPEG_QUALITY, 95]
    )
    write_image(path, rgb, params)


def read_crop(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a crop as an RGB uint8 array (H, W, 3)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise NoisetraceError(f"Could not read face crop {path}.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class FaceCache:
    """Read access to a face cache folder (writing happens in :mod:`noisetrace.faces.extract`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def video_dir(self, uid: str) -> Path:
        return self.root / uid

    def is_complete(self, uid: str) -> bool:
        return (self.video_dir(uid) / META_FILE).is_file()

    def read_meta(self, uid: str) -> VideoFaces:
        path = self.video_dir(uid) / META_FILE
        if not path.is_file():
            raise NoisetraceError(
                f"No face crops for video {uid!r} in {self.root} (missing {path}). "
                "Run `noisetrace extract MANIFEST -o CACHE` first."
            )
        return VideoFaces.from_json(json.loads(path.read_text(encoding="utf-8")))

    def crop_paths(self, uid: str) -> list[tuple[int, Path]]:
        """(frame index, crop path) for every frame with a face, in frame order."""
        meta = self.read_meta(uid)
        folder = self.video_dir(uid)
        return [(f.index, folder / f.file) for f in meta.face_frames if f.file is not None]

    def uids(self) -> list[str]:
        """Every complete video in the cache, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{META_FILE}"))

    def exclusions(self) -> set[str]:
        """uids a reviewer rejected; later stages skip them."""
        return read_exclusions(self.root / EXCLUSIONS_FILE)

    def usable_uids(self) -> set[str]:
        """Videos a later stage can score: complete in the cache and not excluded by a reviewer."""
        return set(self.uids()) - self.exclusions()


def read_exclusions(path: str | os.PathLike[str]) -> set[str]:
    """Parse an exclusion list: one uid per line, blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        return set()
    uids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            uids.add(line)
    return uids
