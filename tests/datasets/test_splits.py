"""Split logic on synthetic manifests (no files): identity groups, fractions, seeds, leak, official lists."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from noisetrace.core.errors import ConfigError
from noisetrace.core.manifest import REAL_METHOD, make_uid
from noisetrace.datasets.folder import LayoutWarning
from noisetrace.datasets.splits import (
    PAPER_FRACTIONS,
    donor_leak,
    load_ffpp_official,
    official_split,
    paper_split,
)

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceShifter", "FaceSwap", "NeuralTextures")


def _row(dataset: str, method: str, video_id: str, target: str, source: str = "", path: str = "") -> dict:
    return {
        "uid": make_uid(dataset, "", method, video_id),
        "dataset": dataset,
        "method": method,
        "label": 0 if method == REAL_METHOD else 1,
        "video_id": video_id,
        "target_id": target,
        "source_id": source,
        "identity": target,
        "compression": "",
        "split": "",
        "path": path or f"/data/{dataset}/{method}/{video_id}.mp4",
    }


def ffpp_frame(n_ids: int = 1000, methods: tuple[str, ...] = FFPP_METHODS) -> pd.DataFrame:
    """FF++-shaped: reals 000…, and for each pair (2k, 2k+1) the fakes a_b and b_a of every method."""
    ids = [f"{i:03d}" for i in range(n_ids)]
    rows = [_row("ffpp", REAL_METHOD, i, i) for i in ids]
    for a, b in zip(ids[::2], ids[1::2], strict=True):
        for method in methods:
            rows += [_row("ffpp", method, f"{a}_{b}", a, b), _row("ffpp", method, f"{b}_{a}", b, a)]
    return pd.DataFrame(rows)


def dfo_rows(targets: list[str], n_actors: int) -> list[dict]:
    """DF-1.0 end_to_end fakes: target i gets actor i % n_actors (so each actor donates to several)."""
    return [
        _row("dfo", "end_to_end", f"{t}_W{i % n_actors:03d}", t, f"W{i % n_actors:03d}")
        for i, t in enumerate(targets)
    ]


def celebdf_frame(n_celebs: int = 12, videos: int = 4) -> pd.DataFrame:
    """Every celebrity swapped with every other: one connected swap graph."""
    rows = []
    for a in range(n_celebs):
        for n in range(videos):
            rows.append(
                _row(
                    "celebdf",
                    REAL_METHOD,
                    f"id{a}_{n:04d}",
                    f"id{a}",
                    path=f"/c/Celeb-real/id{a}_{n:04d}.mp4",
                )
            )
            for b in range(n_celebs):
                if a != b:
                    name = f"id{a}_id{b}_{n:04d}"
                    rows.append(
                        _row(
                            "celebdf",
                            "Celeb-DF",
                            name,
                            f"id{a}",
                            f"id{b}",
                            path=f"/c/Celeb-synthesis/{name}.mp4",
                        )
                    )
    return pd.DataFrame(rows)


def _split_of(frame: pd.DataFrame, dataset: str = "ffpp") -> dict[str, str]:
    """target id → split, asserting that each target has exactly one."""
    part = frame[frame["dataset"] == dataset]
    per_target = part.groupby("target_id")["split"].unique()
    assert (per_target.map(len) == 1).all(), per_target[per_target.map(len) > 1]
    return per_target.map(lambda s: s[0]).to_dict()


def test_paper_split_keeps_every_identity_and_its_donor_in_one_split() -> None:
    split, report = paper_split(ffpp_frame(200), seed=3)
    of = _split_of(split)  # one split per identity across reals and all five methods
    fakes = split[split["label"] == 1]
    assert (fakes["source_id"].map(of) == fakes["split"]).all()  # a_b and b_a together, donor included
    assert set(split["split"]) == {"train", "val", "test"}
    assert report.leak["ffpp"]["leaked"] == 0
    assert report.groups["ffpp"]["groups"] == 100 and not report.groups["ffpp"]["fallback_to_target_id"]


def test_paper_split_hits_75_10_15_of_videos_for_every_dataset_and_label() -> None:
    frame = pd.concat([ffpp_frame(1000), pd.DataFrame(dfo_rows([f"{i:03d}" for i in range(1000)], 100))])
    split, report = paper_split(frame, seed=0)
    for (_, _), part in split.groupby(["dataset", "label"]):
        shares = part["split"].value_counts(normalize=True)
        for name, fraction in PAPER_FRACTIONS.items():
            assert shares[name] == pytest.approx(fraction, abs=0.02)
    assert report.achieved["all"]["train"] == pytest.approx(0.75, abs=0.01)
    assert report.seed == 0 and report.fractions == PAPER_FRACTIONS


def test_paper_split_is_deterministic_for_a_seed_and_changes_with_it() -> None:
    frame = ffpp_frame(200)
    first, _ = paper_split(frame, seed=7)
    again, _ = paper_split(frame.sample(frac=1, random_state=1), seed=7)  # row order must not matter
    other, _ = paper_split(frame, seed=8)
    assert _split_of(first) == _split_of(again)
    assert _split_of(first) != _split_of(other)


def test_dfo_fakes_follow_their_ffpp_target_and_actor_leak_is_reported() -> None:
    ffpp = ffpp_frame(200, methods=("Deepfakes",))
    frame = pd.concat([ffpp, pd.DataFrame(dfo_rows([f"{i:03d}" for i in range(200)], 10))])
    split, report = paper_split(frame, seed=0)
    of = _split_of(split, "ffpp")
    dfo = split[split["dataset"] == "dfo"]
    assert (dfo["target_id"].map(of) == dfo["split"]).all()
    # 10 actors over 200 targets: every actor donates to train fakes, so every val/test DF-1.0 fake leaks
    assert report.leak["dfo"]["leaked"] == report.leak["dfo"]["eval_fakes_with_donor"] > 0
    assert report.leak["dfo"]["rate"] == 1.0
    leak_of = {(r["dataset"], r["method"]): r["leak_rate"] for r in report.counts}
    assert leak_of == {("ffpp", "original"): None, ("ffpp", "Deepfakes"): 0.0, ("dfo", "end_to_end"): 1.0}


def test_link_dfo_actors_keeps_each_actor_in_one_split() -> None:
    frame = pd.DataFrame(dfo_rows([f"{i:03d}" for i in range(200)], 40))
    split, report = paper_split(frame, seed=0, link_dfo_actors=True)
    assert (split.groupby("source_id")["split"].nunique() == 1).all()
    assert report.leak["dfo"]["leaked"] == 0


def test_fully_connected_swap_graph_falls_back_to_target_ids_and_reports_the_leak() -> None:
    frame = pd.concat(
        [
            celebdf_frame(),
            pd.DataFrame([_row("celebdf", REAL_METHOD, f"{n:05d}", f"yt_{n:05d}") for n in range(40)]),
        ]
    )
    split, report = paper_split(frame, seed=1)
    assert report.groups["celebdf"]["fallback_to_target_id"]
    assert report.groups["celebdf"]["largest_component_video_share"] > 0.5
    of = _split_of(split, "celebdf")  # still: one celebrity's own videos in one split
    assert len(set(of.values())) == 3
    fakes = split[split["label"] == 1]
    evaluated = fakes[fakes["split"].isin(["val", "test"])]
    train = split[split["split"] == "train"]
    train_faces = set(train["target_id"]) | set(train["source_id"]) - {""}  # shown as target or donor
    expected = sum(donor in train_faces for donor in evaluated["source_id"]) / len(evaluated)
    assert report.leak["celebdf"]["rate"] == pytest.approx(expected, abs=1e-4)
    assert report.leak["celebdf"]["eval_fakes_with_donor"] == len(evaluated)
    assert report.leak["celebdf"]["rate"] > 0.5  # every celebrity donates to some train fake


def test_leak_of_a_hand_made_split() -> None:
    frame = pd.DataFrame(
        [
            _row("celebdf", REAL_METHOD, "id0_0000", "id0") | {"split": "train"},
            _row("celebdf", "Celeb-DF", "id1_id0_0000", "id1", "id0")
            | {"split": "test"},  # id0 seen in train
            _row("celebdf", "Celeb-DF", "id2_id3_0000", "id2", "id3")
            | {"split": "val"},  # id3 never in train
            _row("dfdc", "DFDC", "abc", "xyz") | {"split": "test"},  # donor unknown
        ]
    )
    leak = donor_leak(frame)
    assert leak["celebdf"] == {"eval_fakes": 2, "eval_fakes_with_donor": 2, "leaked": 1, "rate": 0.5}
    assert leak["dfdc"]["rate"] is None and leak["dfdc"]["eval_fakes"] == 1


def test_bad_fractions_and_shares_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="sum to 1"):
        paper_split(ffpp_frame(10), fractions={"train": 0.8, "val": 0.1, "test": 0.2})
    with pytest.raises(ConfigError, match="max_component_share"):
        paper_split(ffpp_frame(10), max_component_share=0)


def test_packaged_official_lists_are_the_ffpp_repository_lists(shared_data) -> None:
    official = load_ffpp_official()
    assert len(official) == 1000
    for name in ("train", "val", "test"):
        pairs = json.loads((shared_data / "splits" / f"FFpp_{name}.json").read_text())
        assert all(official[a] == official[b] == name for a, b in pairs)


def test_official_split_follows_the_ffpp_lists_for_every_method_and_dfo() -> None:
    official = load_ffpp_official()
    frame = pd.concat([ffpp_frame(1000), pd.DataFrame(dfo_rows([f"{i:03d}" for i in range(1000)], 100))])
    split, report = official_split(frame)
    assert (split["target_id"].map(official) == split["split"]).all()
    assert report.scheme == "official"
    counts = split[split["method"] == REAL_METHOD]["split"].value_counts()
    assert counts.to_dict() == {"train": 720, "val": 140, "test": 140}


def test_official_split_leaves_unknown_ids_and_deepfakedetection_unassigned() -> None:
    frame = pd.DataFrame(
        [
            _row("ffpp", REAL_METHOD, "000", "000"),
            _row("ffpp", REAL_METHOD, "1234", "1234"),
            _row("ffpp", "DeepFakeDetection", "01_02__kitchen__ABCDEFGH", "01", "02"),
        ]
    )
    with pytest.warns(LayoutWarning) as caught:
        split, report = official_split(frame)
    messages = " ".join(str(w.message) for w in caught)
    assert "1234" in messages and "DeepFakeDetection" in messages
    assert split["split"].tolist()[1:] == ["", ""]
    assert split["split"].iloc[0] in ("train", "val", "test")
    assert sum(r["unassigned"] for r in report.counts) == 2


def test_official_celebdf_test_list_is_honoured_and_the_rest_split_by_identity() -> None:
    frame = celebdf_frame(n_celebs=12, videos=4)
    test_list = {
        "Celeb-real/id0_0000.mp4": 0,
        "Celeb-synthesis/id1_id2_0001.mp4": 1,
        "Celeb-real/id1_0003.mp4": 0,
    }
    split, _ = official_split(frame, seed=0, celebdf_test_videos=test_list)
    names = split["path"].str.split("/").str[-2:].str.join("/")
    assert set(names[split["split"] == "test"]) == set(test_list)
    rest = split[split["split"] != "test"]
    assert set(rest["split"]) == {"train", "val"}
    assert (rest.groupby("target_id")["split"].nunique() == 1).all()
    assert (rest["split"] == "val").mean() == pytest.approx(0.10, abs=0.06)


def test_official_celebdf_warns_about_list_entries_it_cannot_match() -> None:
    frame = celebdf_frame(n_celebs=3, videos=1)
    test_list = {"Celeb-real/id0_0000.mp4": 1, "YouTube-real/00999.mp4": 0}  # wrong label, absent video
    with pytest.warns(LayoutWarning) as caught:
        official_split(frame, celebdf_test_videos=test_list)
    messages = " ".join(str(w.message) for w in caught)
    assert "disagree" in messages and "not found" in messages


def test_official_split_is_not_defined_for_dfdc() -> None:
    frame = pd.DataFrame([_row("dfdc", REAL_METHOD, "abc", "abc")])
    with pytest.raises(ConfigError, match="--split paper"):
        official_split(frame)


def test_official_split_needs_the_celebdf_test_list() -> None:
    with warnings.catch_warnings(), pytest.raises(ConfigError, match="List_of_testing_videos"):
        official_split(celebdf_frame(3, 1))
