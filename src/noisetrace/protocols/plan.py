"""A spec + a manifest → the training runs and the test cells of a grid, checked before anything trains.

**Training runs are keyed by content.** A run is the resolved training config (recipe, its overrides,
model, domain, L, seed) and the exact training and validation videos. Its key is a hash of both, so
two rows of a table that train on the same sets (Table 1's DF-1.0 and Celeb-DF rows; Celeb-DF →
every FF++ method) share one run, a run finished by an earlier grid or another spec is reused, and a
changed manifest or recipe can never silently reuse a stale checkpoint. Settings that only decide
where and how fast a run executes (:data:`RUNTIME_KEYS`) are not part of the key.

**Every cell is checked for identity leaks.** A cell trains on the train/val videos of its sets and
tests on videos of the test split. :func:`identity_leaks` lists every identity (the person whose
video it is) found on both sides, and every donor face (``source_id`` of a swap) of one side that is
a person of the other side; :func:`plan_grid` refuses a grid with a cell that has either.

A DeeperForensics-1.0 actor is a donor only: the split follows DF-1.0's FF++ targets (the paper's
rule; :mod:`noisetrace.datasets.splits`), so one actor's face can be swapped onto training videos and
onto test videos of other people. That is no shared person and does not stop the grid, but it is a
face seen in training: :func:`dfo_actor_overlap` measures it, and :func:`leak_report` (what each
cell's ``testset.json`` records under ``leaks``) holds both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from noisetrace.core.errors import ConfigError
from noisetrace.core.manifest import REAL_METHOD
from noisetrace.data.testsets import TestSet, TestSetSpec, select_test_set
from noisetrace.datasets.splits import DFO_ACTOR_SPACE, person_ids
from noisetrace.models import is_sequence_detector
from noisetrace.protocols.spec import ColumnSpec, ProtocolSpec, RowSpec
from noisetrace.training.config import TrainConfig, flat_config, load_config
from noisetrace.training.fit import RESUMABLE_KEYS

__all__ = [
    "RUNTIME_KEYS",
    "Cell",
    "GridPlan",
    "TrainingRun",
    "dfo_actor_overlap",
    "identity_leaks",
    "leak_report",
    "plan_grid",
    "training_rows",
]

TRAIN_SPLITS = ("train", "val")
# How and where a run executes, not what it learns: excluded from the run key. These are the settings a
# resumed run may change, except the number of epochs (a longer run is another run), plus the paths.
RUNTIME_KEYS = (RESUMABLE_KEYS - {"trainer.max_epochs"}) | {"data.manifest", "data.cache"}


@dataclass(frozen=True)
class TrainingRun:
    """One training: a resolved config on a fixed set of train/val videos."""

    key: str
    name: str  # run folder: readable prefix + key
    train_sets: tuple[str, ...]  # set names as the spec first asked for them
    set_keys: tuple[str, ...]  # dataset/method of the fake sets, sorted
    real_datasets: tuple[str, ...]
    config: TrainConfig
    rows: pd.DataFrame  # the manifest rows it trains and validates on

    def describe(self) -> dict[str, Any]:
        """The key's content (written as ``key.json``), plus counts for people."""
        counts = self.rows.groupby(["split", "label"]).size()
        return {
            "key": self.key,
            "train_sets": list(self.train_sets),
            "fakes": list(self.set_keys),
            "reals": list(self.real_datasets),
            "config": _keyed_config(self.config),
            "videos": {f"{split}/{'fake' if label else 'real'}": int(n) for (split, label), n in counts.items()},
            "uids_sha256": _uids_hash(self.rows),
        }


@dataclass(frozen=True)
class Cell:
    """One number of the table: a row's test set scored by a column's trained run."""

    row: RowSpec
    column: ColumnSpec
    seed: int
    run: TrainingRun
    test: TestSet  # drawn once, when the grid is planned; every column of the row shares it
    leaks: dict[str, Any] = field(default_factory=dict, compare=False)  # leak_report(run.rows, test.rows)

    @property
    def test_spec(self) -> TestSetSpec:
        return self.test.spec

    @property
    def id(self) -> str:
        return f"{self.row.id}/{self.column.id}/s{self.seed}"


@dataclass
class GridPlan:
    spec: ProtocolSpec
    runs: dict[str, TrainingRun]  # by key, in first-use order
    cells: list[Cell]

    def cells_of(self, run: TrainingRun) -> list[Cell]:
        return [cell for cell in self.cells if cell.run.key == run.key]


def _keyed_config(cfg: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in sorted(flat_config(cfg).items()) if k not in RUNTIME_KEYS}


def _uids_hash(rows: pd.DataFrame) -> str:
    table = rows.sort_values("uid")[["uid", "label", "split"]].astype(str)
    text = "\n".join(",".join(values) for values in table.itertuples(index=False))
    return hashlib.sha256(text.encode()).hexdigest()


def training_rows(manifest: pd.DataFrame, spec: ProtocolSpec, set_names: Sequence[str]) -> pd.DataFrame:
    """Train and validation videos of the named fake sets and of their datasets' real videos."""
    sets = [spec.sets[name] for name in set_names]
    in_train = manifest["split"].isin(TRAIN_SPLITS)
    fake = pd.Series(False, index=manifest.index)
    for fake_set in sets:
        fake |= (manifest["dataset"] == fake_set.dataset) & (manifest["method"] == fake_set.method)
    real = (manifest["method"] == REAL_METHOD) & manifest["dataset"].isin({s.reals for s in sets})
    return manifest[in_train & (fake & (manifest["label"] == 1) | real & (manifest["label"] == 0))]


def _column_config(spec: ProtocolSpec, column: ColumnSpec, seed: int, overrides: Sequence[str]) -> TrainConfig:
    structural = [f"model.name={column.model}", f"model.domain={column.domain}", f"seed={seed}"]
    if column.seq_len is not None:
        structural.append(f"data.seq_len={column.seq_len}")
    try:
        cfg = load_config(column.recipe, [*structural, *spec.overrides, *column.overrides, *overrides])
        is_sequence_detector(cfg.model.name)
    except ConfigError as exc:
        raise ConfigError(f"column {column.id!r}: {exc}") from exc
    return cfg


def _check_training_rows(rows: pd.DataFrame, train_sets: Sequence[str]) -> None:
    what = ", ".join(train_sets)
    for split in TRAIN_SPLITS:
        part = rows[rows["split"] == split]
        missing = [name for label, name in ((0, "real"), (1, "fake")) if not (part["label"] == label).any()]
        if missing:
            raise ConfigError(
                f"training on {what}: the {split} split has no {' and no '.join(missing)} videos "
                f"({len(part)} videos in all). The dataset is too small for the split fractions: give more "
                "videos, or set split.fractions in the spec (e.g. {train: 0.5, val: 0.25, test: 0.25})."
            )


def identity_leaks(train_rows: pd.DataFrame, test_rows: pd.DataFrame) -> dict[str, list[str]]:
    """People on both sides of a cell, as ``space:id`` (:func:`~noisetrace.datasets.splits.person_ids`):
    shared identities, and donor faces of one side that are a person of the other side."""
    train_targets, train_donors = person_ids(train_rows)
    test_targets, test_donors = person_ids(test_rows)
    train_people, test_people = set(train_targets), set(test_targets)
    return {
        "identity": sorted(train_people & test_people),
        "donor_in_test": sorted((set(test_donors) - {""}) & train_people),
        "donor_in_train": sorted((set(train_donors) - {""}) & test_people),
    }


def dfo_actor_overlap(train_rows: pd.DataFrame, test_rows: pd.DataFrame) -> dict[str, Any]:
    """DeeperForensics-1.0 actors (``dfo-actor:<id>``) whose face is in test fakes and in training
    fakes: ``actors`` (sorted), ``test_fakes`` (test fakes with a DF-1.0 actor as donor), ``leaked``
    (those whose actor is also a training donor) and ``rate`` (``leaked / test_fakes``, ``None`` without any)."""
    _, train_donors = person_ids(train_rows)
    _, test_donors = person_ids(test_rows)
    prefix = f"{DFO_ACTOR_SPACE}:"
    train_actors = {donor for donor in train_donors if donor.startswith(prefix)}
    test_actors = test_donors[test_donors.str.startswith(prefix)]
    leaked = test_actors.isin(train_actors)
    return {
        "actors": sorted(set(test_actors[leaked])),
        "test_fakes": len(test_actors),
        "leaked": int(leaked.sum()),
        "rate": round(float(leaked.mean()), 4) if len(test_actors) else None,
    }


def leak_report(train_rows: pd.DataFrame, test_rows: pd.DataFrame) -> dict[str, Any]:
    """What a cell's ``testset.json`` records as ``leaks``: :func:`identity_leaks` (each list empty in a
    planned grid) and the DF-1.0 actor overlap (:func:`dfo_actor_overlap`) under ``dfo_actors``."""
    return {**identity_leaks(train_rows, test_rows), "dfo_actors": dfo_actor_overlap(train_rows, test_rows)}


def _refuse_leaks(row: RowSpec, leaks: Mapping[str, Any]) -> None:
    if leaks["identity"]:
        raise ConfigError(
            f"row {row.id!r}: identities {leaks['identity'][:5]} are in its training and its test videos; "
            "the manifest's split is not by identity. Re-index with --split paper."
        )
    donors = [
        f"{what} {leaks[key][:5]}"
        for key, what in (
            ("donor_in_test", "donor faces of test fakes that are people of its training videos:"),
            ("donor_in_train", "donor faces of training fakes that are people of its test videos:"),
        )
        if leaks[key]
    ]
    if donors:
        raise ConfigError(
            f"row {row.id!r} would test on faces it trained on: {'; '.join(donors)}. The manifest's split put a "
            "swap's target and donor in different splits (a swap-graph component split by target id, see "
            "'fallback_to_target_id' in the manifest's .split.json): test this row on another dataset."
        )


def plan_grid(
    spec: ProtocolSpec,
    manifest: pd.DataFrame,
    overrides: Sequence[str] = (),
    usable: Collection[str] | None = None,
) -> GridPlan:
    """Resolve every run and cell of ``spec`` on ``manifest``; raise :class:`ConfigError` on a cell
    that cannot be trained or tested (an empty split, a missing method), that shares an identity, or
    whose donor faces on one side are people of the other (:func:`identity_leaks`). Each cell carries
    its :func:`leak_report`.

    ``usable``: uids with face crops (``None`` before extraction: every video counts).
    """
    runs: dict[str, TrainingRun] = {}
    cells: list[Cell] = []
    for seed in spec.seeds:
        for row in spec.rows:
            rows = training_rows(manifest, spec, row.train)
            if usable is not None:
                rows = rows[rows["uid"].isin(set(usable))]
            _check_training_rows(rows, row.train)
            test_spec = TestSetSpec(
                fakes=tuple((spec.sets[name].dataset, spec.sets[name].method) for name in row.test),
                reals=tuple(sorted({spec.sets[name].reals for name in row.test})),
                n=spec.test_videos if row.balanced else None,
                seed=spec.test_seed,
            )
            test = _draw(manifest, test_spec, usable, row)
            leaks = leak_report(rows, test.rows)
            _refuse_leaks(row, leaks)
            for column in spec.columns:
                cfg = _column_config(spec, column, seed, overrides)
                run = _make_run(row.train, rows, spec, cfg)
                run = runs.setdefault(run.key, run)
                cells.append(Cell(row, column, seed, run, test, leaks))
    return GridPlan(spec, runs, cells)


def _draw(manifest: pd.DataFrame, test_spec: TestSetSpec, usable: Collection[str] | None, row: RowSpec) -> TestSet:
    try:
        return select_test_set(manifest, test_spec, usable)
    except ConfigError as exc:
        raise ConfigError(f"row {row.id!r} (test on {row.label_test}): {exc}") from exc


def _make_run(train_sets: Sequence[str], rows: pd.DataFrame, spec: ProtocolSpec, cfg: TrainConfig) -> TrainingRun:
    set_keys = tuple(sorted({spec.sets[name].key for name in train_sets}))
    real_datasets = tuple(sorted({spec.sets[name].reals for name in train_sets}))
    content = {
        "fakes": set_keys,
        "reals": real_datasets,
        "config": _keyed_config(cfg),
        "uids_sha256": _uids_hash(rows),
    }
    key = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]
    length = f"-L{cfg.data.seq_len}" if is_sequence_detector(cfg.model.name) else ""
    name = f"{cfg.model.name}-{cfg.model.domain}{length}-s{cfg.seed}-{key}"
    return TrainingRun(key, name, tuple(train_sets), set_keys, real_datasets, cfg, rows.reset_index(drop=True))
