"""A grid folder: where every file of a grid lies, and the spec the grid was run with.

:class:`GridLayout` is the one place that knows the folder's layout; the runner writes through it,
the report and ``noisetrace report`` read through it::

    OUT/spec.yaml                 the spec that was run (what a later GridLayout.open parses)
    OUT/manifest.parquet          the joint index and its identity split, built once (+ .split.json)
    OUT/runs/<run>/key.json       what the run is: sets, resolved config, hash of its videos
    OUT/runs/<run>/manifest.csv   its train/val videos; the rest is a `noisetrace train` run dir
    OUT/cells/<row>/<column>-s<seed>/testset.json, predictions.csv, metrics.json
    OUT/results.csv               one line per finished cell (rewritten at the end of every call)
    OUT/events.jsonl              one line per training started or resumed, and per cell evaluated
    OUT/report/                   what ``noisetrace report OUT`` writes

The spec is parsed once, when the layout is made, so the runner, the results table and the report
all read the same :class:`~noisetrace.protocols.spec.ProtocolSpec`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import write_text_atomic
from noisetrace.protocols.spec import ProtocolSpec, parse_spec_text, read_spec_text

__all__ = ["CellFiles", "GridLayout"]

SPEC_FILE = "spec.yaml"


@dataclass(frozen=True)
class CellFiles:
    """The folder of one cell at one training seed, and the files the runner writes into it."""

    row: str
    column: str
    seed: int
    root: Path  # of the grid

    @property
    def name(self) -> str:
        """``<row>/<column>-s<seed>``: the folder below ``OUT/cells``, how warnings name the cell."""
        return f"{self.row}/{self.column}-s{self.seed}"

    @property
    def folder(self) -> Path:
        return self.root / "cells" / self.name

    @property
    def testset(self) -> Path:
        """The drawn test videos, their warnings and the cell's leak report."""
        return self.folder / "testset.json"

    @property
    def predictions(self) -> Path:
        return self.folder / "predictions.csv"

    @property
    def metrics(self) -> Path:
        """Written last and atomically: a cell with this file is finished."""
        return self.folder / "metrics.json"


@dataclass(frozen=True)
class GridLayout:
    """The grid folder ``root`` and the spec it runs (module docstring for the layout)."""

    root: Path
    spec: ProtocolSpec

    @classmethod
    def create(cls, root: str | os.PathLike[str], spec: str | os.PathLike[str]) -> GridLayout:
        """Read ``spec`` (a shipped name or a YAML path) and keep its text as ``OUT/spec.yaml``, so that
        the folder alone says what was run."""
        text, source = read_spec_text(spec)
        layout = cls(Path(root), parse_spec_text(text, source))
        layout.root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(layout.spec_file, text)
        return layout

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> GridLayout:
        """The grid already in ``root``, with the spec it was run with."""
        spec_file = Path(root) / SPEC_FILE
        if not spec_file.is_file():
            raise NoisetraceError(
                f"{root} holds no grid ({spec_file} is missing): run `noisetrace protocol run SPEC ... -o {root}` "
                "first."
            )
        return cls(Path(root), parse_spec_text(spec_file.read_text(encoding="utf-8"), str(spec_file)))

    @property
    def spec_file(self) -> Path:
        return self.root / SPEC_FILE

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.parquet"

    @property
    def results(self) -> Path:
        return self.root / "results.csv"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    def run_dir(self, run_name: str) -> Path:
        """The `noisetrace train` run directory of one training run."""
        return self.root / "runs" / run_name

    def cell(self, row_id: str, column_id: str, seed: int) -> CellFiles:
        """The files of the cell (``row_id``, ``column_id``) trained with ``seed``."""
        return CellFiles(row_id, column_id, seed, self.root)
