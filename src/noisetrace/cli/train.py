"""``noisetrace train``: parse, resolve the config, call :func:`noisetrace.training.fit`, print."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from noisetrace.cli._common import user_errors_exit
from noisetrace.core.io import check_output_folder
from noisetrace.training import fit, list_presets, resolve_run_config


class _StderrHandler(logging.Handler):
    """Prints library log records to the *current* ``sys.stderr`` (which test runners swap)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def _show_library_messages() -> None:
    """Show what the library reports at INFO: items per split, videos left out and why, the warm-up's
    freezing and thawing, each best checkpoint written; otherwise a user would not see a dropped video."""
    logger = logging.getLogger("noisetrace")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.INFO)


@user_errors_exit
def train(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Run directory: config.yaml, checkpoints/, logs/, summary.json."),
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="Settings as key=value, e.g. optim.lr=0.001 data.seq_len=10 model.domain=srm "
            "trainer.devices=2 (an unknown key lists the valid ones).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help=f"Recipe: a preset ({', '.join(list_presets())}) or a YAML file (may start with "
            "'base: PRESET'). With --resume, defaults to RUN_DIR/config.yaml.",
        ),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", "-m", help="Manifest (rows with split train/val are used).")
    ] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="Face cache written by `noisetrace extract`.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue RUN_DIR from checkpoints/last.ckpt at its step.")
    ] = False,
) -> None:
    """Train a detector with the paper's recipe; keep the best checkpoint by validation AUC.

    Example: noisetrace train -c paper-image -m manifest.parquet --cache faces -o runs/rgb model.domain=srm
    """
    _show_library_messages()
    check_output_folder(output)
    cfg = resolve_run_config(output, config, overrides or [], manifest=manifest, cache=cache, resume=resume)
    result = fit(cfg, output, resume=resume)
    if result["global_rank"] != 0:
        return
    metrics = {k: round(v, 4) for k, v in sorted(result["metrics"].items()) if k.startswith("val/")}
    typer.echo(f"steps: {result['global_step']} (started at {result['start_step']})")
    typer.echo(f"validation: {json.dumps(metrics)}")
    if result["best_checkpoint"] is None:
        typer.echo("no best checkpoint: validation never produced a finite score")
    else:
        typer.echo(
            f"best {result['monitor']} = {result['best_score']:.4f} at step {result['best_step']}: "
            f"{result['best_checkpoint']}"
        )
