"""``noisetrace extract`` and ``noisetrace review``: the face pipeline's commands."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from noisetrace.cli._common import DetectionOption, KeyframeIntervalOption, parse_shard, user_errors_exit
from noisetrace.core.device import resolve_device
from noisetrace.core.io import check_output_folder
from noisetrace.core.manifest import read_manifest
from noisetrace.faces.detection import DEFAULT_INTERVAL
from noisetrace.faces.extract import (
    ExtractSettings,
    VideoResult,
    extract_manifest,
    failed_uids,
    finished_uids,
    select_shard,
)
from noisetrace.faces.review import write_review_sheet


@user_errors_exit
def extract(
    manifest: Annotated[Path, typer.Argument(help="Manifest written by `noisetrace index`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Face cache folder (created; resumable).")],
    frames: Annotated[int, typer.Option(help="Decode the first N frames of each video (paper: 120).")] = 120,
    workers: Annotated[int, typer.Option(help="Parallel worker processes (each runs its own detector).")] = 1,
    shard: Annotated[str | None, typer.Option(help="Process shard i/n only (0-based), e.g. for SLURM arrays.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "cpu",
    detect_max_side: Annotated[
        int, typer.Option(help="Detect on frames down-scaled to this longer side; 0 = full resolution.")
    ] = 640,
    batch_size: Annotated[int, typer.Option(help="Frames per detector batch.")] = 16,
    detection: DetectionOption = "track",
    keyframe_interval: KeyframeIntervalOption = DEFAULT_INTERVAL,
    image_format: Annotated[str, typer.Option(help="png (lossless, default) or jpg.")] = "png",
    retry_failed: Annotated[
        bool,
        typer.Option(help="Extract again the videos recorded as failed (no face, unreadable) in CACHE/_status."),
    ] = False,
) -> None:
    """Crop the subject's face from the first N frames of every video (MTCNN, box ×1.2, 224²)."""
    check_output_folder(output)
    settings = ExtractSettings(
        frames=frames,
        detect_max_side=detect_max_side or None,
        batch_size=batch_size,
        detection=detection.replace("-", "_"),
        keyframe_interval=keyframe_interval,
        image_format=image_format,
        device=resolve_device(device),
    )
    table = read_manifest(manifest)
    shard_spec = parse_shard(shard) if shard else None
    selected = select_shard(table["uid"].tolist(), shard_spec)
    pending = len(set(selected) - finished_uids(output, retry_failed))
    retried = f" ({len(set(selected) & failed_uids(output))} failed before, retried)" if retry_failed else ""
    print(
        f"{len(selected)} videos in {'shard ' + shard if shard else 'the manifest'}, "
        f"{len(selected) - pending} already done, {pending} to extract{retried} → {output}"
    )
    start, frame_total = time.perf_counter(), 0
    with tqdm(total=pending, unit="video", dynamic_ncols=True) as bar:

        def on_result(result: VideoResult) -> None:
            nonlocal frame_total
            frame_total += result.frames
            elapsed = max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(frames_s=f"{frame_total / elapsed:.1f}", last=result.status)
            bar.update()

        results = extract_manifest(
            table, output, settings, workers=workers, shard=shard_spec, retry_failed=retry_failed, progress=on_result
        )
    counts = Counter(r.status for r in results)
    print("done: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"))
    problems = [r for r in results if r.status not in ("ok",)]
    for result in problems[:10]:
        print(f"  {result.status:12s} {result.uid}: {result.message}")
    if len(problems) > 10:
        print(f"  … {len(problems) - 10} more")
    print(f"report: {output / 'extract_report.csv'}")


@user_errors_exit
def review(
    cache: Annotated[Path, typer.Argument(help="Face cache folder written by `noisetrace extract`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML contact sheet to write.")] = Path("review.html"),
    limit: Annotated[int | None, typer.Option(help="Show at most this many videos (flagged first).")] = None,
) -> None:
    """Write a contact sheet of the face crops for checking by eye, and the exclusion list it feeds."""
    path, flagged = write_review_sheet(cache, output, limit=limit)
    print(f"review sheet: {path} ({flagged} videos flagged for a look)")
    print(f"exclusions:   {cache / 'exclusions.txt'} (uids listed there are skipped by later stages)")
