"""Experiment specs: a grid of (training set → test set) rows × detector columns, as one YAML file.

A spec is what a table of the paper *is*: its rows say what a detector is trained on and what it is
tested on, its columns say which detector, and each cell holds one number. The two tables of
Atamna et al. (ICIP 2023) ship with the package (``paper-table1``, ``paper-table2``); a user writes
their own in the same format and passes its path. Every field::

    name: paper-table1
    title: Table 1 ...                      # printed above the report's table
    metric: accuracy                        # the number in a cell (a key of metrics.json)
    level: item                             # item (frame or sequence, the paper's) | video
    datasets: [ffpp, dfo, celebdf]          # --data NAME=ROOT the grid needs (index layouts)
    split: {scheme: paper, seed: 0, fractions: {train: 0.75, val: 0.10, test: 0.15}}
    compressions: [c23]                     # FF++ versions to index (the paper: HQ = c23); omit: all found
    test_videos: 150                        # per class in a balanced generalization set
    test_seed: 0                            # seed of every test-set draw
    seeds: [0]                              # training seeds; each is a separate training run
    overrides: []                           # key=value for every training (see `noisetrace train`)
    sets:                                   # named groups of fake videos
      DF: {dataset: ffpp, method: Deepfakes}            # reals: the same dataset's real videos
      DF-1.0: {dataset: dfo, method: end_to_end, reals: ffpp}
    columns:                                # one detector per column
      - {id: xception-rgb, title: Xception-Net (RGB), recipe: paper-image, model: xception, domain: rgb}
      - {id: lstm-L10, title: "10", recipe: paper-sequence, model: xception_lstm, seq_len: 10,
         overrides: [data.batch_size=8]}
    rows:
      - {train: [DF, F2F], test: [DF, F2F], balanced: false, paper: [84.12, ...]}   # in-domain
      - {train: [F2F], test: DF, paper: [73.87, ...]}                                # generalization

A row's training set is the train and validation videos of its sets' fakes plus the real videos of
their datasets; its test set is drawn from the test split (:mod:`noisetrace.data.testsets`), balanced
by default. ``paper`` gives the published number of each column (``null`` where there is none),
shown beside ours in the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from noisetrace.core.errors import ConfigError
from noisetrace.data.testsets import PAPER_TEST_VIDEOS
from noisetrace.models.detector import DOMAINS

__all__ = [
    "ColumnSpec",
    "FakeSet",
    "ProtocolSpec",
    "RowSpec",
    "list_specs",
    "load_spec",
    "parse_spec",
    "parse_spec_text",
    "read_spec_text",
]

SPEC_PACKAGE = "noisetrace.protocols"
SPEC_DIR = "specs"
METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "average_precision", "eer", "accuracy_real", "accuracy_fake")
LEVELS = ("item", "video")
SPLIT_SCHEMES = ("paper", "official")


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, "", []):
        raise ConfigError(f"{where}: '{key}' is required")
    return data[key]


def _no_extra(data: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class FakeSet:
    """Fake videos of one method of one dataset, and the dataset whose real videos go with them."""

    name: str
    dataset: str
    method: str
    reals: str

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.method}"


@dataclass(frozen=True)
class ColumnSpec:
    """One detector: architecture, input domain, recipe (a training preset) and its own overrides."""

    id: str
    title: str
    recipe: str
    model: str
    domain: str = "rgb"  # one of noisetrace.models.DOMAINS: rgb, srm (the paper's two) or fusion
    seq_len: int | None = None  # sequence models only; None: the recipe's
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowSpec:
    """Train on ``train``, test on ``test``; ``paper`` holds the published number per column."""

    id: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    balanced: bool = True
    paper: tuple[float | None, ...] = ()

    @property
    def label_train(self) -> str:
        return ", ".join(self.train)

    @property
    def label_test(self) -> str:
        return ", ".join(self.test)


@dataclass(frozen=True)
class ProtocolSpec:
    """A whole grid; see the module docstring for the YAML it is read from."""

    name: str
    title: str
    datasets: tuple[str, ...]
    sets: dict[str, FakeSet]
    columns: tuple[ColumnSpec, ...]
    rows: tuple[RowSpec, ...]
    metric: str = "accuracy"
    level: str = "item"
    split_scheme: str = "paper"
    split_seed: int = 0
    split_fractions: dict[str, float] | None = None
    test_videos: int | None = PAPER_TEST_VIDEOS
    test_seed: int = 0
    seeds: tuple[int, ...] = (0,)
    overrides: tuple[str, ...] = ()
    compressions: tuple[str, ...] | None = None
    source: str = field(default="", compare=False)

    def column(self, column_id: str) -> ColumnSpec:
        return next(c for c in self.columns if c.id == column_id)

    def row(self, row_id: str) -> RowSpec:
        return next(r for r in self.rows if r.id == row_id)


def _parse_sets(data: Any) -> dict[str, FakeSet]:
    if not isinstance(data, dict) or not data:
        raise ConfigError("spec: 'sets' must map set names to {dataset, method[, reals]}")
    sets = {}
    for name, entry in data.items():
        where = f"set {name!r}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected {{dataset: ..., method: ...}}, got {entry!r}")
        _no_extra(entry, {"dataset", "method", "reals"}, where)
        dataset = str(_require(entry, "dataset", where))
        method = str(_require(entry, "method", where))
        sets[str(name)] = FakeSet(str(name), dataset, method, str(entry.get("reals", dataset)))
    return sets


def _parse_column(entry: Any, index: int) -> ColumnSpec:
    where = f"column {index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with id, recipe, model, got {entry!r}")
    allowed = {"id", "title", "recipe", "model", "domain", "seq_len", "overrides"}
    _no_extra(entry, allowed, where)
    column_id = str(_require(entry, "id", where))
    domain = str(entry.get("domain", "rgb"))
    if domain not in DOMAINS:
        raise ConfigError(f"column {column_id!r}: domain must be {' or '.join(DOMAINS)}, got {domain!r}")
    seq_len = entry.get("seq_len")
    if seq_len is not None and (not isinstance(seq_len, int) or seq_len < 1):
        raise ConfigError(f"column {column_id!r}: seq_len must be a positive integer, got {seq_len!r}")
    return ColumnSpec(
        id=column_id,
        title=str(entry.get("title", column_id)),
        recipe=str(_require(entry, "recipe", where)),
        model=str(_require(entry, "model", where)),
        domain=domain,
        seq_len=seq_len,
        overrides=tuple(str(o) for o in entry.get("overrides") or ()),
    )


def _parse_row(entry: Any, index: int, sets: dict[str, FakeSet], n_columns: int) -> RowSpec:
    where = f"row {index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with train and test, got {entry!r}")
    _no_extra(entry, {"id", "train", "test", "balanced", "paper"}, where)
    train = tuple(str(s) for s in _as_list(_require(entry, "train", where)))
    test = tuple(str(s) for s in _as_list(_require(entry, "test", where)))
    unknown = sorted({s for s in train + test if s not in sets})
    if unknown:
        raise ConfigError(f"{where}: unknown set(s) {unknown}; the spec defines {sorted(sets)}")
    paper = tuple(None if v is None else float(v) for v in _as_list(entry.get("paper") or []))
    if paper and len(paper) != n_columns:
        raise ConfigError(f"{where}: 'paper' has {len(paper)} values for {n_columns} columns (use null for none)")
    return RowSpec(
        id=str(entry.get("id") or f"row{index + 1:02d}"),
        train=train,
        test=test,
        balanced=bool(entry.get("balanced", True)),
        paper=paper,
    )


def _unique(ids: list[str], what: str) -> None:
    seen = {i for i in ids if ids.count(i) > 1}
    if seen:
        raise ConfigError(f"spec: duplicate {what} id(s) {sorted(seen)}")


def parse_spec(data: Any, source: str = "spec") -> ProtocolSpec:
    """Validate a spec given as plain data (the parsed YAML)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping, got {type(data).__name__}")
    allowed = {
        "name", "title", "metric", "level", "datasets", "split", "test_videos", "test_seed", "seeds",
        "overrides", "sets", "columns", "rows", "compressions",
    }  # fmt: skip
    _no_extra(data, allowed, source)
    sets = _parse_sets(data.get("sets"))
    columns = tuple(_parse_column(c, i) for i, c in enumerate(_as_list(_require(data, "columns", source))))
    rows = tuple(_parse_row(r, i, sets, len(columns)) for i, r in enumerate(_as_list(_require(data, "rows", source))))
    _unique([c.id for c in columns], "column")
    _unique([r.id for r in rows], "row")
    metric = str(data.get("metric", "accuracy"))
    if metric not in METRICS:
        raise ConfigError(f"{source}: metric must be one of {list(METRICS)}, got {metric!r}")
    level = str(data.get("level", "item"))
    if level not in LEVELS:
        raise ConfigError(f"{source}: level must be one of {list(LEVELS)}, got {level!r}")
    split = data.get("split") or {}
    if not isinstance(split, dict):
        raise ConfigError(f"{source}: split must be a mapping {{scheme, seed, fractions}}")
    _no_extra(split, {"scheme", "seed", "fractions"}, f"{source}: split")
    scheme = str(split.get("scheme", "paper"))
    if scheme not in SPLIT_SCHEMES:
        raise ConfigError(f"{source}: split.scheme must be one of {list(SPLIT_SCHEMES)}, got {scheme!r}")
    fractions = split.get("fractions")
    if fractions is not None:
        fractions = {str(k): float(v) for k, v in dict(fractions).items()}
    test_videos = data.get("test_videos", PAPER_TEST_VIDEOS)
    if test_videos is not None and (not isinstance(test_videos, int) or test_videos < 1):
        raise ConfigError(f"{source}: test_videos must be a positive integer or null (all), got {test_videos!r}")
    datasets = tuple(str(d) for d in _as_list(data.get("datasets") or sorted({s.dataset for s in sets.values()})))
    needed = sorted({s.dataset for s in sets.values()} | {s.reals for s in sets.values()})
    missing = [d for d in needed if d not in datasets]
    if missing:
        raise ConfigError(f"{source}: sets use dataset(s) {missing} that 'datasets' does not list")
    return ProtocolSpec(
        name=str(data.get("name") or Path(source).stem),
        title=str(data.get("title") or data.get("name") or Path(source).stem),
        datasets=datasets,
        sets=sets,
        columns=columns,
        rows=rows,
        metric=metric,
        level=level,
        split_scheme=scheme,
        split_seed=int(split.get("seed", 0)),
        split_fractions=fractions,
        test_videos=test_videos,
        test_seed=int(data.get("test_seed", 0)),
        seeds=tuple(int(s) for s in _as_list(data.get("seeds", [0]))),
        overrides=tuple(str(o) for o in data.get("overrides") or ()),
        compressions=tuple(str(c) for c in _as_list(data["compressions"])) if data.get("compressions") else None,
        source=source,
    )


def list_specs() -> list[str]:
    """Names of the specs shipped with the package."""
    folder = resources.files(SPEC_PACKAGE) / SPEC_DIR
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_spec_text(name_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(yaml text, source)`` of a spec file path or a shipped spec name."""
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(encoding="utf-8"), str(path)
    shipped = resources.files(SPEC_PACKAGE) / SPEC_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8"), f"{name_or_path} (shipped)"
    raise ConfigError(f"no spec file {path} and no shipped spec {str(name_or_path)!r}; shipped specs: {list_specs()}")


def parse_spec_text(text: str, source: str) -> ProtocolSpec:
    """Validate a spec given as YAML text; ``source`` names it in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    return parse_spec(data, source)


def load_spec(name_or_path: str | os.PathLike[str]) -> ProtocolSpec:
    """Read and validate a spec: a YAML path, or the name of a shipped spec (``paper-table1``)."""
    return parse_spec_text(*read_spec_text(name_or_path))
