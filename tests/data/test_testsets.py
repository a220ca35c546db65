"""Balanced generalization test sets: N fakes of the held-out method + N reals, seeded and recorded."""

from __future__ import annotations

import pandas as pd
import pytest

from noisetrace.core.errors import ConfigError
from noisetrace.data import TestSetSpec, parse_methods, select_test_set


def _manifest(n_fake: int = 30, n_real: int = 20) -> pd.DataFrame:
    rows = []
    for i in range(n_real):
        rows.append({"uid": f"r{i:03d}", "dataset": "ffpp", "method": "original", "label": 0, "split": "test"})
    for method in ("Deepfakes", "FaceSwap"):
        for i in range(n_fake):
            rows.append({"uid": f"{method}{i:03d}", "dataset": "ffpp", "method": method, "label": 1, "split": "test"})
    rows.append({"uid": "train-fake", "dataset": "ffpp", "method": "Deepfakes", "label": 1, "split": "train"})
    rows.append({"uid": "celeb-real", "dataset": "celebdf", "method": "original", "label": 0, "split": "test"})
    return pd.DataFrame(rows)


def test_balanced_draw_is_seeded_and_stays_in_the_test_split() -> None:
    manifest = _manifest()
    spec = TestSetSpec(parse_methods("ffpp/Deepfakes"), n=10, seed=3)
    first, again = select_test_set(manifest, spec), select_test_set(manifest.sample(frac=1, random_state=1), spec)
    assert first.uids == again.uids  # the manifest's row order does not matter
    assert (first.rows["label"] == 1).sum() == (first.rows["label"] == 0).sum() == 10
    assert set(first.rows.loc[first.rows["label"] == 1, "method"]) == {"Deepfakes"}
    assert set(first.rows["dataset"]) == {"ffpp"} and "train-fake" not in first.uids
    other = select_test_set(manifest, TestSetSpec(parse_methods("ffpp/Deepfakes"), n=10, seed=4))
    assert other.uids != first.uids
    assert first.describe()["uids"] == first.uids and first.describe()["selected"] == {"fake": 10, "real": 10}


def test_too_few_videos_keeps_the_balance_and_warns() -> None:
    drawn = select_test_set(_manifest(n_real=7), TestSetSpec(parse_methods("ffpp/Deepfakes")))
    assert drawn.describe()["selected"] == {"fake": 7, "real": 7}
    assert drawn.available == {"fake": 30, "real": 7}
    assert "only 7 videos per class (asked 150)" in drawn.warnings[0]


def test_all_videos_unusable_ones_and_wildcards() -> None:
    manifest = _manifest()
    everything = select_test_set(manifest, TestSetSpec(parse_methods("ffpp/*"), n=None))
    assert everything.describe()["selected"] == {"fake": 60, "real": 20} and not everything.warnings
    usable = set(manifest["uid"]) - {"Deepfakes000", "r000"}
    drawn = select_test_set(manifest, TestSetSpec(parse_methods("ffpp/Deepfakes"), n=None), usable)
    assert "Deepfakes000" not in drawn.uids and "r000" not in drawn.uids
    with pytest.raises(ConfigError, match="no fake videos of ffpp/NeuralTextures"):
        select_test_set(manifest, TestSetSpec(parse_methods("ffpp/NeuralTextures")))
    with pytest.raises(ConfigError, match="DATASET/METHOD"):
        parse_methods("Deepfakes")
    with pytest.raises(ConfigError, match="no usable real videos"):
        select_test_set(manifest, TestSetSpec(parse_methods("ffpp/Deepfakes"), reals=("dfdc",)))
