"""DFDC, the Deepfake Detection Challenge training set (Dolhansky et al., 2020)::

    dfdc_train_part_<N>/<name>.mp4
    dfdc_train_part_<N>/metadata.json

where ``metadata.json`` maps each file name to ``{"label": "REAL" | "FAKE", "original": <file name of
the real video a fake was made from, null for reals>, "split": ...}``.

The root is the folder holding the ``dfdc_train_part_*`` folders, or one part folder itself.

A fake's ``original`` is the real video it was made from, so ``identity`` = ``target_id`` is that
original's stem (a real's is its own stem). DFDC names neither its methods nor its actors: every
fake gets the method ``DFDC``, ``source_id`` stays empty, and since one actor appears in several
originals, a split by original can still put one person in two splits. That leak cannot be
measured from the metadata; the split report counts DFDC fakes as "donor unknown".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from noisetrace.core.errors import DatasetLayoutError
from noisetrace.core.manifest import REAL_METHOD
from noisetrace.datasets.folder import absolute_root, list_videos, rows_to_frame, video_row, warn_layout

METADATA_FILE = "metadata.json"
PART_GLOB = "dfdc_train_part_*"
FAKE_METHOD = "DFDC"


def _read_metadata(path: Path) -> dict[str, dict[str, object]]:
    """Parse one ``metadata.json``; any deviation from the documented shape is a layout error."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetLayoutError(f"cannot read {path}: {exc}") from None
    if not isinstance(metadata, dict):
        raise DatasetLayoutError(f"{path} must map video file names to {{label, original}} records")
    for name, record in metadata.items():
        if not isinstance(record, dict) or record.get("label") not in ("REAL", "FAKE"):
            raise DatasetLayoutError(f"{path}: entry {name!r} needs a label 'REAL' or 'FAKE'; got {record!r}")
        if record["label"] == "FAKE" and not record.get("original"):
            raise DatasetLayoutError(f"{path}: fake {name!r} has no 'original'")
    return metadata


def _part_rows(part: Path) -> list[dict[str, object]]:
    metadata_path = part / METADATA_FILE
    if not metadata_path.is_file():
        raise DatasetLayoutError(f"expected {METADATA_FILE} (labels and originals) in {part}")
    metadata = _read_metadata(metadata_path)
    videos = {v.name: v for v in list_videos(part)}
    if not videos:
        warn_layout(f"no videos in {part}")

    unlisted = sorted(set(videos) - set(metadata))
    if unlisted:
        warn_layout(f"skipped {len(unlisted)} video(s) in {part} missing from {METADATA_FILE}: {unlisted[:3]}")
    absent = sorted(set(metadata) - set(videos))
    if absent:
        warn_layout(f"{metadata_path} lists {len(absent)} video(s) not in {part}, skipped: {absent[:3]}")

    rows = []
    for name in sorted(set(videos) & set(metadata)):
        record, video = metadata[name], videos[name]
        is_fake = record["label"] == "FAKE"
        target = Path(str(record["original"])).stem if is_fake else video.stem
        rows.append(
            video_row(
                dataset="dfdc",
                method=FAKE_METHOD if is_fake else REAL_METHOD,
                video_id=video.stem,
                target_id=target,
                path=video,
            )
        )
    return rows


def index_dfdc(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Index every ``dfdc_train_part_*`` folder under ``root`` (or ``root`` itself if it is a part)."""
    root = absolute_root(root, "DFDC root")
    parts = [root] if (root / METADATA_FILE).is_file() else sorted(p for p in root.glob(PART_GLOB) if p.is_dir())
    if not parts:
        raise DatasetLayoutError(f"expected {PART_GLOB}/{METADATA_FILE} folders (or a {METADATA_FILE}) in {root}")
    rows = []
    for part in parts:
        rows += _part_rows(part)
    return rows_to_frame(rows)
