"""Run a trained detector over one split of a manifest and stream its predictions table.

:func:`predict_split` loads a checkpoint, indexes the split with the data stage (exclusions honoured)
and writes one CSV row per item (:mod:`noisetrace.core.predictions`), appended and flushed batch by
batch into a temporary file that is renamed onto the target only when the whole split is done: a
reader never sees a half-written file, and memory stays flat whatever the split's size. ``score`` is
``P(fake)``, computed from the logits exactly as in training (:func:`fake_scores`).

It belongs to the data stage (the split indexing and datasets it drives are here) and reads the
checkpoint through :mod:`noisetrace.models.checkpoint`, so scoring a split needs no Lightning: the
protocol runner, ``noisetrace evaluate``, the demo and the benchmarks call it alike.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import DataLoader

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import atomic_path
from noisetrace.core.manifest import read_manifest
from noisetrace.core.predictions import PREDICTION_COLUMNS
from noisetrace.data.datasets import FrameDataset, SequenceDataset, index_split
from noisetrace.data.transforms import to_unit_float
from noisetrace.faces.cache import FaceCache
from noisetrace.models.checkpoint import checkpoint_input, load_checkpoint
from noisetrace.models.scoring import fake_scores

__all__ = ["predict_split"]

log = logging.getLogger(__name__)


def predict_split(
    checkpoint: str | os.PathLike[str],
    manifest: str | os.PathLike[str] | pd.DataFrame,
    cache: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    split: str = "test",
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    num_workers: int = 0,
) -> Path:
    """Score every item of ``split`` with the checkpoint's detector; stream the rows to ``out_path``.

    Items come from :func:`noisetrace.data.index_split` (videos excluded by a reviewer and videos
    without crops are left out and logged), in uid then time order, without flipping. The sequence
    length and input size are those recorded in the checkpoint. Returns ``out_path``.
    """
    out_path = Path(out_path)
    checkpoint = Path(checkpoint)
    if not Path(cache).is_dir():
        raise NoisetraceError(f"Face cache not found: {cache}. Run `noisetrace extract MANIFEST -o CACHE` first.")
    if batch_size < 1:
        raise NoisetraceError(f"batch_size must be at least 1, got {batch_size}.")
    model, info = load_checkpoint(checkpoint, map_location=device)
    image_size, seq_len = checkpoint_input(info, model.is_sequence, checkpoint)
    frame = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
    index = index_split(frame, FaceCache(cache), split, seq_len)
    if not index.items:
        raise NoisetraceError(
            f"No {split} items: the manifest has {int((frame['split'] == split).sum())} rows with split "
            f"'{split}', {len(index.missing)} of them without crops in {cache}, {len(index.excluded)} excluded."
        )
    log.info("%s", index.describe())
    methods = dict(zip(frame["uid"], frame["method"], strict=True))
    dataset_cls = FrameDataset if seq_len is None else SequenceDataset
    dataset = dataset_cls(index.items, image_size, 0.0, torch.uint8)  # type: ignore[arg-type]
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)

    with atomic_path(out_path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PREDICTION_COLUMNS)
        handle.flush()
        start = 0
        with torch.inference_mode():
            for x, _ in loader:
                scores = fake_scores(model(to_unit_float(x.to(device)))).cpu().numpy()
                items = index.items[start : start + len(scores)]
                start += len(scores)
                writer.writerows(
                    (item.uid, item.label, methods.get(item.uid, ""), item.frame_start, item.frame_end, repr(float(s)))
                    for item, s in zip(items, scores, strict=True)
                )
                handle.flush()
    # the file is closed (inner context) before atomic_path renames it onto out_path
    return out_path
