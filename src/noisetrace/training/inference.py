"""Run a trained detector over one split of a manifest and stream its predictions table.

:func:`predict_split` loads a checkpoint, indexes the split with the data stage (exclusions honoured)
and writes one CSV row per item (:mod:`noisetrace.core.predictions`), appended and flushed batch by
batch into a temporary file that is renamed onto the target only when the whole split is done: a
reader never sees a half-written file, and memory stays flat whatever the split's size. ``score`` is
``P(fake)``, computed from the logits exactly as in training (:func:`fake_scores`).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader

from noisetrace.core.errors import CheckpointError, NoisetraceError
from noisetrace.core.io import atomic_path
from noisetrace.core.manifest import read_manifest
from noisetrace.core.predictions import PREDICTION_COLUMNS
from noisetrace.data import FrameDataset, SequenceDataset, index_split, to_unit_float
from noisetrace.faces.cache import FaceCache
from noisetrace.training.checkpoint import load_checkpoint
from noisetrace.training.module import fake_scores

__all__ = ["predict_split"]

log = logging.getLogger(__name__)

DEFAULT_IMAGE_SIZE = 224


def _input_settings(info: Mapping[str, Any], is_sequence: bool, path: Path) -> tuple[int, int | None]:
    """``(image_size, seq_len)`` the checkpoint was trained with: its ``input`` description first,
    then its training config; sequence models must state ``L``."""
    described = info.get("input") if isinstance(info.get("input"), Mapping) else {}
    training = info.get("training") if isinstance(info.get("training"), Mapping) else {}
    data = training.get("data") if isinstance(training.get("data"), Mapping) else {}
    image_size = described.get("image_size") or data.get("image_size") or DEFAULT_IMAGE_SIZE
    if not is_sequence:
        return int(image_size), None
    seq_len = described.get("seq_len") or data.get("seq_len")
    if not seq_len:
        raise CheckpointError(
            f"Checkpoint {path} holds a sequence model but does not say its sequence length "
            "(neither input.seq_len nor training.data.seq_len); it was not written by `noisetrace train`."
        )
    return int(image_size), int(seq_len)


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
    image_size, seq_len = _input_settings(info, model.is_sequence, checkpoint)
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
