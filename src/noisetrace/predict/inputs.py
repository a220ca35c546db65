"""What ``noisetrace predict`` was asked to look at: paths, folders and glob patterns → files, and ids.

Every image is its own item, a "video" of one frame: PyAV decodes PNG and JPEG through the same
:func:`noisetrace.faces.video.iter_frames` as videos, so a photo gets exactly the detector and crop
that training used, and a folder of photos of different people gets one verdict per photo. (A folder
of frames dumped from one video is better scored as that video, or re-encoded losslessly, e.g.
``ffmpeg -i %04d.png -c:v ffv1 clip.mkv``, so that sequence models see consecutive frames.)
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import not_a_file_reason

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "expand_inputs", "item_ids"]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
_GLOB_CHARACTERS = re.compile(r"[*?\[]")

log = logging.getLogger(__name__)


def _media_in(folder: Path) -> list[Path]:
    """Video and image files directly inside ``folder`` (not recursive), sorted by name.

    An entry named like media that is not a file (a broken symbolic link, a folder called ``x.mp4``) is
    skipped with a warning line naming it and why (logged; shown on stderr when logging is not set up).
    """
    files = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
            continue
        reason = not_a_file_reason(path)
        if reason is None:
            files.append(path)
        else:
            log.warning("warning: skipped %s: %s", path, reason)
    if not files:
        raise NoisetraceError(f"No video or image files in folder {folder}.")
    return files


def expand_inputs(patterns: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files to predict, in argument order, each once.

    A file is taken as given whatever its name (a file that is not media is reported per item as
    unreadable, not refused here); a folder contributes its video and image files; a glob pattern
    (``*``, ``?``, ``[``; ``**`` recurses) its matches, sorted. A path that does not exist, or a
    pattern that matches nothing, is a usage mistake and raises :class:`NoisetraceError` before any
    work starts, so that a typo does not cost a long run.
    """
    if not patterns:
        raise NoisetraceError("No input: give video files, image files, folders or glob patterns.")
    found: list[Path] = []
    for pattern in patterns:
        text = str(pattern)
        if _GLOB_CHARACTERS.search(text) and not Path(text).exists():
            matches = sorted(Path(match) for match in glob.glob(text, recursive=True))
            if not matches:
                raise NoisetraceError(f"No file matches {text!r}.")
            for match in matches:
                found.extend(_media_in(match) if match.is_dir() else [match])
            continue
        path = Path(text)
        if path.is_dir():
            found.extend(_media_in(path))
        elif path.exists():
            found.append(path)
        else:
            raise NoisetraceError(f"Input not found: {path}.")
    return list(dict.fromkeys(found))


def item_ids(paths: Sequence[Path]) -> list[str]:
    """A short, file-name-safe, unique id per path: its stem, with ``-2``, ``-3``, … for repeats.

    The id names the item's face-cache folder and evidence files, so it keeps only characters that
    are safe in file names on every system.
    """
    ids: list[str] = []
    for path in paths:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "item"
        uid, number = base, 1
        while uid in ids:
            number += 1
            uid = f"{base}-{number}"
        ids.append(uid)
    return ids
