"""Dataset folders → one manifest with its split: the library call behind ``noisetrace index``.

Several datasets can be indexed together, and then they are split *jointly*: the paper trains on
FF++ and DF-1.0 together, and their ids are the same people, so one identity group must land in one
split across both (:mod:`noisetrace.datasets.splits`). Indexing them separately and splitting each on
its own would not guarantee that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from noisetrace.core.errors import ConfigError, DatasetLayoutError
from noisetrace.core.manifest import REAL_METHOD, validate_manifest
from noisetrace.datasets.celebdf import index_celebdf, read_test_list
from noisetrace.datasets.dfdc import index_dfdc
from noisetrace.datasets.dfo import DEFAULT_REAL_COMPRESSIONS, index_dfo
from noisetrace.datasets.ffpp import index_ffpp
from noisetrace.datasets.folder import index_folder, warn_layout
from noisetrace.datasets.splits import (
    DEFAULT_MAX_COMPONENT_SHARE,
    OFFICIAL_DATASETS,
    OFFICIAL_VAL_FRACTION,
    PAPER_FRACTIONS,
    SplitReport,
    official_split,
    paper_split,
)

DATASETS: tuple[str, ...] = ("ffpp", "dfo", "celebdf", "dfdc", "folder")
SPLIT_SCHEMES: tuple[str, ...] = ("paper", "official")

Source = tuple[str, str | os.PathLike[str]]


def index_dataset(
    dataset: str,
    root: str | os.PathLike[str],
    *,
    real_root: str | os.PathLike[str] | None = None,
    compressions: Sequence[str] | None = None,
    ffpp_actors_as_reals: bool = False,
    celebdf_youtube_real: bool = False,
) -> pd.DataFrame:
    """Index one dataset root into unsplit manifest rows (``split == ""``).

    ``compressions`` filters FF++ (default: every compression found) and picks the compression of
    the FF++ originals that ``real_root`` supplies as DF-1.0's reals (default: c23).
    ``ffpp_actors_as_reals`` counts FF++'s ``original_sequences/actors`` (DeepFakeDetection's reals)
    among FF++'s real videos; by default they are real rows of method ``actors``
    (:mod:`noisetrace.datasets.ffpp`). ``celebdf_youtube_real`` indexes Celeb-DF's ``YouTube-real/``
    as well; by default its reals are ``Celeb-real`` only, the paper's 590 (:mod:`noisetrace.datasets.celebdf`).
    """
    if dataset == "ffpp":
        return index_ffpp(root, compressions, actors_as_reals=ffpp_actors_as_reals)
    if dataset == "dfo":
        return index_dfo(root, real_root, compressions or DEFAULT_REAL_COMPRESSIONS)
    if dataset == "celebdf":
        return index_celebdf(root, youtube_real=celebdf_youtube_real)
    if dataset == "dfdc":
        return index_dfdc(root)
    if dataset == "folder":
        return index_folder(root)
    raise ConfigError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate indexes, keeping a video reached twice by the same path once (DF-1.0's reals
    come from the FF++ root that is also indexed); the same uid at two paths is an error."""
    combined = pd.concat(frames, ignore_index=True).drop_duplicates(subset=["uid", "path"])
    clashes = combined[combined["uid"].duplicated(keep=False)].sort_values("uid")
    if not clashes.empty:
        uid, first, second = clashes["uid"].iloc[0], clashes["path"].iloc[0], clashes["path"].iloc[1]
        raise DatasetLayoutError(f"video {uid} found twice, at {first} and {second}: index each dataset root once")
    return combined.reset_index(drop=True)


def _warn_missing_dfo_reals(manifest: pd.DataFrame) -> None:
    """DF-1.0 has no reals of its own (its reals are FF++ youtube originals): say which are absent."""
    dfo_targets = set(manifest.loc[manifest["dataset"] == "dfo", "target_id"])
    ffpp_reals = manifest[(manifest["dataset"] == "ffpp") & (manifest["method"] == REAL_METHOD)]
    missing = sorted(dfo_targets - set(ffpp_reals["target_id"]))
    if missing:
        warn_layout(
            f"{len(missing)} of {len(dfo_targets)} DeeperForensics-1.0 target id(s) have no FF++ youtube "
            f"original (their real video) in this manifest, e.g. {', '.join(missing[:5])}: pass the FF++ "
            f"root as --real-root, or index FF++ in the same manifest"
        )


def build_joint_manifest(
    sources: Sequence[Source],
    split: str = "paper",
    seed: int = 0,
    *,
    real_root: str | os.PathLike[str] | None = None,
    compressions: Sequence[str] | None = None,
    fractions: Mapping[str, float] = PAPER_FRACTIONS,
    max_component_share: float = DEFAULT_MAX_COMPONENT_SHARE,
    link_dfo_actors: bool = False,
    official_val_fraction: float = OFFICIAL_VAL_FRACTION,
    ffpp_actors_as_reals: bool = False,
    celebdf_youtube_real: bool = False,
) -> tuple[pd.DataFrame, SplitReport]:
    """Index every ``(dataset, root)`` pair and split them together.

    ``real_root`` is the FF++ root whose youtube originals are DF-1.0's reals; when FF++ itself is
    among ``sources`` its reals are already there and ``real_root`` is not needed.
    ``ffpp_actors_as_reals`` and ``celebdf_youtube_real`` are those of :func:`index_dataset` (with
    ``celebdf_youtube_real=False`` the official split ignores the test list's YouTube-real entries).
    The other keyword arguments are those of :func:`~noisetrace.datasets.splits.paper_split` and
    :func:`~noisetrace.datasets.splits.official_split`.
    """
    if not sources:
        raise ConfigError("nothing to index: give ROOT --dataset NAME, or --data NAME=ROOT (repeatable)")
    if split not in SPLIT_SCHEMES:
        raise ConfigError(f"unknown split {split!r}; choose from {', '.join(SPLIT_SCHEMES)}")
    for dataset, _ in sources:
        if dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    no_official = sorted({d for d, _ in sources} - set(OFFICIAL_DATASETS))
    if split == "official" and no_official:
        raise ConfigError(
            f"no official split is defined for {', '.join(no_official)}; use --split paper (75/10/15 by identity)"
        )
    if real_root is not None and all(dataset != "dfo" for dataset, _ in sources):
        raise ConfigError("--real-root gives DeeperForensics-1.0 its real videos; it needs --dataset dfo")

    frames = [
        index_dataset(
            d,
            r,
            real_root=real_root,
            compressions=compressions,
            ffpp_actors_as_reals=ffpp_actors_as_reals,
            celebdf_youtube_real=celebdf_youtube_real,
        )
        for d, r in sources
    ]
    manifest = _combine(frames)
    if manifest.empty:
        roots = ", ".join(str(Path(os.path.abspath(r))) for _, r in sources)
        raise DatasetLayoutError(f"no videos found under {roots}")
    _warn_missing_dfo_reals(manifest)

    if split == "paper":
        manifest, report = paper_split(manifest, seed, fractions, max_component_share, link_dfo_actors)
    else:
        test_videos = {}
        for dataset, root in sources:
            if dataset == "celebdf":
                test_videos.update(read_test_list(root, youtube_real=celebdf_youtube_real))
        manifest, report = official_split(manifest, seed, test_videos or None, official_val_fraction)

    recorded = [{"dataset": d, "root": os.path.abspath(r)} for d, r in sources]
    if real_root is not None:
        recorded.append({"dataset": "ffpp (DeeperForensics-1.0 reals)", "root": os.path.abspath(real_root)})
    return validate_manifest(manifest), replace(report, sources=recorded)


def build_manifest(
    root: str | os.PathLike[str],
    dataset: str,
    split: str = "paper",
    seed: int = 0,
    **options: Any,
) -> tuple[pd.DataFrame, SplitReport]:
    """Index one dataset root and split it; ``options`` as in :func:`build_joint_manifest`."""
    return build_joint_manifest([(dataset, root)], split, seed, **options)


def split_report_path(manifest_path: str | os.PathLike[str]) -> Path:
    """Where the split report of a manifest lives: ``m.parquet`` → ``m.split.json``."""
    return Path(manifest_path).with_suffix(".split.json")
