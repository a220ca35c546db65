"""Celeb-DF v1 and v2 (Li et al., CVPR 2020); both releases share one layout::

    Celeb-real/id<X>_<NNNN>.mp4               real videos of celebrity X
    Celeb-synthesis/id<X>_id<Y>_<NNNN>.mp4    video id<X>_<NNNN> with the face of celebrity Y swapped in
    YouTube-real/<NNNNN>.mp4                  more real videos, one unnamed person each
    List_of_testing_videos.txt                the official test list, lines ``<1|0> <folder>/<file>``

In a synthesis name the first id is the *target* (the person whose video was manipulated) and the
second the *donor*, as the release names them: ``id0_id16_0002`` is frame-for-frame ``id0_0002``
with id16's face. So ``identity`` = ``target_id`` = ``id0`` and ``source_id`` = ``id16``. A
YouTube-real video shows someone the release does not name; its identity is the video itself,
``yt_<NNNNN>`` (the design's "YouTube-real by video").

*Reals.* The paper counts Celeb-DF's 590 real videos: ``Celeb-real`` only (v2: 590 Celeb-real, 300
YouTube-real). By default ``YouTube-real/`` is therefore not indexed, and the entries of the official
test list that name it are dropped with it (:func:`read_test_list` with ``youtube_real=False``).
``youtube_real=True`` (``noisetrace index --celebdf-youtube-real``) indexes them as more real videos
(method ``original``), each its own identity.

The dataset name is ``celebdf`` for either version; the version is in the root path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from noisetrace.core.errors import DatasetLayoutError
from noisetrace.core.manifest import REAL_METHOD
from noisetrace.datasets.folder import (
    absolute_root,
    list_videos,
    named_videos,
    require_dir,
    rows_to_frame,
    video_row,
)

CELEB_REAL = "Celeb-real"
CELEB_SYNTHESIS = "Celeb-synthesis"
YOUTUBE_REAL = "YouTube-real"
TEST_LIST = "List_of_testing_videos.txt"
FAKE_METHOD = "Celeb-DF"

_REAL_NAME = re.compile(r"^(id\d+)_(\d+)$")
_FAKE_NAME = re.compile(r"^(id\d+)_(id\d+)_(\d+)$")
_EXPECTED = f"{CELEB_REAL}/ and {CELEB_SYNTHESIS}/ (Celeb-DF v1/v2)"


def relative_name(path: str | os.PathLike[str]) -> str:
    """``<folder>/<file>`` of a Celeb-DF video: the key its test list uses."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


def index_celebdf(root: str | os.PathLike[str], *, youtube_real: bool = False) -> pd.DataFrame:
    """Index a Celeb-DF v1/v2 tree (module docstring): Celeb-real and Celeb-synthesis, and with
    ``youtube_real`` the videos of ``YouTube-real/`` too (optional even then)."""
    root = absolute_root(root, "Celeb-DF root")
    real_dir = require_dir(root / CELEB_REAL, _EXPECTED, root)
    fake_dir = require_dir(root / CELEB_SYNTHESIS, _EXPECTED, root)
    rows = []

    for folder, pattern, expected in (
        (real_dir, _REAL_NAME, "id<X>_<NNNN>.mp4"),
        (fake_dir, _FAKE_NAME, "id<X>_id<Y>_<NNNN>.mp4"),
    ):
        for video, match in named_videos(folder, pattern, expected):
            is_fake = folder is fake_dir
            rows.append(
                video_row(
                    dataset="celebdf",
                    method=FAKE_METHOD if is_fake else REAL_METHOD,
                    video_id=video.stem,
                    target_id=match.group(1),
                    source_id=match.group(2) if is_fake else "",
                    path=video,
                )
            )

    youtube = root / YOUTUBE_REAL
    if youtube_real and youtube.is_dir():
        for video in list_videos(youtube):
            rows.append(
                video_row(
                    dataset="celebdf",
                    method=REAL_METHOD,
                    video_id=video.stem,
                    target_id=f"yt_{video.stem}",
                    path=video,
                )
            )
    return rows_to_frame(rows)


def read_test_list(root: str | os.PathLike[str], *, youtube_real: bool = True) -> dict[str, int]:
    """``<folder>/<file>`` → manifest label (0 real, 1 fake) from the official test list.

    The file writes ``1`` for real and ``0`` for fake, the reverse of the manifest's convention, so
    the labels are flipped here, once. ``youtube_real=False`` leaves out the list's ``YouTube-real/``
    entries (for an index without them, see the module docstring).
    """
    root = absolute_root(root, "Celeb-DF root")
    path = root / TEST_LIST
    if not path.is_file():
        raise DatasetLayoutError(
            f"expected {TEST_LIST} (the official Celeb-DF test list) in {root} for --split official"
        )
    listed = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise DatasetLayoutError(
                f"{path}, line {number}: expected '<1|0> <folder>/<file>' (1 = real, 0 = fake), got {line!r}"
            )
        listed[parts[1]] = 1 - int(parts[0])
    if not youtube_real:
        listed = {name: label for name, label in listed.items() if not name.startswith(f"{YOUTUBE_REAL}/")}
    return listed
