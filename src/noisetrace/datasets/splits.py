"""Train/val/test splits that keep every face in one split.

The paper (§3.2): "75% of the data is used for training, 10% for validation, and 15% for testing.
Data is split to make sure that content from any one video does not appear in more than one set
[…] and, in the case of FF++ and DF-1.0, the same IDs are used to split the real as well as the
fake videos from all manipulation techniques into the various sets."

``paper`` split
---------------
*Identity graph.* A swap ``a_b`` shows b's face on a's video, and FF++ pairs come as ``a_b`` and
``b_a``; so a face is only kept out of other splits if every id linked to it by any target–source
pair goes to the same split. The nodes are ids in an *id space* (:func:`id_spaces`): FF++ youtube
ids, which DF-1.0 targets share (``ffpp``); the DeepFakeDetection actors (``dfd``); Celeb-DF
(``celebdf``, YouTube-real as ``yt_<n>``); DFDC originals (``dfdc``); ``folder`` identities; and the
DF-1.0 actors (``dfo-actor``). Every row links its target to its source when both are in the same
space; the groups are the connected components (union–find). A group goes to one split for every
method, for DF-1.0 and for the real videos.

*DF-1.0 actors.* DF-1.0 swaps each of its 100 actors onto about ten FF++ targets. Linking actors to
targets would chain FF++ pairs through shared actors into one component holding nearly every id,
so by default they are not linked: the split follows the FF++ target id, as the paper does, and the
actor-face leak (a val/test DF-1.0 fake whose actor also donates to a train fake) is measured and
reported. ``link_dfo_actors=True`` links them, which suits DF-1.0 on its own (its 100 actor groups
stay small) and is what the DF-1.0 release recommends for its own benchmark.

*Fallback.* Where a component holds more than ``max_component_share`` of the videos of its id
space (Celeb-DF swaps almost every celebrity with others; DeepFakeDetection pairs all 28 actors),
one split would receive nearly the whole dataset. That component is then split by target id
instead, and the donor leak it causes is reported. The share counts videos, not identities: Celeb-DF
has 300 YouTube-real identities with no swaps that would otherwise hide its one giant component.

*Assignment.* The unit is the video (the paper's "data" is frames, and every video contributes the
same first N frames, so the video share is the frame share). Groups are sorted by name, shuffled with
``numpy.random.default_rng(seed)``, and each goes to the split whose shortfall against 75/10/15 is
largest, measured per (dataset, label) stratum and weighted by the group's videos in each, so every
dataset and both classes come out near 75/10/15 in a joint index, not just the total.

*Leak rate.* A val/test fake leaks when its donor (``source_id``) is a face seen in train: the target
or donor of any train video in the same id space. The rate is over val/test fakes whose donor is
known (DFDC names none). It is 0 for FF++ under the paper split by construction.

``official`` split
------------------
* FF++: the official lists (``official_splits/ffpp_{train,val,test}.json``: ``dataset/splits/*.json``
  of github.com/ondyari/FaceForensics at e452f05, 360/70/70 pairs, unmodified) hold id pairs
  ``[a, b]``; reals ``a``, ``b`` and fakes ``a_b``, ``b_a`` of every method go to that list's split.
  DF-1.0 fakes follow their target's FF++ split (the paper's shared ids). An id in no list (and
  DeepFakeDetection, which has no official split) is left unassigned (``split == ""``) with a
  warning rather than an error, so partial downloads still index.
* Celeb-DF: the videos of ``List_of_testing_videos.txt`` go to test; the rest go to train/val by
  target identity with the seed (``val_fraction`` of them to val, 10 % by default). The official test
  set shares celebrities with the training set; the reported leak shows how much.
* DFDC and ``folder`` have no official split; asking for one is an error that suggests ``paper``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from noisetrace.core.errors import ConfigError
from noisetrace.datasets.celebdf import relative_name
from noisetrace.datasets.ffpp import DFD_METHOD
from noisetrace.datasets.folder import warn_layout

SPLITS: tuple[str, ...] = ("train", "val", "test")
UNASSIGNED = ""
PAPER_FRACTIONS: dict[str, float] = {"train": 0.75, "val": 0.10, "test": 0.15}
DEFAULT_MAX_COMPONENT_SHARE = 0.5
OFFICIAL_VAL_FRACTION = 0.10
DFO_ACTOR_SPACE = "dfo-actor"
OFFICIAL_DATASETS: tuple[str, ...] = ("ffpp", "dfo", "celebdf")


@dataclass(frozen=True)
class SplitReport:
    """How a manifest was split: enough to reproduce it and to judge how clean it is.

    ``groups`` has one entry per id space (identities, components, largest component's share of
    videos, whether the target-id fallback was used); ``achieved`` the share of videos per split for
    each dataset and ``all``; ``counts`` one row per dataset, label and method; ``leak`` the donor
    leak per dataset and ``all`` (``rate`` is ``None`` when no val/test fake has a known donor).
    """

    scheme: str
    seed: int
    fractions: dict[str, float]
    settings: dict[str, Any]
    groups: dict[str, dict[str, Any]]
    achieved: dict[str, dict[str, float]]
    counts: list[dict[str, Any]]
    leak: dict[str, dict[str, Any]]
    sources: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (written beside the manifest as ``<manifest>.split.json``)."""
        return asdict(self)


def id_spaces(dataset: str, method: str, video_id: str) -> tuple[str, str]:
    """The id spaces of a row's target and source (module docstring).

    DF-1.0 targets are FF++ ids, its donors DF-1.0 actors. DeepFakeDetection rows are the only FF++
    names with ``__`` (``01__kitchen_pan``, ``01_02__scene__exp``), and their actor numbers are a
    different population from the youtube ids.
    """
    if dataset == "dfo":
        return "ffpp", DFO_ACTOR_SPACE
    if dataset == "ffpp" and (method == DFD_METHOD or "__" in video_id):
        return "dfd", "dfd"
    return dataset, dataset


def person_ids(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``space:id`` of every row's target and source (``""`` where the source is unknown): the people a
    video shows, comparable across datasets (a DF-1.0 target is an FF++ person, a Celeb-DF ``id0`` is
    not an FF++ ``000``)."""
    targets, sources = [], []
    for dataset, method, video_id, target, source in zip(
        frame["dataset"],
        frame["method"],
        frame["video_id"],
        frame["target_id"],
        frame["source_id"],
        strict=True,
    ):
        target_space, source_space = id_spaces(dataset, method, video_id)
        targets.append(f"{target_space}:{target}")
        sources.append(f"{source_space}:{source}" if source else "")
    return pd.Series(targets, index=frame.index), pd.Series(sources, index=frame.index)


def _space(node: str) -> str:
    return node.split(":", 1)[0]


class _UnionFind:
    """Disjoint sets whose representative is always the smallest name in the set, so group keys do
    not depend on the order in which rows were read."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self._parent.setdefault(node, node)
        root = node
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[node] != root:
            self._parent[node], node = root, self._parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            self._parent[high] = low


def identity_groups(
    frame: pd.DataFrame,
    max_component_share: float = DEFAULT_MAX_COMPONENT_SHARE,
    link_dfo_actors: bool = False,
) -> tuple[pd.Series, dict[str, dict[str, Any]]]:
    """The split group of every row, and per id space what the grouping found (module docstring)."""
    if not 0 < max_component_share <= 1:
        raise ConfigError(f"max_component_share must be in (0, 1]; got {max_component_share}")
    targets, sources = person_ids(frame)
    sets = _UnionFind()
    for target, source in zip(targets, sources, strict=True):
        sets.find(target)
        if source and (_space(source) == _space(target) or link_dfo_actors):
            sets.union(target, source)

    table = pd.DataFrame({"space": targets.map(_space), "component": targets.map(sets.find), "target": targets})
    groups = table["component"].copy()
    stats: dict[str, dict[str, Any]] = {}
    for space, rows in table.groupby("space", sort=True):
        sizes = rows["component"].value_counts()
        shares = sizes / len(rows)
        identities = rows.groupby("component")["target"].nunique()
        too_big = [c for c in shares.index if shares[c] > max_component_share and identities[c] > 1]
        in_big = rows["component"].isin(too_big)
        groups[rows.index[in_big]] = rows.loc[in_big, "target"]
        stats[str(space)] = {
            "identities": int(rows["target"].nunique()),
            "components": len(sizes),
            "largest_component_video_share": round(float(shares.max()), 4),
            "fallback_to_target_id": bool(too_big),
            "groups": int(groups[rows.index].nunique()),
        }
    return groups, stats


def _check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    if set(fractions) != set(SPLITS) or any(v < 0 for v in fractions.values()):
        raise ConfigError(f"split fractions need non-negative train, val and test; got {dict(fractions)}")
    if abs(sum(fractions.values()) - 1) > 1e-6 or fractions["train"] <= 0:
        raise ConfigError(f"split fractions must sum to 1 with train > 0; got {dict(fractions)}")
    return {s: float(fractions[s]) for s in SPLITS}


def _assign(
    groups: pd.Series, strata: pd.Series, fractions: Mapping[str, float], rng: np.random.Generator
) -> dict[str, str]:
    """Group → split: shuffled groups, each to the split with the largest weighted shortfall."""
    counts = pd.crosstab(groups, strata)  # sorted group names, so only the seed decides the order
    share = counts.to_numpy(dtype=float) / counts.to_numpy(dtype=float).sum(axis=0)
    target = np.array([fractions[s] for s in SPLITS])
    closed = target <= 0
    assigned = np.zeros((len(SPLITS), share.shape[1]))
    mapping = {}
    for i in rng.permutation(len(counts)):
        score = (target[:, None] - assigned) @ share[i]
        score[closed] = -np.inf
        choice = int(np.argmax(score))
        assigned[choice] += share[i]
        mapping[counts.index[i]] = SPLITS[choice]
    return mapping


def _strata(frame: pd.DataFrame) -> pd.Series:
    return frame["dataset"] + "/" + frame["label"].astype(str)


def count_table(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Videos per dataset, label, method and split (``unassigned`` for ``split == ""``), with the
    donor-leak rate of each method's val/test fakes (``None`` for reals and unknown donors)."""
    columns = [*SPLITS, "unassigned"]
    table = (
        frame.assign(split=frame["split"].replace(UNASSIGNED, "unassigned"))
        .groupby(["dataset", "label", "method", "split"])
        .size()
        .unstack("split", fill_value=0)
        .reindex(columns=columns, fill_value=0)
    )
    flags = _leak_flags(frame)
    leaks = {
        key: _leak_summary(part)["rate"]
        for key, part in flags.groupby([frame["dataset"], frame["label"], frame["method"]])
    }
    return [
        {
            "dataset": d,
            "method": m,
            "label": int(lab),
            **{c: int(row[c]) for c in columns},
            "total": int(row.sum()),
            "leak_rate": leaks[(d, lab, m)],
        }
        for (d, lab, m), row in table.iterrows()
    ]


def _achieved(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    result = {}
    for key, part in [("all", frame), *frame.groupby("dataset", sort=True)]:
        shares = part["split"].value_counts(normalize=True)
        result[str(key)] = {s: round(float(shares.get(s, 0.0)), 4) for s in SPLITS}
    return result


def _leak_flags(frame: pd.DataFrame) -> pd.DataFrame:
    """Per row: a val/test fake; …whose donor is known; …whose donor face is seen in train."""
    targets, sources = person_ids(frame)
    in_train = frame["split"] == "train"
    train_faces = set(targets[in_train]) | set(sources[in_train & (sources != "")])
    evaluated = (frame["label"] == 1) & frame["split"].isin(["val", "test"])
    with_donor = evaluated & (sources != "")
    return pd.DataFrame(
        {
            "eval_fakes": evaluated,
            "eval_fakes_with_donor": with_donor,
            "leaked": with_donor & sources.isin(train_faces),
        }
    )


def _leak_summary(flags: pd.DataFrame) -> dict[str, Any]:
    known, bad = int(flags["eval_fakes_with_donor"].sum()), int(flags["leaked"].sum())
    return {
        "eval_fakes": int(flags["eval_fakes"].sum()),
        "eval_fakes_with_donor": known,
        "leaked": bad,
        "rate": round(bad / known, 4) if known else None,
    }


def donor_leak(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per dataset and ``all``: val/test fakes whose donor face is seen in train (module docstring)."""
    flags = _leak_flags(frame)
    result = {"all": _leak_summary(flags)}
    for dataset, part in flags.groupby(frame["dataset"], sort=True):
        result[str(dataset)] = _leak_summary(part)
    return result


def _report(
    scheme: str,
    seed: int,
    fractions: dict[str, float],
    frame: pd.DataFrame,
    groups: dict[str, dict[str, Any]],
    settings: dict[str, Any],
) -> SplitReport:
    return SplitReport(
        scheme=scheme,
        seed=seed,
        fractions=fractions,
        settings=settings,
        groups=groups,
        achieved=_achieved(frame),
        counts=count_table(frame),
        leak=donor_leak(frame),
    )


def paper_split(
    frame: pd.DataFrame,
    seed: int = 0,
    fractions: Mapping[str, float] = PAPER_FRACTIONS,
    max_component_share: float = DEFAULT_MAX_COMPONENT_SHARE,
    link_dfo_actors: bool = False,
) -> tuple[pd.DataFrame, SplitReport]:
    """Assign ``split`` by identity groups, 75/10/15 of the videos by default (module docstring)."""
    fractions = _check_fractions(fractions)
    out = frame.reset_index(drop=True).copy()
    groups, group_stats = identity_groups(out, max_component_share, link_dfo_actors)
    mapping = _assign(groups, _strata(out), fractions, np.random.default_rng(seed))
    out["split"] = groups.map(mapping)
    settings = {
        "unit": "videos",
        "max_component_share": max_component_share,
        "link_dfo_actors": link_dfo_actors,
    }
    return out, _report("paper", seed, fractions, out, group_stats, settings)


def load_ffpp_official() -> dict[str, str]:
    """FF++ id → split from the packaged official lists; each pair ``[a, b]`` puts a and b there."""
    folder = resources.files("noisetrace.datasets").joinpath("official_splits")
    mapping = {}
    for split in SPLITS:
        for pair in json.loads(folder.joinpath(f"ffpp_{split}.json").read_text(encoding="utf-8")):
            mapping.update(dict.fromkeys(pair, split))
    return mapping


def _celebdf_official(
    out: pd.DataFrame, test_videos: Mapping[str, int], val_fraction: float, rng: np.random.Generator
) -> None:
    """Test list → test; the rest → train/val by target identity. Writes ``out['split']`` in place."""
    celeb = out["dataset"] == "celebdf"
    names = out.loc[celeb, "path"].map(relative_name)
    listed = names.isin(list(test_videos))
    mislabelled = [
        n for n, lab in zip(names[listed], out.loc[names[listed].index, "label"], strict=True) if test_videos[n] != lab
    ]
    if mislabelled:
        warn_layout(f"{len(mislabelled)} Celeb-DF test-list label(s) disagree with the folders: {mislabelled[:3]}")
    unmatched = sorted(set(test_videos) - set(names))
    if unmatched:
        warn_layout(f"{len(unmatched)} video(s) of the Celeb-DF test list were not found: {unmatched[:3]}")
    test_index = names.index[listed]
    out.loc[test_index, "split"] = "test"
    rest = celeb & ~out.index.isin(test_index)
    if rest.any():
        targets, _ = person_ids(out[rest])
        fractions = {"train": 1 - val_fraction, "val": val_fraction, "test": 0.0}
        out.loc[rest, "split"] = targets.map(_assign(targets, _strata(out[rest]), fractions, rng))


def official_split(
    frame: pd.DataFrame,
    seed: int = 0,
    celebdf_test_videos: Mapping[str, int] | None = None,
    val_fraction: float = OFFICIAL_VAL_FRACTION,
) -> tuple[pd.DataFrame, SplitReport]:
    """Assign ``split`` from the datasets' own lists (module docstring).

    ``celebdf_test_videos`` maps ``<folder>/<file>`` to label, as
    :func:`noisetrace.datasets.celebdf.read_test_list` returns it; it is required for Celeb-DF rows.
    """
    unsupported = sorted(set(frame["dataset"]) - set(OFFICIAL_DATASETS))
    if unsupported:
        raise ConfigError(
            f"no official split is defined for {', '.join(unsupported)}; use --split paper (75/10/15 by identity)"
        )
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"val_fraction must be in [0, 1); got {val_fraction}")
    out = frame.reset_index(drop=True).copy()
    out["split"] = UNASSIGNED
    spaces = person_ids(out)[0].map(_space)

    in_ffpp_space = spaces == "ffpp"
    out.loc[in_ffpp_space, "split"] = out.loc[in_ffpp_space, "target_id"].map(load_ffpp_official()).fillna(UNASSIGNED)
    unlisted = in_ffpp_space & (out["split"] == UNASSIGNED)
    if unlisted.any():
        ids = sorted(out.loc[unlisted, "target_id"].unique())
        warn_layout(
            f"{int(unlisted.sum())} FF++/DF-1.0 video(s) of {len(ids)} id(s) are in no official FF++ "
            f"list ({', '.join(ids[:5])}); left unassigned"
        )
    dfd = spaces == "dfd"
    if dfd.any():
        warn_layout(
            f"{int(dfd.sum())} DeepFakeDetection video(s) have no official split; left unassigned "
            f"(--split paper includes them)"
        )

    if (out["dataset"] == "celebdf").any():
        if celebdf_test_videos is None:
            raise ConfigError("the official Celeb-DF split needs its List_of_testing_videos.txt")
        _celebdf_official(out, celebdf_test_videos, val_fraction, np.random.default_rng(seed))

    settings = {
        "unit": "videos",
        "ffpp_lists": "official_splits/ffpp_{train,val,test}.json",
        "celebdf_val_fraction": val_fraction,
    }
    return out, _report("official", seed, {}, out, {}, settings)
