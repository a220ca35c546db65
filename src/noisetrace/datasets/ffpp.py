"""FaceForensics++ (Rössler et al., ICCV 2019), as its official download script lays it out::

    original_sequences/youtube/<raw|c23|c40>/videos/<id>.mp4                    1,000 reals, ids 000–999
    manipulated_sequences/<Method>/<comp>/videos/<target>_<source>.mp4          1,000 fakes per method
    original_sequences/actors/<comp>/videos/<actor>__<scene>.mp4               DeepFakeDetection reals
    manipulated_sequences/DeepFakeDetection/<comp>/videos/<target>_<source>__<scene>__<experiment>.mp4

``<Method>`` is ``Deepfakes``, ``Face2Face``, ``FaceShifter``, ``FaceSwap`` or ``NeuralTextures``
(the paper's DF, F2F, FSh, FS, NT; it uses the c23 "HQ" videos). Any other folder of the same shape
is indexed as a method of that name: the simulated benchmarks of ``noisetrace synth`` use this
layout with their own method names. In ``<target>_<source>`` the target
is the video that was manipulated and the source the driving or donor video, so ``identity`` (the
split key) is the target and ``source_id`` the donor. The DeepFakeDetection part (actors ``01``–``28``)
is indexed when present, with the same meaning of target and source.

*The FF++ reals are the 1,000 youtube originals* (the paper's, and every FF++ method's source videos).
The studio videos of ``original_sequences/actors`` are DeepFakeDetection's reals, not FF++'s: they are
indexed as real rows (``label`` 0) of method ``actors`` (:data:`ACTORS_METHOD`), which nothing that
asks for a dataset's real videos (method ``original``: training sets, test sets, protocols) picks, so
they are only used on purpose. ``actors_as_reals=True`` (``noisetrace index --ffpp-actors-as-reals``)
indexes them as method ``original`` instead, i.e. among FF++'s reals.

``compression`` is the ``<comp>`` folder, so one video at two compressions has two rows (two uids)
with the same identity, and the splits keep them together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd

from noisetrace.core.errors import ConfigError, DatasetLayoutError
from noisetrace.core.manifest import REAL_METHOD
from noisetrace.datasets.folder import (
    absolute_root,
    named_videos,
    require_dir,
    rows_to_frame,
    video_row,
    warn_layout,
)

FFPP_METHODS: tuple[str, ...] = ("Deepfakes", "Face2Face", "FaceShifter", "FaceSwap", "NeuralTextures")
DFD_METHOD = "DeepFakeDetection"
ACTORS_METHOD = "actors"  # DeepFakeDetection's real videos (original_sequences/actors); not FF++ originals
COMPRESSIONS: tuple[str, ...] = ("raw", "c23", "c40")

_YOUTUBE_REAL = re.compile(r"^(\d+)$")
_YOUTUBE_FAKE = re.compile(r"^(\d+)_(\d+)$")
_ACTOR_REAL = re.compile(r"^(\d+)__(.+)$")
_ACTOR_FAKE = re.compile(r"^(\d+)_(\d+)__(.+)$")
_COMP_PATTERN = "<" + "|".join(COMPRESSIONS) + ">"


def check_compressions(compressions: Sequence[str] | None) -> tuple[str, ...] | None:
    """Validate a compression filter (``None`` keeps every compression found)."""
    if compressions is None:
        return None
    unknown = sorted(set(compressions) - set(COMPRESSIONS))
    if unknown:
        raise ConfigError(f"unknown FF++ compression(s) {unknown}; choose from {list(COMPRESSIONS)}")
    return tuple(c for c in COMPRESSIONS if c in compressions)


def _video_folders(base: Path, compressions: tuple[str, ...] | None) -> list[tuple[str, Path]]:
    """``(comp, base/<comp>/videos)`` for the compressions present (or requested) under ``base``.

    A ``<comp>`` folder without ``videos/`` is malformed (e.g. only extracted ``images/``): an error,
    because silently indexing nothing there would look like an empty dataset.
    """
    found = []
    for comp in compressions or COMPRESSIONS:
        comp_dir = base / comp
        if comp_dir.is_dir():
            found.append((comp, require_dir(comp_dir / "videos", f"{comp}/videos", base)))
    return found


def youtube_original_rows(
    root: Path, compressions: tuple[str, ...] | None, ids: Collection[str] | None = None
) -> list[dict[str, object]]:
    """Rows for ``original_sequences/youtube``; with ``ids``, only those target ids (DF-1.0's reals).

    Raises when no requested compression is there: FF++ without its reals cannot be trained on.
    """
    youtube = root / "original_sequences" / "youtube"
    folders = _video_folders(youtube, compressions) if youtube.is_dir() else []
    if not folders:
        wanted = "<" + "|".join(compressions) + ">" if compressions else _COMP_PATTERN
        raise DatasetLayoutError(f"expected original_sequences/youtube/{wanted}/videos under {root}")
    rows = []
    for comp, folder in folders:
        for video, _ in named_videos(folder, _YOUTUBE_REAL, "<id>.mp4 (e.g. 000.mp4)", warn_empty=False):
            if ids is not None and video.stem not in ids:
                continue
            rows.append(
                video_row(
                    dataset="ffpp",
                    method=REAL_METHOD,
                    video_id=video.stem,
                    target_id=video.stem,
                    compression=comp,
                    path=video,
                )
            )
    return rows


def _actor_rows(
    root: Path, compressions: tuple[str, ...] | None, as_reals: bool = False
) -> list[dict[str, object]]:
    """Rows for the DeepFakeDetection reals in ``original_sequences/actors`` (absent is fine): method
    ``actors``, or ``original`` (among FF++'s reals) with ``as_reals``."""
    actors = root / "original_sequences" / "actors"
    if not actors.is_dir():
        return []
    method = REAL_METHOD if as_reals else ACTORS_METHOD
    rows = []
    for comp, folder in _video_folders(actors, compressions):
        for video, match in named_videos(folder, _ACTOR_REAL, "<actor>__<scene>.mp4", warn_empty=False):
            row = video_row(
                dataset="ffpp",
                method=method,
                video_id=video.stem,
                target_id=match.group(1),
                compression=comp,
                path=video,
            )
            rows.append({**row, "label": 0})  # real under either method name
    return rows


def _method_rows(method_dir: Path, compressions: tuple[str, ...] | None) -> list[dict[str, object]]:
    """Rows for one ``manipulated_sequences/<Method>`` folder; an empty one is only a warning."""
    method = method_dir.name
    pattern, expected = (
        (_ACTOR_FAKE, "<target>_<source>__<scene>__<experiment>.mp4")
        if method == DFD_METHOD
        else (_YOUTUBE_FAKE, "<target>_<source>.mp4 (e.g. 000_003.mp4)")
    )
    folders = _video_folders(method_dir, compressions)
    if not folders:
        wanted = ", ".join(compressions) if compressions else "any compression"
        warn_layout(f"no videos for {method} ({wanted}) in {method_dir}; expected {_COMP_PATTERN}/videos")
        return []
    rows = []
    for comp, folder in folders:
        for video, match in named_videos(folder, pattern, expected):
            rows.append(
                video_row(
                    dataset="ffpp",
                    method=method,
                    video_id=video.stem,
                    target_id=match.group(1),
                    source_id=match.group(2),
                    compression=comp,
                    path=video,
                )
            )
    return rows


def index_ffpp(
    root: str | os.PathLike[str],
    compressions: Sequence[str] | None = None,
    *,
    actors_as_reals: bool = False,
) -> pd.DataFrame:
    """Index an FF++ tree (module docstring); ``compressions`` keeps only those (default: all found).

    ``actors_as_reals`` counts DeepFakeDetection's actor videos among FF++'s reals (method
    ``original``); by default they are real rows of method ``actors``.
    """
    root = absolute_root(root, "FF++ root")
    wanted = check_compressions(compressions)
    rows = youtube_original_rows(root, wanted) + _actor_rows(root, wanted, actors_as_reals)

    manipulated = require_dir(
        root / "manipulated_sequences",
        f"manipulated_sequences/<{'|'.join(FFPP_METHODS)}>/{_COMP_PATTERN}/videos",
        root,
    )
    method_dirs = sorted(d for d in manipulated.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not method_dirs:
        raise DatasetLayoutError(f"expected method folders <{'|'.join((*FFPP_METHODS, DFD_METHOD))}> in {manipulated}")
    for method_dir in method_dirs:
        rows += _method_rows(method_dir, wanted)
    return rows_to_frame(rows)
