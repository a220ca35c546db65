"""Torch datasets over the face cache: single frames, and windows of L consecutive frames.

The unit of data follows the paper (§3.2): XceptionNet classifies one face crop, the XceptionNet+LSTM
classifies "sequences of five successive frames", so a video of 120 extracted frames yields 120 frame
items or 24 sequence items (L = 5). Which videos take part is decided here from two files only: the
manifest (labels, splits) and the face cache (which videos have crops, which a reviewer excluded).

Nothing is dropped silently: :class:`SplitIndex` counts the manifest rows without crops, the excluded
videos and the windows skipped for a missing face, and the data module logs those counts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import Dataset

from noisetrace.core.errors import NoisetraceError
from noisetrace.data.transforms import load_face
from noisetrace.faces.cache import FaceCache, FrameRecord, VideoFaces
from noisetrace.faces.geometry import points_in_crop

__all__ = [
    "FrameDataset",
    "FrameItem",
    "SequenceDataset",
    "SequenceItem",
    "SplitIndex",
    "class_weights",
    "index_split",
    "sequence_windows",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameItem:
    """One face crop: the data point of frame models."""

    uid: str
    label: int
    frame: int
    path: Path
    # The five landmarks in crop pixels (from meta.json), for masks of fakes blended while training.
    landmarks: tuple[tuple[float, float], ...] | None = None

    @property
    def frame_start(self) -> int:
        return self.frame

    @property
    def frame_end(self) -> int:
        return self.frame


@dataclass(frozen=True)
class SequenceItem:
    """``L`` crops of consecutive frames of one video: the data point of sequence models."""

    uid: str
    label: int
    frames: tuple[int, ...]
    paths: tuple[Path, ...]
    # Each crop's five landmarks in crop pixels, for fakes blended while training (see FrameItem).
    landmarks: tuple[tuple[tuple[float, float], ...], ...] | None = None

    @property
    def frame_start(self) -> int:
        return self.frames[0]

    @property
    def frame_end(self) -> int:
        return self.frames[-1]


@dataclass
class SplitIndex:
    """The items of one split and an account of everything that did not become an item."""

    split: str
    items: list[FrameItem] | list[SequenceItem]
    videos: int
    missing: list[str] = field(default_factory=list)  # manifest rows with no complete cache folder
    excluded: list[str] = field(default_factory=list)  # rejected by a reviewer (exclusions.txt)
    skipped_windows: int = 0  # sequence windows that would cross a frame without a face

    @property
    def labels(self) -> list[int]:
        return [item.label for item in self.items]

    def describe(self) -> str:
        real = sum(1 for label in self.labels if label == 0)
        text = (
            f"{self.split}: {self.videos} videos, {len(self.items)} items ({real} real, {len(self.items) - real} fake)"
        )
        if self.excluded:
            text += f"; {len(self.excluded)} videos excluded after review"
        if self.missing:
            text += f"; {len(self.missing)} videos have no face crops (e.g. {self.missing[:3]})"
        if self.skipped_windows:
            text += f"; {self.skipped_windows} windows skipped for a frame without a face"
        return text


def sequence_windows(meta: VideoFaces, seq_len: int) -> tuple[list[tuple[int, ...]], int]:
    """Non-overlapping windows of ``seq_len`` consecutive frame indices that all have a face.

    Windows lie on a fixed grid starting at the first decoded frame: window ``k`` holds frames
    ``first + k·L … first + k·L + L − 1``. A window that would include a frame without a face is
    skipped rather than shifted or stitched across the gap, so every sequence is truly consecutive
    in time (the temporal cue the LSTM learns from) and the windows of a video do not depend on
    where detection failed. A trailing partial window is not a sequence and is not counted as skipped.

    Returns the windows and the number skipped. 120 frames with faces and ``L = 5`` give 24 windows.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1, got {seq_len}")
    if not meta.frames:
        return [], 0
    with_face = {record.index for record in meta.face_frames}
    first = min(record.index for record in meta.frames)
    last = max(record.index for record in meta.frames)
    windows: list[tuple[int, ...]] = []
    skipped = 0
    for start in range(first, last - seq_len + 2, seq_len):
        window = tuple(range(start, start + seq_len))
        if all(index in with_face for index in window):
            windows.append(window)
        else:
            skipped += 1
    return windows, skipped


def index_split(manifest: pd.DataFrame, cache: FaceCache, split: str, seq_len: int | None = None) -> SplitIndex:
    """Items of the manifest rows in ``split`` that have crops in ``cache`` and are not excluded.

    ``seq_len=None`` indexes every face crop (frame models); an integer indexes windows of that many
    consecutive frames (sequence models, see :func:`sequence_windows`). Videos are taken in uid order,
    frames in time order, so an index is reproducible from the two files alone.
    """
    rows = manifest[manifest["split"] == split].sort_values("uid")
    complete = set(cache.uids())
    excluded_set = cache.exclusions()
    excluded = [uid for uid in rows["uid"] if uid in excluded_set]
    missing = [uid for uid in rows["uid"] if uid not in excluded_set and uid not in complete]
    frames: list[FrameItem] = []
    sequences: list[SequenceItem] = []
    skipped = 0
    videos = 0
    for uid, label in zip(rows["uid"], rows["label"], strict=True):
        if uid in excluded_set or uid not in complete:
            continue
        videos += 1
        meta = cache.read_meta(uid)
        folder = cache.video_dir(uid)
        size = int(meta.crop.get("size", 224))
        if seq_len is None:
            frames.extend(
                FrameItem(uid, int(label), record.index, folder / record.file, _crop_landmarks(record, size))
                for record in meta.face_frames
                if record.file is not None
            )
            continue
        records = {record.index: record for record in meta.face_frames if record.file is not None}
        windows, skipped_here = sequence_windows(meta, seq_len)
        skipped += skipped_here
        for window in windows:
            points = [_crop_landmarks(records[index], size) for index in window]
            sequences.append(
                SequenceItem(
                    uid,
                    int(label),
                    window,
                    tuple(folder / str(records[index].file) for index in window),
                    None if any(p is None for p in points) else tuple(points),  # type: ignore[arg-type]
                )
            )
    items: list[FrameItem] | list[SequenceItem] = frames if seq_len is None else sequences
    return SplitIndex(split, items, videos, missing=missing, excluded=excluded, skipped_windows=skipped)


def _crop_landmarks(record: FrameRecord, size: int) -> tuple[tuple[float, float], ...] | None:
    if record.landmarks is None or record.crop_box is None:
        return None
    points = points_in_crop(record.landmarks, record.crop_box, size)
    return tuple((round(float(x), 2), round(float(y), 2)) for x, y in points)


def class_weights(labels: Sequence[int]) -> tuple[float, float]:
    """Per-class loss weights ``w_c = N / (2 · N_c)`` over the training items (frames or sequences).

    This is the usual "balanced" weighting: each class contributes half of the total loss whatever
    its share of the data (FF++ has five fake videos per real one), and the weights average to 1 over
    the training set, so the loss keeps the scale of an unweighted one and the learning rate keeps
    its meaning. They are computed over *items*, not videos, because items are what the loss sums.

    >>> class_weights([0, 1, 1, 1])
    (2.0, 0.6666666666666666)
    """
    total = len(labels)
    counts = [sum(1 for label in labels if label == c) for c in (0, 1)]
    if min(counts) == 0:
        raise NoisetraceError(
            f"The training split needs real and fake items to weight the classes; it has {counts[0]} real "
            f"and {counts[1]} fake. Check the manifest's 'split' and 'label' columns and the face cache."
        )
    return (total / (2 * counts[0]), total / (2 * counts[1]))


class _CropItems(Dataset[tuple[torch.Tensor, int]]):
    """What frame and sequence datasets share: their items, the crop size, flipping and pixel type."""

    def __init__(
        self,
        items: Sequence[FrameItem] | Sequence[SequenceItem],
        image_size: int = 224,
        hflip: float = 0.0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.items = list(items)
        self.image_size = image_size
        self.hflip = hflip
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.items)

    def _draw_flip(self) -> bool:
        return self.hflip > 0 and bool(torch.rand(()) < self.hflip)


class FrameDataset(_CropItems):
    """Face crops as ``((3, S, S) tensor, label)``; ``items[i]`` says which crop item ``i`` is.

    Pixels are float32 in ``[0, 1]``, or uint8 with ``dtype=torch.uint8`` (converted later by
    :func:`noisetrace.data.to_unit_float`, e.g. on the GPU).
    """

    items: list[FrameItem]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        item = self.items[index]
        return load_face(item.path, self.image_size, self._draw_flip(), self.dtype), item.label


class SequenceDataset(_CropItems):
    """Windows as ``((L, 3, S, S) tensor, label)``, pixels as in :class:`FrameDataset`; one flip
    decision per window, so the frames of a sequence stay spatially consistent with each other."""

    items: list[SequenceItem]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        item = self.items[index]
        flip = self._draw_flip()
        frames = [load_face(path, self.image_size, flip, self.dtype) for path in item.paths]
        return torch.stack(frames), item.label
