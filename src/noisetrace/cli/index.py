"""``noisetrace index``: dataset folders → a manifest with a leak-free split, and its split report."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from noisetrace.cli._common import parse_data, user_errors_exit
from noisetrace.core.io import write_json_atomic
from noisetrace.core.manifest import write_manifest
from noisetrace.datasets import DATASETS, SPLIT_SCHEMES, SplitReport, build_joint_manifest, split_report_path

_SPLIT_COLUMNS = ("train", "val", "test", "unassigned")


def _print_summary(report: SplitReport, manifest: Path, report_path: Path) -> None:
    """One row per dataset and method with its videos per split, and the donor-face leak of its
    val/test fakes when any method has one (its definition is in ``noisetrace.datasets.splits``)."""
    console = Console()
    shown = [c for c in _SPLIT_COLUMNS if c != "unassigned" or any(r["unassigned"] for r in report.counts)]
    show_leak = any(r["leak_rate"] for r in report.counts)
    table = Table(title=f"{manifest} ({report.scheme} split, seed {report.seed})")
    for column in ("dataset", "method", "label", *shown, "total"):
        table.add_column(column, justify="right" if column in (*shown, "total") else "left")
    if show_leak:
        table.add_column("donor leak", justify="right")
    for row in report.counts:
        cells = [row["dataset"], row["method"], "fake" if row["label"] else "real"]
        cells += [str(row[c]) for c in (*shown, "total")]
        if show_leak:
            cells.append("" if row["leak_rate"] is None else f"{100 * row['leak_rate']:.1f} %")
        table.add_row(*cells)
    console.print(table)
    if report.fractions:
        targets = "/".join(f"{100 * report.fractions[s]:g}" for s in ("train", "val", "test"))
        achieved = "/".join(f"{100 * report.achieved['all'][s]:.1f}" for s in ("train", "val", "test"))
        console.print(f"train/val/test: target {targets} % of videos, achieved {achieved} %")
    for space, stats in report.groups.items():
        if stats["fallback_to_target_id"]:
            share = 100 * stats["largest_component_video_share"]
            console.print(
                f"{space}: one swap-graph component holds {share:.0f} % of its videos; "
                f"split by target id instead"
            )
    console.print(f"wrote {manifest} and {report_path}")


@user_errors_exit
def index(
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Manifest to write (.parquet, or .csv); the split report goes "
            "beside it as <name>.split.json.",
        ),
    ],
    root: Annotated[
        Path | None, typer.Argument(help="Dataset root, read with the layout --dataset names.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help=f"Layout of ROOT: {', '.join(DATASETS)}.")
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(help="NAME=ROOT, repeatable: more datasets in the same manifest, split jointly."),
    ] = None,
    real_root: Annotated[
        Path | None,
        typer.Option(
            help="FF++ root whose youtube originals are DeeperForensics-1.0's reals (dfo only; "
            "not needed when ffpp is indexed too)."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help=f"Split scheme: {' or '.join(SPLIT_SCHEMES)}.")] = "paper",
    seed: Annotated[int, typer.Option(help="Seed of the paper split (and of Celeb-DF's official val).")] = 0,
    compression: Annotated[
        list[str] | None,
        typer.Option(
            "--compression",
            "-c",
            help="FF++ compression to keep, repeatable: raw, c23, c40 "
            "(default: all found; c23 for DeeperForensics-1.0 reals).",
        ),
    ] = None,
    max_component_share: Annotated[
        float,
        typer.Option(
            help="Split a swap-graph component by target id when it holds more than this share "
            "of its id space's videos."
        ),
    ] = 0.5,
    link_dfo_actors: Annotated[
        bool,
        typer.Option(
            help="Also keep each DeeperForensics-1.0 actor's fakes in one split (best for dfo alone)."
        ),
    ] = False,
    ffpp_actors_as_reals: Annotated[
        bool,
        typer.Option(
            help="Count FF++'s original_sequences/actors (DeepFakeDetection's studio reals) among FF++'s "
            "real videos. Default: they are indexed as method 'actors', which FF++ training and test sets "
            "do not pick (the paper's FF++ reals are the 1,000 youtube originals)."
        ),
    ] = False,
    celebdf_youtube_real: Annotated[
        bool,
        typer.Option(
            help="Also index Celeb-DF's YouTube-real/ videos as real videos (and keep them in the official "
            "test list). Default: Celeb-real only, the paper's 590 reals."
        ),
    ] = False,
) -> None:
    """Index dataset folders into a manifest (one row per video) with a train/val/test split.

    One dataset:
      noisetrace index ROOT --dataset ffpp -o manifest.parquet
    Several, split jointly so that no person lands in two splits (the paper's FF++ + DF-1.0):
      noisetrace index --data ffpp=FFPP_ROOT --data dfo=DFO_ROOT -o manifest.parquet
    DeeperForensics-1.0 alone, its real videos taken from FF++:
      noisetrace index DFO_ROOT --dataset dfo --real-root FFPP_ROOT -o manifest.parquet

    --split paper (default): 75/10/15 of the videos by identity group; ids linked by any
    swap stay together, for every method and for the real videos.
    --split official: FF++'s pair lists (DF-1.0 follows its targets), Celeb-DF's
    List_of_testing_videos.txt as test; not defined for dfdc and folder.
    """
    sources = parse_data(data or [])
    if root is not None or dataset is not None:
        if root is None or dataset is None:
            raise typer.BadParameter("ROOT and --dataset go together (or use --data NAME=ROOT)")
        sources.insert(0, (dataset, root))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            manifest, report = build_joint_manifest(
                sources,
                split,
                seed,
                real_root=real_root,
                compressions=compression,
                max_component_share=max_component_share,
                link_dfo_actors=link_dfo_actors,
                ffpp_actors_as_reals=ffpp_actors_as_reals,
                celebdf_youtube_real=celebdf_youtube_real,
            )
        finally:  # what the indexers noticed helps most when they then fail
            for warning in caught:
                print(f"warning: {warning.message}", file=sys.stderr)
    write_manifest(manifest, output)
    report_path = split_report_path(output)
    write_json_atomic(report_path, report.to_dict())
    _print_summary(report, output, report_path)
