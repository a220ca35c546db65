"""``noisetrace demo``: the README's main job, on media that installed packages ship."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from noisetrace.cli._common import extraction_bar, user_errors_exit
from noisetrace.demo import NOTE, run_demo
from noisetrace.protocols import GridProgress


@user_errors_exit
def demo(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for everything the demo writes.")
    ] = Path("noisetrace-demo"),
    videos: Annotated[
        Path | None, typer.Option(help="Your own folder of real face videos (≥ 6, one person each).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="key=value for every training after the demo's settings, e.g. trainer.max_epochs=10."),
    ] = None,
) -> None:
    """Simulate a benchmark from real face media, then index → extract → train the four detectors →
    a leave-one-out grid → report; offline, a few minutes on a CPU, demo-sized settings."""
    started = time.monotonic()
    progress = GridProgress(step=typer.echo, extraction=extraction_bar)
    result = run_demo(output, videos, tuple(overrides or ()), progress)
    typer.echo("")
    typer.echo(result.table)
    typer.echo(NOTE)
    typer.echo(result.split_note)
    typer.echo(f"report:       {result.report}")
    typer.echo(f"face crops:   {result.review}")
    typer.echo(f"grid folder:  {result.grid} (rerun `noisetrace report {result.grid}` after changes)")
    typer.echo("")
    typer.echo(result.shipped.describe())
    typer.echo(f"finished in {time.monotonic() - started:.0f} s")
