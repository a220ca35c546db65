"""The Lightning data module: manifest + face cache → train and validation loaders.

It owns what the LightningModule must not know: which split is which, how items are formed
(frames or windows of ``L`` consecutive frames), resizing and the optional flip, batching and worker
processes, and the pixel format in transit (uint8, made float on the device). It never builds the
test split: test videos are touched once, by evaluation, never by training or model selection.

``setup`` does per-process work only (reading ``meta.json`` files), so it is safe under DDP, where
every process calls it; Lightning then shards the training loader with a ``DistributedSampler``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.manifest import manifest_hash, read_manifest
from noisetrace.data.blending import BlendedFrameDataset, BlendedSequenceDataset, BlendSettings, robust_augmentation
from noisetrace.data.datasets import FrameDataset, SequenceDataset, SplitIndex, class_weights, index_split
from noisetrace.data.transforms import to_unit_float
from noisetrace.faces.cache import FaceCache

__all__ = ["FaceDataModule"]

log = logging.getLogger(__name__)

TRAIN_SPLIT = "train"
VAL_SPLIT = "val"


class FaceDataModule(L.LightningDataModule):
    """Frames (``seq_len=None``) or non-overlapping windows of ``seq_len`` consecutive frames.

    Args:
        manifest: the manifest file (or an already-read manifest frame).
        cache: the face cache root written by ``noisetrace extract``.
        seq_len: ``None`` for frame models; ``L`` for sequence models (the paper: 5).
        image_size: side of the square model input; crops are 224² in the cache.
        batch_size: items per batch *per process* (DDP multiplies it by the number of processes).
        num_workers: loader worker processes; 0 loads in the training process.
        hflip: probability of a left-right flip of a training item (0: none, the paper's setting).
        blend: make fakes from real crops while training (:mod:`noisetrace.data.blending`): each
            real frame, or each real window for sequence models, becomes a fake with the settings'
            probability. The manifest may then hold real videos alone.
        augment: ``"robust"``: compression/resize/blur/noise/colour augmentation of training items of
            both classes (:func:`noisetrace.data.blending.robust_augmentation`); ``"none"``.
        seed: seeds the validation fakes, so every epoch validates on the same images.
    """

    def __init__(
        self,
        manifest: str | os.PathLike[str] | pd.DataFrame,
        cache: str | os.PathLike[str],
        *,
        seq_len: int | None = None,
        image_size: int = 224,
        batch_size: int = 32,
        num_workers: int = 2,
        hflip: float = 0.0,
        blend: BlendSettings | None = None,
        augment: str = "none",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.manifest = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
        self.cache = FaceCache(cache)
        if not Path(cache).is_dir():
            raise NoisetraceError(f"Face cache not found: {cache}. Run `noisetrace extract MANIFEST -o CACHE` first.")
        self.seq_len = seq_len
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.hflip = hflip
        self.blend = blend
        self.augment = augment
        self.seed = seed
        self.train_index: SplitIndex | None = None
        self.val_index: SplitIndex | None = None

    @property
    def manifest_hash(self) -> str:
        """Content hash of the manifest, recorded in checkpoints to trace a model to its data."""
        return manifest_hash(self.manifest)

    def setup(self, stage: str | None = None) -> None:
        """Index the train and validation splits (idempotent; cheap: reads ``meta.json`` files only)."""
        if self.train_index is not None:
            return
        self.train_index = self._index(TRAIN_SPLIT)
        self.val_index = self._index(VAL_SPLIT)
        # With online blending, validation fakes come from its real crops.
        val_labels = set(self.val_index.labels) | ({1} if self.blend is not None else set())
        if val_labels != {0, 1}:
            raise NoisetraceError(
                f"The validation split needs real and fake items to compute AUC and choose the best "
                f"checkpoint; it has labels {sorted(val_labels)}. Assign some videos of both kinds to "
                "split 'val' in the manifest."
            )

    def _index(self, split: str) -> SplitIndex:
        index = index_split(self.manifest, self.cache, split, self.seq_len)
        if not index.items:
            raise NoisetraceError(
                f"No {split} items: the manifest has {int((self.manifest['split'] == split).sum())} "
                f"rows with split '{split}', {len(index.missing)} of them without crops in "
                f"{self.cache.root}, {len(index.excluded)} excluded. "
                "Run `noisetrace extract` or fix the manifest's splits."
            )
        log.info("%s", index.describe())
        return index

    def class_weights(self) -> tuple[float, float]:
        """``w_c = N / (2 N_c)`` over the training items (see :func:`noisetrace.data.class_weights`)."""
        self.setup()
        assert self.train_index is not None
        labels = self.train_index.labels
        if self.blend is None:
            return class_weights(labels)
        # w_c = N / (2 N_c) over the items expected once a share p of the reals has become fakes.
        total = len(labels)
        reals = sum(1 for label in labels if label == 0) * (1 - self.blend.probability)
        return (total / (2 * reals), total / (2 * (total - reals)))

    def _dataset(self, index: SplitIndex, hflip: float, *, train: bool = False) -> Dataset:
        # uint8 until the batch reaches the device: see on_after_batch_transfer.
        if self.blend is not None:
            augment = robust_augmentation() if train and self.augment == "robust" else None
            blended = BlendedFrameDataset if self.seq_len is None else BlendedSequenceDataset
            return blended(
                index.items,
                self.image_size,
                self.blend,
                augment=augment,
                deterministic=not train,
                seed=self.seed,
            )
        if self.seq_len is None:
            return FrameDataset(index.items, self.image_size, hflip, torch.uint8)  # type: ignore[arg-type]
        return SequenceDataset(index.items, self.image_size, hflip, torch.uint8)  # type: ignore[arg-type]

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        self.setup()
        assert self.train_index is not None
        return self._loader(self._dataset(self.train_index, self.hflip, train=True), shuffle=True)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        assert self.val_index is not None
        return self._loader(self._dataset(self.val_index, 0.0), shuffle=False)

    def on_after_batch_transfer(self, batch: tuple[torch.Tensor, torch.Tensor], dataloader_idx: int) -> Any:
        """uint8 pixels → float in ``[0, 1]``, once the batch is on the model's device.

        The loaders deliver uint8 so that loader processes, pinned memory and the host-to-GPU copy move
        a quarter of the bytes (see :mod:`noisetrace.data.transforms`). Lightning calls this hook; code
        that iterates these loaders itself applies it too (or :func:`noisetrace.data.to_unit_float`).
        """
        x, y = batch
        return to_unit_float(x), y
