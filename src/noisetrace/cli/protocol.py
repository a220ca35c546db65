"""``noisetrace protocol``: run the paper's tables (or your own grid) as one resumable command.

``protocol list`` shows the shipped specs, ``protocol plan`` indexes the datasets and checks every
cell (splits, test sets, identity leaks) without training, ``protocol run`` runs or resumes the grid,
and ``noisetrace report OUT`` lays out the result.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from noisetrace.cli._common import extraction_bar, parse_data, parse_shard, user_errors_exit
from noisetrace.datasets.folder import LayoutWarning
from noisetrace.faces.extract import ExtractSettings
from noisetrace.protocols import (
    GridLayout,
    GridProgress,
    GridSettings,
    list_specs,
    load_spec,
    plan_grid,
    plan_summary,
    run_grid,
)
from noisetrace.protocols.runner import build_grid_manifest, collect_results
from noisetrace.report.grid import write_grid_report

app = typer.Typer(
    help="Experiment grids: the paper's Table 1 and Table 2, or your own spec.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_SPEC_HELP = f"A shipped spec ({', '.join(list_specs())}) or a YAML file of your own (see docs/protocols.md)."
_DATA_HELP = "Dataset root as NAME=ROOT, one per dataset the spec lists (e.g. ffpp=/data/FF++)."


def _show_progress() -> None:
    """Library INFO messages (runs starting, videos left out) on stderr, as `noisetrace train` shows them."""
    logger = logging.getLogger("noisetrace")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@app.command("list")
def list_command() -> None:
    """The shipped specs with their size."""
    for name in list_specs():
        spec = load_spec(name)
        typer.echo(f"{name:<14} {len(spec.rows)} rows × {len(spec.columns)} columns  {spec.title}")


@app.command("plan")
@user_errors_exit
def plan(
    spec: Annotated[str, typer.Argument(help=_SPEC_HELP)],
    data: Annotated[list[str], typer.Option("--data", "-d", help=_DATA_HELP)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Grid folder (the manifest is written there).")],
    overrides: Annotated[list[str] | None, typer.Argument(help="key=value for every training.")] = None,
) -> None:
    """Index the datasets and check every run and cell without training: splits, test sets, identity leaks.

    Example: noisetrace protocol plan paper-table1 -d ffpp=/data/FF++ -d dfo=/data/DF-1.0
    -d celebdf=/data/Celeb-DF-v2 -o grid
    """
    layout = GridLayout.create(output, spec)
    parsed = layout.spec
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LayoutWarning)
        manifest = build_grid_manifest(layout, dict(parse_data(data)))
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    grid = plan_grid(parsed, manifest, tuple(overrides or ()))
    table = Table(title=f"{parsed.name}: {len(grid.cells)} cells, {len(grid.runs)} training runs")
    for title in ("run", "train on", "train real/fake", "val real/fake", "cells"):
        table.add_column(title)
    for line in plan_summary(grid):
        table.add_row(
            line["run"],
            line["train"],
            f"{line.get('train/real', 0)}/{line.get('train/fake', 0)}",
            f"{line.get('val/real', 0)}/{line.get('val/fake', 0)}",
            str(len(line["cells"])),
        )
    Console().print(table)
    for cell in grid.cells:
        if cell.column == parsed.columns[0] and cell.seed == parsed.seeds[0]:
            typer.echo(f"{cell.row.id}: test on {cell.row.label_test}: {cell.test_spec.to_dict()}")


@app.command("run")
@user_errors_exit
def run(
    spec: Annotated[str, typer.Argument(help=_SPEC_HELP)],
    data: Annotated[list[str], typer.Option("--data", "-d", help=_DATA_HELP)],
    cache: Annotated[Path, typer.Option("--cache", help="Face cache (shared by every cell; extracted as needed).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Grid folder: manifest, runs/, cells/, results.csv.")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="key=value for every training, e.g. trainer.max_epochs=2 data.num_workers=8."),
    ] = None,
    shard: Annotated[
        str | None, typer.Option(help="Take every n-th training run as shard i/n (one process per GPU).")
    ] = None,
    device: Annotated[str, typer.Option(help="Evaluation device: auto, cpu, cuda, cuda:N.")] = "auto",
    frames: Annotated[int, typer.Option(help="Frames extracted per video (the paper: 120).")] = 120,
    extract_workers: Annotated[int, typer.Option(help="Face-extraction processes.")] = 1,
    n_resamples: Annotated[int, typer.Option(help="Video-bootstrap resamples for the 95% CIs.")] = 1000,
) -> None:
    """Run or resume a grid: index → extract → train each run once → evaluate every cell → results.csv.

    Example: noisetrace protocol run paper-table1 -d ffpp=/data/FF++ -d dfo=/data/DF-1.0
    -d celebdf=/data/Celeb-DF-v2 --cache faces -o grid-table1, then noisetrace report grid-table1.
    On 4 GPUs: four processes with CUDA_VISIBLE_DEVICES=i and --shard i/4, the same -o.
    """
    _show_progress()
    settings = GridSettings(
        overrides=tuple(overrides or ()),
        extract=ExtractSettings(frames=frames, device="cuda" if device.startswith("cuda") else "cpu"),
        extract_workers=extract_workers,
        shard=parse_shard(shard) if shard else None,
        device=device,
        n_resamples=n_resamples,
    )
    progress = GridProgress(step=typer.echo, extraction=extraction_bar)
    results = run_grid(spec, dict(parse_data(data)), cache, output, settings, progress)
    typer.echo(f"{len(results)} cells finished; results: {output / 'results.csv'}")
    typer.echo(f"report: noisetrace report {output}")


@user_errors_exit
def report(
    output: Annotated[Path, typer.Argument(help="Grid folder written by `noisetrace protocol run`.")],
) -> None:
    """Tables like the paper's (Markdown, CSV, LaTeX; ours [95% CI] beside the paper's), RGB vs SRM paired
    tests, ROC curves, accuracy vs L, and one HTML page, in OUT/report/.

    Example: noisetrace report grid-table1
    """
    layout = GridLayout.open(output)
    files = write_grid_report(layout, collect_results(layout))
    typer.echo(files["markdown"].read_text(encoding="utf-8"))
    for kind, path in files.items():
        typer.echo(f"{kind + ':':<10} {path}")
