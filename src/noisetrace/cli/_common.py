"""Shared CLI helpers: domain errors become one clear line and exit code 1, never a traceback; the
progress bar of a face extraction that a library call reports through callbacks."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from tqdm import tqdm

from noisetrace.core.errors import NoisetraceError

P = ParamSpec("P")
R = TypeVar("R")


# How faces are found, for every command that finds them (extract, predict); defaults stay in each
# signature so that this module imports nothing heavy.
DetectionOption = Annotated[
    str,
    typer.Option(
        help="track: the full MTCNN cascade on key frames, R-Net/O-Net tracking between (fast); "
        "every-frame: the full cascade on every frame (the paper's literal procedure)."
    ),
]
KeyframeIntervalOption = Annotated[
    int, typer.Option(help="With --detection track: at most this many frames between full detections.")
]


def user_errors_exit(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so a :class:`NoisetraceError` prints ``error: ...`` and exits with code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NoisetraceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(code=1) from None

    return wrapper


@contextmanager
def extraction_bar(pending: int) -> Iterator[Callable[[Any], None]]:
    """A bar over the ``pending`` videos of an extraction (``GridProgress.extraction``); yields the
    callback that advances it by one video, whatever the video's result."""
    with tqdm(total=pending, unit="video", dynamic_ncols=True, disable=pending == 0) as bar:
        yield lambda result: bar.update()


def parse_shard(value: str) -> tuple[int, int]:
    """Parse ``i/n`` (0-based shard ``i`` of ``n``), as cluster array jobs pass it."""
    try:
        index_text, count_text = value.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise typer.BadParameter(f"expected i/n with integers, e.g. 0/4; got {value!r}") from None
    if count < 1 or not 0 <= index < count:
        raise typer.BadParameter(f"shard index must satisfy 0 <= i < n; got {value!r}")
    return index, count


def parse_data(items: list[str]) -> list[tuple[str, Path]]:
    """Parse repeated ``--data NAME=ROOT`` options into ``(name, root)`` pairs, in the order given."""
    sources = []
    for item in items:
        name, sep, root = item.partition("=")
        if not sep or not name or not root:
            raise typer.BadParameter(f"expected NAME=ROOT (e.g. ffpp=/data/FF++); got {item!r}", param_hint="--data")
        sources.append((name, Path(root)))
    return sources
