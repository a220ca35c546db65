"""Test sets drawn from a manifest's test split, above all the paper's balanced generalization sets.

Paper, §4.2: "For each test, we construct a perfectly balanced set of 150 videos of the unknown
manipulation and 150 unseen real videos drawn from the same dataset." :func:`select_test_set` does
exactly that, reproducibly: candidates are the test-split videos of the chosen fake methods and of
the chosen datasets' real videos that have face crops (a video without a usable face cannot be
scored), sorted by uid, and ``n`` of each class are drawn without replacement by a generator seeded
with ``seed``. When a class has fewer than ``n`` usable videos, both classes take the smaller count,
so the set stays balanced, and the selection says so in ``warnings``. ``n=None`` keeps every
candidate of both classes (the in-domain test of Table 1's first line, which is not balanced).

A method is named ``dataset/method`` as in the manifest (``ffpp/Deepfakes``, ``dfo/end_to_end``,
``celebdf/Celeb-DF``); ``dataset/*`` is every fake of that dataset.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from noisetrace.core.errors import ConfigError
from noisetrace.core.manifest import REAL_METHOD

__all__ = ["PAPER_TEST_VIDEOS", "TestSet", "TestSetSpec", "parse_methods", "select_test_set"]

PAPER_TEST_VIDEOS = 150
ANY_METHOD = "*"


def parse_methods(text: str) -> tuple[tuple[str, str], ...]:
    """``"ffpp/Deepfakes,dfo/*"`` → ``(("ffpp", "Deepfakes"), ("dfo", "*"))``."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        dataset, sep, method = item.partition("/")
        if not sep or not dataset or not method:
            raise ConfigError(f"a test method is DATASET/METHOD (e.g. ffpp/Deepfakes or dfo/*), got {item!r}")
        pairs.append((dataset, method))
    return tuple(pairs)


@dataclass(frozen=True)
class TestSetSpec:
    """Which videos make a test set; everything that decides the draw, so it can be recorded."""

    fakes: tuple[tuple[str, str], ...]  # (dataset, method) pairs, method may be "*"
    reals: tuple[str, ...] = ()  # datasets whose real videos join; () = the datasets of ``fakes``
    n: int | None = PAPER_TEST_VIDEOS  # videos per class; None = all candidates, unbalanced
    seed: int = 0
    split: str = "test"

    __test__ = False  # not a pytest test class despite its name

    def __post_init__(self) -> None:
        if not self.fakes:
            raise ConfigError("a test set needs at least one fake method (dataset/method)")
        if self.n is not None and self.n < 1:
            raise ConfigError(f"test videos per class must be at least 1 (or all), got {self.n}")

    @property
    def real_datasets(self) -> tuple[str, ...]:
        return self.reals or tuple(sorted({dataset for dataset, _ in self.fakes}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "fakes": [f"{d}/{m}" for d, m in self.fakes],
            "reals": list(self.real_datasets),
            "n": self.n,
            "seed": self.seed,
            "split": self.split,
        }


@dataclass
class TestSet:
    """The drawn videos (manifest rows, split set to ``test``) and how the draw went."""

    rows: pd.DataFrame
    spec: TestSetSpec
    available: dict[str, int]  # usable candidates per class before the draw
    warnings: list[str] = field(default_factory=list)

    __test__ = False

    @property
    def uids(self) -> list[str]:
        return sorted(self.rows["uid"])

    def describe(self) -> dict[str, Any]:
        """What to record beside the predictions: the spec, the counts and every chosen uid."""
        return {
            **self.spec.to_dict(),
            "available": self.available,
            "selected": {
                "fake": int((self.rows["label"] == 1).sum()),
                "real": int((self.rows["label"] == 0).sum()),
            },
            "warnings": self.warnings,
            "uids": self.uids,
        }


def _fake_mask(manifest: pd.DataFrame, fakes: Sequence[tuple[str, str]]) -> pd.Series:
    mask = pd.Series(False, index=manifest.index)
    for dataset, method in fakes:
        hit = (manifest["dataset"] == dataset) & (manifest["label"] == 1)
        if method != ANY_METHOD:
            hit &= manifest["method"] == method
        if not hit.any():
            known = sorted(
                {f"{d}/{m}" for d, m in manifest.loc[manifest["label"] == 1, ["dataset", "method"]].itertuples(False)}
            )
            raise ConfigError(f"no fake videos of {dataset}/{method} in the manifest; it has {known or 'no fakes'}")
        mask |= hit
    return mask


def _draw(candidates: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    ordered = candidates.sort_values("uid")
    chosen = rng.choice(len(ordered), size=n, replace=False)
    return ordered.iloc[np.sort(chosen)]


def select_test_set(
    manifest: pd.DataFrame, spec: TestSetSpec, usable: Collection[str] | None = None
) -> TestSet:
    """Draw the test set ``spec`` describes from ``manifest`` (see the module docstring).

    ``usable``: the uids that can be scored (with crops in the face cache and not excluded by a
    reviewer); ``None`` treats every video as usable.
    """
    in_split = manifest["split"] == spec.split
    fakes = manifest[in_split & _fake_mask(manifest, spec.fakes)]
    reals = manifest[
        in_split & (manifest["label"] == 0) & manifest["dataset"].isin(spec.real_datasets)
        & (manifest["method"] == REAL_METHOD)
    ]  # fmt: skip
    if usable is not None:
        usable_set = set(usable)
        fakes = fakes[fakes["uid"].isin(usable_set)]
        reals = reals[reals["uid"].isin(usable_set)]
    available = {"fake": len(fakes), "real": len(reals)}
    where = f"the {spec.split} split of {', '.join(spec.to_dict()['fakes'])} (reals: {', '.join(spec.real_datasets)})"
    if not len(fakes) or not len(reals):
        raise ConfigError(
            f"no usable {'fake' if not len(fakes) else 'real'} videos in {where}: {available}. "
            "Check the split fractions and that faces were extracted."
        )
    warnings: list[str] = []
    if spec.n is None:
        chosen = pd.concat([fakes, reals])
    else:
        n = min(spec.n, len(fakes), len(reals))
        if n < spec.n:
            warnings.append(
                f"only {n} videos per class (asked {spec.n}) in {where}: "
                f"{available['fake']} usable fake, {available['real']} usable real"
            )
        rng = np.random.default_rng(spec.seed)
        chosen = pd.concat([_draw(fakes, n, rng), _draw(reals, n, rng)])
    rows = chosen.assign(split="test").sort_values("uid").reset_index(drop=True)
    return TestSet(rows=rows, spec=spec, available=available, warnings=warnings)
