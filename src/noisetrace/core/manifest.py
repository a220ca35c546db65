"""The manifest: one row per video, the contract between ``datasets`` and every later stage.

Columns (../shared/DESIGN.md):

- ``uid``: unique, filesystem-safe key of the video (``<dataset>-<compression>-<method>-<video_id>``);
  it names the video's folder in the face cache.
- ``dataset``: ``ffpp``, ``dfo``, ``celebdf``, ``dfdc`` or ``folder``.
- ``method``: manipulation method (``original`` for real videos).
- ``label``: 0 real, 1 fake.
- ``video_id``: the dataset's own id (FF++ ``000_003``, Celeb-DF ``id0_id1_0000``, DFDC file stem).
- ``target_id``: the person whose video was manipulated (or shown, for real videos).
- ``source_id``: the donor face of a swap; empty for real videos and when unknown.
- ``identity``: the split key: the target, so one person's videos never straddle splits.
- ``compression``: ``raw``, ``c23``, ``c40`` or empty.
- ``split``: ``train``, ``val``, ``test`` or empty (not assigned).
- ``path``: absolute path of the video file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from noisetrace.core.errors import ManifestError
from noisetrace.core.io import atomic_path, writing

MANIFEST_COLUMNS: tuple[str, ...] = (
    "uid",
    "dataset",
    "method",
    "label",
    "video_id",
    "target_id",
    "source_id",
    "identity",
    "compression",
    "split",
    "path",
)

REAL_METHOD = "original"


def make_uid(dataset: str, compression: str, method: str, video_id: str) -> str:
    """Build the filesystem-safe uid of a video; characters other than ``[A-Za-z0-9_.]`` become ``_``."""
    parts = [dataset, compression or "na", method, video_id]
    safe = ["".join(c if c.isalnum() or c in "_." else "_" for c in p) for p in parts]
    return "-".join(safe)


def validate_manifest(frame: pd.DataFrame, source: str = "manifest") -> pd.DataFrame:
    """Check columns, types and uniqueness; return the frame with canonical column order and dtypes."""
    missing = [c for c in MANIFEST_COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(f"{source} lacks columns {missing}; expected {list(MANIFEST_COLUMNS)}.")
    frame = frame.loc[:, list(MANIFEST_COLUMNS)].copy()
    for col in MANIFEST_COLUMNS:
        if col != "label":
            frame[col] = frame[col].fillna("").astype(str)
    frame["label"] = frame["label"].astype(int)
    if not frame["label"].isin([0, 1]).all():
        raise ManifestError(f"{source}: column 'label' must hold 0 (real) or 1 (fake).")
    duplicated = frame["uid"][frame["uid"].duplicated()].unique().tolist()
    if duplicated:
        raise ManifestError(f"{source}: duplicated uids {duplicated[:5]}.")
    return frame.reset_index(drop=True)


def write_manifest(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a manifest atomically as Parquet (``.parquet``) or CSV (any other suffix)."""
    path = Path(path)
    frame = validate_manifest(frame)
    with atomic_path(path) as tmp, writing(path):
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return path


def read_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a manifest written by :func:`write_manifest` (or by hand, as CSV)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(
            f"Manifest not found: {path}. Create one with `noisetrace index ROOT --dataset ...`."
        )
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise ManifestError(f"Cannot read manifest {path}: {exc}") from exc
    return validate_manifest(frame, source=str(path))


def manifest_hash(frame: pd.DataFrame) -> str:
    """A short content hash that checkpoints record, so a result can be traced to its data."""
    canonical = validate_manifest(frame).sort_values("uid").to_csv(index=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
