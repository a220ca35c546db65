"""Plain folders of videos: the file-walking helpers every indexer shares, and the ``folder`` layout.

The ``folder`` layout is for anyone's own data (or a benchmark written by ``noisetrace synth``)::

    ROOT/real/**/<name>.<ext>             real videos (label 0, method ``original``)
    ROOT/fake/<method>/**/<name>.<ext>    fake videos (label 1) made with ``<method>``

One of ``real/`` and ``fake/`` may be absent (a warning says so): a folder of real videos alone is
what ``noisetrace demo`` and ``noisetrace synth`` start from.
    ROOT/identities.csv                   optional: columns ``file,identity[,source_id]``

Photos (:data:`IMAGE_EXTENSIONS`) count as one-frame videos in this layout, so a folder of real face
videos *and* photos indexes, extracts and trains like any other (the ``wild`` recipe's input).

Without ``identities.csv`` every video is its own identity (its file stem), which is only safe when
no person appears in two videos: the splits keep an identity in one split, so they can only be as
good as the identities they are given. With it, ``file`` is the path relative to ``ROOT`` (for
example ``fake/blend/clip1.mp4``); ``source_id``, when given, names the donor face of a swap so the
paper split can keep donor and target together. Videos the file does not list keep their stem (and
a warning says how many).

The helpers live here because ``folder`` is the generic case of what every corpus does: find the
video files under a folder, and turn each into one manifest row.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from noisetrace.core.errors import DatasetLayoutError
from noisetrace.core.io import not_a_file_reason
from noisetrace.core.manifest import MANIFEST_COLUMNS, REAL_METHOD, make_uid

VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm"})
# Still photos, read by the same decoder as one-frame videos (FFmpeg's image demuxer). Only the
# ``folder`` layout takes them: a folder of real face photos is training material for self-blended
# fakes (the ``wild`` recipe); the benchmark datasets hold videos only.
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
IDENTITIES_FILE = "identities.csv"


class LayoutWarning(UserWarning):
    """A dataset folder is usable but incomplete: an empty method folder, a file name that does not
    follow the dataset's naming, metadata that lists a missing file. The CLI prints these."""


def warn_layout(message: str) -> None:
    """Issue a :class:`LayoutWarning` attributed to the caller's caller (the indexer's user)."""
    warnings.warn(message, LayoutWarning, stacklevel=3)


def absolute_root(root: str | os.PathLike[str], what: str) -> Path:
    """Return ``root`` as a normalized absolute path, or raise naming ``what`` it should hold.

    Paths stay unresolved (symlinks kept) so the manifest points into the dataset's own tree.
    """
    path = Path(os.path.abspath(Path(root).expanduser()))
    if not path.exists():
        raise DatasetLayoutError(f"{what} not found: {path}")
    if not path.is_dir():
        raise DatasetLayoutError(f"{what} must be a folder, but {path} is a file")
    return path


def require_dir(path: Path, expected: str, root: Path) -> Path:
    """Return ``path`` if it is a folder; otherwise raise a one-line error saying what was expected."""
    if not path.is_dir():
        raise DatasetLayoutError(f"expected {expected} under {root}; {path} is missing")
    return path


def list_videos(
    folder: Path, recursive: bool = False, extensions: frozenset[str] = VIDEO_EXTENSIONS
) -> list[Path]:
    """Video files in ``folder``, sorted; hidden files (``._x.mp4`` from macOS copies) are skipped.

    ``extensions`` widens what counts as a video (the ``folder`` layout adds :data:`IMAGE_EXTENSIONS`).
    Entries named like a video that are not files (a broken symbolic link, a folder called ``x.mp4``)
    are skipped with one :class:`LayoutWarning` that names each and says why.
    """
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    videos, skipped = [], []
    for path in candidates:
        if path.suffix.lower() not in extensions or path.name.startswith("."):
            continue
        reason = not_a_file_reason(path)
        if reason is None:
            videos.append(path)
        else:
            skipped.append(f"{path.relative_to(folder)} ({reason})")
    if skipped:
        skipped.sort()
        shown = "; ".join(skipped[:5]) + ("; …" if len(skipped) > 5 else "")
        warn_layout(f"skipped {len(skipped)} item(s) in {folder} named like videos that are not video files: {shown}")
    return sorted(videos)


def video_row(
    *,
    dataset: str,
    method: str,
    video_id: str,
    target_id: str,
    path: Path,
    source_id: str = "",
    identity: str | None = None,
    compression: str = "",
) -> dict[str, object]:
    """One manifest row; the label follows the method (``original`` is real, anything else fake)."""
    return {
        "uid": make_uid(dataset, compression, method, video_id),
        "dataset": dataset,
        "method": method,
        "label": 0 if method == REAL_METHOD else 1,
        "video_id": video_id,
        "target_id": target_id,
        "source_id": source_id,
        "identity": target_id if identity is None else identity,
        "compression": compression,
        "split": "",
        "path": str(path),
    }


def rows_to_frame(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    """A manifest-shaped frame (every column, canonical order) from rows built by :func:`video_row`."""
    frame = pd.DataFrame(list(rows), columns=list(MANIFEST_COLUMNS))
    frame["label"] = frame["label"].astype(int)
    return frame


def named_videos(
    folder: Path, pattern: re.Pattern[str], expected: str, warn_empty: bool = True
) -> list[tuple[Path, re.Match[str]]]:
    """The videos in ``folder`` whose stem matches the dataset's naming ``pattern``, with the match.

    Files named otherwise are skipped with one warning per folder saying what was ``expected``;
    an empty folder is a warning too (``warn_empty``), never a silent gap in the manifest.
    """
    videos = list_videos(folder)
    if warn_empty and not videos:
        warn_layout(f"no videos in {folder}")
    matched, unparsed = [], []
    for video in videos:
        match = pattern.match(video.stem)
        if match:
            matched.append((video, match))
        else:
            unparsed.append(video.name)
    if unparsed:
        shown = ", ".join(unparsed[:3]) + (", …" if len(unparsed) > 3 else "")
        warn_layout(f"skipped {len(unparsed)} file(s) in {folder} not named {expected}: {shown}")
    return matched


def _read_identities(root: Path) -> dict[str, tuple[str, str]]:
    """Map ``file`` (relative to ``root``) → (identity, source_id) from ``identities.csv``."""
    path = root / IDENTITIES_FILE
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"file", "identity"} <= set(reader.fieldnames):
            raise DatasetLayoutError(
                f"{path} must have a header with columns file,identity[,source_id]; got {reader.fieldnames}"
            )
        table = {}
        for line, record in enumerate(reader, start=2):
            file, identity = (record.get("file") or "").strip(), (record.get("identity") or "").strip()
            if not file or not identity:
                raise DatasetLayoutError(f"{path}, line {line}: both 'file' and 'identity' must be filled")
            table[Path(file).as_posix()] = (identity, (record.get("source_id") or "").strip())
    return table


def index_folder(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Index a ``real/`` + ``fake/<method>/`` tree (module docstring) into manifest rows."""
    root = absolute_root(root, "folder dataset root")
    real_dir, fake_dir = root / "real", root / "fake"
    if not real_dir.is_dir() and not fake_dir.is_dir():
        raise DatasetLayoutError(f"expected real/ (real videos) and/or fake/<method>/ (fake videos) under {root}")
    for present, absent in ((real_dir, fake_dir), (fake_dir, real_dir)):
        if present.is_dir() and not absent.is_dir():
            warn_layout(f"{absent} is missing: indexing {present.name}/ videos only")
    loose = list_videos(fake_dir) if fake_dir.is_dir() else []
    if loose:
        raise DatasetLayoutError(
            f"found {len(loose)} video(s) directly in {fake_dir}; expected fake/<method>/<video> "
            f"(move them into a folder named after the method that made them)"
        )
    identities = _read_identities(root) if (root / IDENTITIES_FILE).is_file() else None

    groups = [(REAL_METHOD, real_dir)] if real_dir.is_dir() else []
    if fake_dir.is_dir():
        groups += [(d.name, d) for d in sorted(fake_dir.iterdir()) if d.is_dir()]
    rows, unlisted = [], 0
    for method, folder in groups:
        videos = list_videos(folder, recursive=True, extensions=VIDEO_EXTENSIONS | IMAGE_EXTENSIONS)
        if not videos:
            warn_layout(f"no videos in {folder}")
        for video in videos:
            relative = video.relative_to(root).as_posix()
            video_id = video.relative_to(folder).with_suffix("").as_posix()
            identity, source = video.stem, ""
            if identities is not None:
                if relative in identities:
                    identity, source = identities[relative]
                else:
                    unlisted += 1
            rows.append(
                video_row(
                    dataset="folder",
                    method=method,
                    video_id=video_id,
                    target_id=identity,
                    source_id=source if method != REAL_METHOD else "",
                    path=video,
                )
            )
    if unlisted:
        warn_layout(f"{unlisted} video(s) not listed in {root / IDENTITIES_FILE}; each is its own identity")
    if identities is not None:
        indexed = {Path(str(r["path"])).relative_to(root).as_posix() for r in rows}
        missing = sorted(set(identities) - indexed)
        if missing:
            warn_layout(f"{root / IDENTITIES_FILE} lists {len(missing)} file(s) not found: {missing[:3]}")
    return rows_to_frame(rows)
