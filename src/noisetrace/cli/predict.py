"""``noisetrace predict``: a verdict with evidence for each video (or image): JSON, HTML, annotated copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from noisetrace.cli._common import DetectionOption, KeyframeIntervalOption, user_errors_exit
from noisetrace.core.io import check_output_folder
from noisetrace.evaluation.metrics import AGGREGATION_RULES
from noisetrace.faces.detection import DEFAULT_INTERVAL
from noisetrace.predict import PREDICTIONS_FILE, PredictSettings, predict_videos
from noisetrace.pretrained import SHIPPED_MODEL, model_card, shipped_checkpoint


def _summary(result: dict[str, Any]) -> str:
    """One line per item: verdict (or status), video score, path."""
    if result["verdict"] is None:
        return f"{result['status']:<10} {'':>6}  {result['path']}  ({result['message']})"
    return f"{result['verdict']:<10} {result['score']:>6.3f}  {result['path']}"


@user_errors_exit
def predict(
    inputs: Annotated[list[str], typer.Argument(help="Videos, images, folders of them, or quoted glob patterns.")],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            "-c",
            help="Checkpoint (.safetensors or .json) written by `noisetrace train`; "
            f"default: the shipped model ({SHIPPED_MODEL}, see `noisetrace models`).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder for predictions.json, the face crops and the evidence (default: JSON to stdout).",
        ),
    ] = None,
    frames: Annotated[int, typer.Option(help="Analyse the first N frames of each video (the paper: 120).")] = 120,
    html: Annotated[
        bool, typer.Option("--html", help="Write OUT/<id>.html: verdict, timeline, crops, SRM, Grad-CAM.")
    ] = False,
    annotate: Annotated[
        bool, typer.Option("--annotate", help="Write OUT/<id>.annotated.mp4 with the face box and running score.")
    ] = False,
    rule: Annotated[str, typer.Option(help=f"Video score rule: {', '.join(AGGREGATION_RULES)}.")] = "mean",
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Two-way verdict: fake when the video's P(fake) >= threshold. Default: the checkpoint's "
            "calibrated real/uncertain/fake band (the shipped model), else 0.5."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="Torch device: cpu, cuda, cuda:N or auto.")] = "cpu",
    batch_size: Annotated[int, typer.Option(help="Frames per forward pass.")] = 32,
    frame_stride: Annotated[
        int, typer.Option(help="Judge every n-th of the first N frames: n times less work, fewer frames of evidence.")
    ] = 1,
    detection: DetectionOption = "track",
    keyframe_interval: KeyframeIntervalOption = DEFAULT_INTERVAL,
) -> None:
    """Judge videos with a trained detector: per-frame scores, a video score and a verdict, with evidence.

    Items that cannot be judged (unreadable file, no face) get a status in the JSON and the run goes on.
    The exit code is non-zero only for mistakes in the call itself.

    Without -c the shipped detector judges (trained on simulated blends of real faces; its card,
    `noisetrace models`, says what it catches and what it misses).

    Example: noisetrace predict clip.mp4 'more/*.mp4' -c runs/srm/checkpoints/best.json -o verdicts --html
    """
    if (html or annotate) and output is None:
        raise typer.BadParameter("--html and --annotate write files: give an output folder with -o OUT.")
    if output is not None:
        check_output_folder(output)  # before the model loads and any video is decoded
    settings = PredictSettings(
        frames=frames,
        rule=rule,
        threshold=threshold,
        device=device,
        batch_size=batch_size,
        frame_stride=frame_stride,
        detection=detection.replace("-", "_"),
        keyframe_interval=keyframe_interval,
        html=html,
        annotate=annotate,
    )

    def progress(done: int, total: int, result: dict[str, Any]) -> None:
        typer.echo(f"[{done}/{total}] {_summary(result)}", err=True)

    if checkpoint is None:
        checkpoint = shipped_checkpoint()
        card = model_card()
        typer.echo(
            f"model: the shipped detector {SHIPPED_MODEL} ({card.get('card', {}).get('headline', '')})", err=True
        )
        typer.echo(f"       {card.get('card', {}).get('caveat', '')}", err=True)
    results = predict_videos(inputs, checkpoint, output, settings, progress=progress)
    if output is None:
        typer.echo(json.dumps(results, indent=1))
    else:
        typer.echo(f"predictions: {output / PREDICTIONS_FILE}")
