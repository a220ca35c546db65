"""``noisetrace evaluate``: score a split with a checkpoint, write predictions.csv + metrics.json, print a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from noisetrace.cli._common import user_errors_exit
from noisetrace.core.io import write_json_atomic
from noisetrace.core.manifest import read_manifest
from noisetrace.data import PAPER_TEST_VIDEOS, TestSetSpec, index_split, parse_methods, select_test_set
from noisetrace.data.inference import predict_split
from noisetrace.evaluation.coverage import coverage_report
from noisetrace.evaluation.metrics import AGGREGATION_RULES
from noisetrace.evaluation.predictions import evaluate_predictions
from noisetrace.faces.cache import FaceCache
from noisetrace.models.checkpoint import checkpoint_seq_len

_SHOWN = [
    ("accuracy", "acc"),
    ("balanced_accuracy", "bal_acc"),
    ("roc_auc", "AUC [95% CI]"),
    ("eer", "EER"),
    ("average_precision", "AP"),
]


def _fmt(entry: dict[str, Any], with_ci: bool = False) -> str:
    if entry.get("value") is None:
        return "n/a"
    text = f"{entry['value']:.4f}"
    if with_ci:
        text += f" [{entry['low']:.4f}, {entry['high']:.4f}]"
    return text


def format_table(result: dict[str, Any], item_name: str) -> str:
    """A short text table: one line per level (frame/sequence, video)."""
    header = f"{'level':<10} {'n':>7}  " + "  ".join(
        f"{title:<26}" if key == "roc_auc" else f"{title:<7}" for key, title in _SHOWN
    )
    lines = [header]
    for level, name in (("frame", item_name), ("video", "video")):
        block = result[level]
        cells = []
        for key, _ in _SHOWN:
            cell = _fmt(block["metrics"][key], with_ci=key == "roc_auc")
            cells.append(f"{cell:<26}" if key == "roc_auc" else f"{cell:<7}")
        lines.append(f"{name:<10} {block['n']:>7}  " + "  ".join(cells))
    return "\n".join(line.rstrip() for line in lines)


@user_errors_exit
def evaluate(
    checkpoint: Annotated[
        Path, typer.Argument(help="Checkpoint (.safetensors or .json) written by `noisetrace train`.")
    ],
    manifest: Annotated[Path, typer.Option("--manifest", "-m", help="Manifest with the split to evaluate.")],
    cache: Annotated[Path, typer.Option("--cache", help="Face cache written by `noisetrace extract`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for predictions.csv and metrics.json.")],
    split: Annotated[str, typer.Option(help="Manifest split to score.")] = "test",
    test_set: Annotated[
        str | None,
        typer.Option(
            "--test-set",
            help="Balanced generalization set from the split: fake methods as DATASET/METHOD[,...] "
            "(e.g. ffpp/Deepfakes, dfo/*), N of them + N real videos of the same datasets, seeded.",
        ),
    ] = None,
    test_videos: Annotated[
        int, typer.Option(help="Videos per class in --test-set (the paper: 150); 0 keeps all, unbalanced.")
    ] = PAPER_TEST_VIDEOS,
    test_seed: Annotated[int, typer.Option(help="Seed of the --test-set draw (recorded in testset.json).")] = 0,
    rule: Annotated[str, typer.Option(help=f"Video aggregation rule: {', '.join(AGGREGATION_RULES)}.")] = "mean",
    threshold: Annotated[float, typer.Option(help="Predict fake when P(fake) >= threshold.")] = 0.5,
    device: Annotated[str, typer.Option(help="Torch device, e.g. cpu or cuda.")] = "cpu",
    batch_size: Annotated[int, typer.Option(help="Items per forward pass.")] = 64,
    num_workers: Annotated[int, typer.Option(help="Loader worker processes (0: load in this process).")] = 0,
    n_resamples: Annotated[int, typer.Option(help="Video-bootstrap resamples for the 95% CIs.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Evaluate a detector on one split: frame (or sequence) and video-level metrics with bootstrap CIs.

    Example: noisetrace evaluate runs/rgb/checkpoints/best.json -m manifest.parquet --cache faces -o eval/rgb

    Generalization test as in the paper (150 Deepfakes + 150 real test videos):
    noisetrace evaluate CKPT -m manifest.parquet --cache faces -o eval/df --test-set ffpp/Deepfakes
    """
    if rule not in AGGREGATION_RULES:
        raise typer.BadParameter(f"rule must be one of {list(AGGREGATION_RULES)}, got {rule!r}", param_hint="--rule")
    rows = read_manifest(manifest)
    settings: dict[str, Any] = {"checkpoint": str(checkpoint), "manifest": str(manifest), "cache": str(cache)}
    drawn = None
    if test_set is not None:
        spec = TestSetSpec(parse_methods(test_set), n=test_videos or None, seed=test_seed, split=split)
        drawn = select_test_set(rows, spec, FaceCache(cache).usable_uids())
        for warning in drawn.warnings:
            typer.echo(f"warning: {warning}", err=True)
        write_json_atomic(output / "testset.json", drawn.describe())
        rows, split = drawn.rows, "test"
        settings["test_set"] = spec.to_dict()
    predictions = predict_split(
        checkpoint,
        rows,
        cache,
        output / "predictions.csv",
        split=split,
        batch_size=batch_size,
        device=device,
        num_workers=num_workers,
    )
    seq_len = checkpoint_seq_len(checkpoint)
    item_name = "frame" if seq_len is None else "sequence"
    settings.update(split=split, unit=item_name)
    # the videos that gave no item (no crops, excluded, every window crossing a frame without a face)
    scored = rows[rows["split"] == split]
    coverage = coverage_report(
        dict(zip(scored["uid"], scored["label"], strict=True)),
        index_split(rows, FaceCache(cache), split, seq_len),
        seq_len=seq_len,
        balanced=drawn is not None and drawn.spec.n is not None,
    )
    for warning in coverage["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    if drawn is not None and coverage["warnings"]:
        described = drawn.describe()
        described["warnings"] = [*described["warnings"], *coverage["warnings"]]
        write_json_atomic(output / "testset.json", described)
    result = evaluate_predictions(
        predictions,
        rule=rule,
        threshold=threshold,
        n_resamples=n_resamples,
        seed=seed,
        out_path=output / "metrics.json",
        settings=settings,
        coverage=coverage,
    )
    typer.echo(f"{split} split, threshold {threshold}, video rule {rule!r}")
    typer.echo(format_table(result, item_name))
    typer.echo(f"predictions: {predictions}")
    typer.echo(f"metrics:     {output / 'metrics.json'}")
