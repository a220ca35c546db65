"""``noisetrace synth``: real face videos → a FaceForensics++-shaped benchmark of simulated fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noisetrace.cli._common import user_errors_exit
from noisetrace.synth import build_benchmark, list_methods


def _split_methods(values: list[str] | None) -> list[str] | None:
    """``--methods swap,flicker`` and ``--methods swap --methods flicker`` both work."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@user_errors_exit
def synth(
    real_dir: Annotated[Path, typer.Argument(help="Folder of real face videos (one identity per file).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Benchmark root to write (FF++ layout).")],
    methods: Annotated[
        list[str] | None,
        typer.Option(help=f"Methods, comma-separated or repeated [default: all: {', '.join(list_methods())}]."),
    ] = None,
    pairs: Annotated[
        int | None, typer.Option(help="Fake videos per method [default: one per real video with a face].")
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames decoded and written per video (the first N).")] = 120,
    crf: Annotated[int, typer.Option(help="H.264 CRF for reals and fakes (23 ≈ FF++ c23; 0 = raw).")] = 23,
    seed: Annotated[int, typer.Option(help="Seed of the pairing and of every method's randomness.")] = 0,
    preview: Annotated[
        bool, typer.Option("--preview", help="Write previews/<method>.png contact sheets and overview.png.")
    ] = False,
    preset: Annotated[
        str,
        typer.Option(help="libx264 preset; faster is within 0.2 dB of FF++'s medium at 2/3 of its time."),
    ] = "faster",
    max_side: Annotated[
        int, typer.Option(help="Down-scale videos whose longest side exceeds this (0: keep the size).")
    ] = 720,
    detect_every: Annotated[
        int,
        typer.Option(help="Run the full face detector on every k-th frame; faces in between are tracked."),
    ] = 4,
    detect_side: Annotated[int, typer.Option(help="Longest side of the frames the detector sees.")] = 400,
    workers: Annotated[int | None, typer.Option(help="Worker processes [default: CPU count].")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Rebuild files that exist (default: resume, keep them).")
    ] = False,
) -> None:
    """Simulate manipulations of real face videos and write them as a FaceForensics++ tree.

    Example: noisetrace synth ../shared/data/real_videos -o bench --preview, then
    noisetrace index bench --dataset ffpp -o bench/manifest.parquet.
    """
    summary = build_benchmark(
        real_dir,
        output,
        methods=_split_methods(methods),
        pairs=pairs,
        frames=frames,
        crf=crf,
        seed=seed,
        preview=preview,
        preset=preset,
        max_side=max_side or None,
        detect_every=detect_every,
        detect_side=detect_side,
        workers=workers,
        overwrite=overwrite,
        log=print,
    )
    counts = ", ".join(f"{m}: {len(ids)}" for m, ids in summary["fakes"].items())
    print(f"real videos: {len(summary['videos'])}; fakes per method: {counts}")
    for video_id, why in summary["skipped_for_fakes"].items():
        print(f"no fakes from {video_id} ({summary['ids'][video_id]}): {why}")
    for sheet in summary["previews"]:
        print(f"preview: {output / sheet}")
    print(f"wrote {output} in {summary['timing_s']['total']:.1f} s (settings and ids: {output / 'synth.json'})")
