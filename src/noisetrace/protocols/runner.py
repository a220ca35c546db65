"""Run a grid: dataset folders → manifest → face crops → one training per run key → every cell's metrics.

The output folder holds everything (its layout: :mod:`noisetrace.protocols.layout`), and every
step is resumable.

Why it resumes: a run with ``summary.json`` is finished and never retrained; a run killed after its
first checkpoint continues from ``last.ckpt``; a run killed before it starts over. A cell with
``metrics.json`` is finished; predictions and metrics are written atomically, so a killed cell is
redone whole. Several GPUs: start one process per GPU with ``--shard i/n``; each takes every n-th
run (and that run's cells), and the output folder is shared.

The runner draws nothing: it reports through the callbacks of :class:`GridProgress`, and the
command that called it (``noisetrace protocol run``, the demo) draws the lines and the bar.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from noisetrace.core.device import resolve_device
from noisetrace.core.errors import ConfigError, NoisetraceError
from noisetrace.core.io import write_json_atomic, write_text_atomic
from noisetrace.core.manifest import REAL_METHOD, read_manifest, write_manifest
from noisetrace.core.memory import release_freed_memory
from noisetrace.data import index_split
from noisetrace.data.inference import predict_split
from noisetrace.datasets import build_joint_manifest, split_report_path
from noisetrace.datasets.splits import PAPER_FRACTIONS
from noisetrace.evaluation.coverage import coverage_report
from noisetrace.evaluation.predictions import evaluate_predictions
from noisetrace.faces.cache import FaceCache
from noisetrace.faces.extract import ExtractSettings, VideoResult, extract_manifest, finished_uids, select_shard
from noisetrace.models import is_sequence_detector
from noisetrace.models.checkpoint import checkpoint_seq_len
from noisetrace.protocols.layout import GridLayout
from noisetrace.protocols.plan import Cell, GridPlan, TrainingRun, leak_report, plan_grid
from noisetrace.training.fit import fit, run_paths

__all__ = [
    "RESULT_COLUMNS",
    "GridProgress",
    "GridSettings",
    "build_grid_manifest",
    "collect_results",
    "plan_summary",
    "run_grid",
]

log = logging.getLogger(__name__)

RESULT_COLUMNS = (
    "row", "column", "seed", "train", "test", "metric", "level", "value", "low", "high",
    "n_videos", "n_items", "paper", "run", "cell",
)  # fmt: skip


@dataclass(frozen=True)
class GridSettings:
    """Everything about *how* a grid runs; none of it changes a number (except ``n_resamples``'s CIs)."""

    overrides: tuple[str, ...] = ()  # key=value for every training, after the spec's own
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    extract_workers: int = 1
    shard: tuple[int, int] | None = None
    device: str = "auto"  # evaluation; training follows trainer.accelerator
    eval_batch_size: int = 64
    rule: str = "mean"
    n_resamples: int = 1000


@contextmanager
def _no_bar(pending: int) -> Iterator[Callable[[VideoResult], None]]:
    """The default report of the extraction: nothing drawn, every video ignored."""
    yield lambda result: None


@dataclass(frozen=True)
class GridProgress:
    """How :func:`run_grid` reports as it goes, so that library code never draws (the CLI does).

    ``step`` gets one line per step (videos to extract, each training run started and done).
    ``extraction(pending)`` is entered around the face extraction with the number of videos to
    extract and yields the callback called after each video (``extract_manifest``'s ``progress``);
    a context manager, so that a bar drawn there is closed when extraction ends or fails.
    """

    step: Callable[[str], None] = log.info
    extraction: Callable[[int], AbstractContextManager[Callable[[VideoResult], None]]] = _no_bar


def _event(layout: GridLayout, **fields: Any) -> None:
    """Append one line to the event log (training starts, resumes, cells); tests count trainings here."""
    with layout.events.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"time": round(time.time(), 3), "pid": os.getpid(), **fields}) + "\n")


def build_grid_manifest(layout: GridLayout, data: Mapping[str, str | os.PathLike[str]]) -> pd.DataFrame:
    """Index the spec's datasets jointly into ``OUT/manifest.parquet`` once; later calls reuse it
    after checking that they name the same dataset roots."""
    spec, out = layout.spec, layout.root
    missing = [name for name in spec.datasets if name not in data]
    if missing:
        flags = " ".join(f"--data {name}=ROOT" for name in missing)
        raise ConfigError(f"spec {spec.name!r} needs dataset(s) {missing}: add {flags}")
    sources = [(name, Path(data[name]).resolve()) for name in spec.datasets]
    manifest_path = layout.manifest
    report_path = split_report_path(manifest_path)
    fractions = spec.split_fractions or PAPER_FRACTIONS
    if manifest_path.is_file() and report_path.is_file():
        previous = json.loads(report_path.read_text(encoding="utf-8"))
        recorded = {(s["dataset"], s["root"]) for s in previous["sources"]}
        asked = {(name, str(root)) for name, root in sources}
        if not asked <= recorded:
            raise ConfigError(
                f"{out} was indexed from other dataset roots ({sorted(recorded)}); use a new output folder "
                f"or the same --data roots"
            )
        same_fractions = spec.split_scheme != "paper" or all(
            abs(previous["fractions"].get(k, -1) - v) < 1e-9 for k, v in fractions.items()
        )
        if (previous["scheme"], previous["seed"]) != (spec.split_scheme, spec.split_seed) or not same_fractions:
            raise ConfigError(
                f"{out} holds a manifest split {previous['scheme']} (seed {previous['seed']}, "
                f"{previous['fractions']}); this spec asks {spec.split_scheme} (seed {spec.split_seed}, "
                f"{dict(fractions)}): use a new output folder"
            )
        return read_manifest(manifest_path)
    manifest, report = build_joint_manifest(
        sources, spec.split_scheme, spec.split_seed, compressions=spec.compressions, fractions=fractions
    )
    write_manifest(manifest, manifest_path)
    write_json_atomic(report_path, report.to_dict())
    return manifest


def _videos_needed(plan: GridPlan, manifest: pd.DataFrame) -> pd.DataFrame:
    """Videos of every dataset and method the grid touches (train, val and test candidates)."""
    sets = plan.spec.sets.values()
    keep = pd.Series(False, index=manifest.index)
    for fake_set in sets:
        keep |= (manifest["dataset"] == fake_set.dataset) & (manifest["method"] == fake_set.method)
        keep |= (manifest["dataset"] == fake_set.reals) & (manifest["label"] == 0) & (manifest["method"] == REAL_METHOD)
    return manifest[keep]


def _train(run: TrainingRun, cache: Path, layout: GridLayout) -> Path:
    """Train ``run`` unless finished; resume it when it holds a checkpoint; return its best checkpoint."""
    run_dir = layout.run_dir(run.name)
    paths = run_paths(run_dir)
    if paths["summary"].is_file():
        return _best_checkpoint(paths["summary"], run)
    resume = paths["last"].is_file()
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)  # killed before its first checkpoint: nothing worth keeping
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "key.json", run.describe())
    manifest = write_manifest(run.rows, run_dir / "manifest.csv")
    data = replace(run.config.data, manifest=str(manifest.resolve()), cache=str(cache.resolve()))
    cfg = replace(run.config, data=data)
    _event(layout, event="train", run=run.name, resume=resume)
    log.info("%s %s on %s", "resuming" if resume else "training", run.name, ", ".join(run.train_sets))
    # Lightning's start-up lines (accelerator, tips, batch limits) repeat for every run of a grid
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)
    try:
        fit(cfg, run_dir, resume=resume)
    finally:
        lightning_log.setLevel(level)
    return _best_checkpoint(paths["summary"], run)


def _best_checkpoint(summary_path: Path, run: TrainingRun) -> Path:
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    best = summary.get("best_checkpoint")
    if not best or not Path(best).is_file():
        raise NoisetraceError(
            f"run {run.name} finished without a best checkpoint ({summary_path}): its validation never "
            "produced the monitored metric. Check that its val split holds real and fake videos."
        )
    return Path(best)


def _evaluate(cell: Cell, checkpoint: Path, cache: Path, layout: GridLayout, s: GridSettings) -> None:
    files = layout.cell(cell.row.id, cell.column.id, cell.seed)
    if files.metrics.is_file():
        return
    files.folder.mkdir(parents=True, exist_ok=True)
    test = cell.test  # drawn from the videos with crops when the grid was planned, leak-checked there
    leaks = cell.leaks or leak_report(cell.run.rows, test.rows)  # DF-1.0 actor overlap included
    # what of the drawn set becomes items (a video whose every window crosses a frame without a face
    # gives none): into metrics.json, and its warnings into testset.json, which the report's notes read
    seq_len = checkpoint_seq_len(checkpoint)
    index = index_split(test.rows, FaceCache(cache), "test", seq_len)
    videos = dict(zip(test.rows["uid"], test.rows["label"], strict=True))
    coverage = coverage_report(videos, index, seq_len=seq_len, balanced=cell.test_spec.n is not None)
    warnings = [*test.warnings, *coverage["warnings"]]
    for warning in warnings:
        log.warning("cell %s: %s", cell.id, warning)
    write_json_atomic(files.testset, {**test.describe(), "warnings": warnings, "leaks": leaks})
    predictions = predict_split(
        checkpoint,
        test.rows,
        cache,
        files.predictions,
        batch_size=s.eval_batch_size,
        device=resolve_device(s.device),
    )
    settings = {
        "row": cell.row.id,
        "column": cell.column.id,
        "seed": cell.seed,
        "run": cell.run.name,
        "checkpoint": str(checkpoint),
        "test_set": cell.test_spec.to_dict(),
        "unit": "sequence" if is_sequence_detector(cell.run.config.model.name) else "frame",
    }
    evaluate_predictions(
        predictions,
        rule=s.rule,
        n_resamples=s.n_resamples,
        out_path=files.metrics,
        settings=settings,
        coverage=coverage,
    )
    _event(layout, event="cell", cell=cell.id)


def run_grid(
    spec: str | os.PathLike[str],
    data: Mapping[str, str | os.PathLike[str]],
    cache: str | os.PathLike[str],
    out: str | os.PathLike[str],
    settings: GridSettings | None = None,
    progress: GridProgress | None = None,
) -> pd.DataFrame:
    """Run (or resume) the grid of ``spec`` on the dataset roots ``data`` (name → root) into ``out``.

    Returns the results table (:func:`collect_results`), which is also written as ``OUT/results.csv``.
    """
    settings = settings or GridSettings()
    progress = progress or GridProgress()
    cache = Path(cache)
    layout = GridLayout.create(out, spec)
    parsed = layout.spec
    manifest = build_grid_manifest(layout, data)
    # planned on the index first, so an impossible grid fails before hours of extraction
    needed = _videos_needed(plan_grid(parsed, manifest, settings.overrides), manifest)
    pending = len(set(needed["uid"]) - finished_uids(cache))
    progress.step(f"faces: {len(needed)} videos, {pending} to extract into {cache}")
    with progress.extraction(pending) as on_video:
        extract_manifest(needed, cache, settings.extract, workers=settings.extract_workers, progress=on_video)
    plan = plan_grid(parsed, manifest, settings.overrides, FaceCache(cache).usable_uids())
    runs = list(plan.runs.values())
    mine = set(select_shard([run.key for run in runs], settings.shard))
    progress.step(f"{len(plan.cells)} cells, {len(runs)} training runs ({len(mine)} in this process)")
    for number, run in enumerate((r for r in runs if r.key in mine), start=1):
        started = time.monotonic()
        progress.step(f"[run {number}/{len(mine)}] {run.name}: train on {', '.join(run.train_sets)}")
        checkpoint = _train(run, cache, layout)
        for cell in plan.cells_of(run):
            _evaluate(cell, checkpoint, cache, layout, settings)
        gc.collect()
        release_freed_memory()  # see noisetrace.core.memory: keeps a long grid's memory flat
        progress.step(f"[run {number}/{len(mine)}] done in {time.monotonic() - started:.0f} s")
    return collect_results(layout)


def _cell_value(metrics: Mapping[str, Any], level: str, metric: str) -> dict[str, Any]:
    block = metrics["frame" if level == "item" else "video"]
    entry = block["metrics"][metric]
    return {"value": entry["value"], "low": entry["low"], "high": entry["high"], "n_items": metrics["frame"]["n"]}


def collect_results(layout: GridLayout) -> pd.DataFrame:
    """Gather every finished cell of the grid into one table (what the report lays out); write
    ``OUT/results.csv``."""
    spec = layout.spec
    lines = []
    for row in spec.rows:
        for index, column in enumerate(spec.columns):
            for seed in spec.seeds:
                files = layout.cell(row.id, column.id, seed)
                if not files.metrics.is_file():
                    continue
                metrics = json.loads(files.metrics.read_text(encoding="utf-8"))
                lines.append(
                    {
                        "row": row.id,
                        "column": column.id,
                        "seed": seed,
                        "train": row.label_train,
                        "test": row.label_test,
                        "metric": spec.metric,
                        "level": spec.level,
                        **_cell_value(metrics, spec.level, spec.metric),
                        "n_videos": metrics["video"]["n"],
                        "paper": row.paper[index] if row.paper else None,
                        "run": metrics["settings"]["run"],
                        "cell": str(files.folder.relative_to(layout.root)),
                    }
                )
    table = pd.DataFrame(lines, columns=list(RESULT_COLUMNS))
    write_text_atomic(layout.results, table.to_csv(index=False))
    return table


def plan_summary(plan: GridPlan) -> list[dict[str, Any]]:
    """One line per run: its sets, videos per split and the cells it serves (``protocol plan``)."""
    lines = []
    for run in plan.runs.values():
        counts = run.describe()["videos"]
        lines.append(
            {
                "run": run.name,
                "train": ", ".join(run.train_sets),
                **counts,
                "cells": [cell.id for cell in plan.cells_of(run)],
            }
        )
    return lines
