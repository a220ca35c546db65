"""ROC points against scikit-learn; the paired RGB-vs-SRM test over videos against SciPy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon
from sklearn.metrics import roc_curve as sk_roc_curve

from noisetrace.evaluation.metrics import MetricError, roc_curve
from noisetrace.evaluation.paired import paired_video_test, per_video_accuracy


@pytest.mark.parametrize("seed", range(5))
def test_roc_curve_agrees_with_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # many ties
    fpr, tpr = roc_curve(labels, scores)
    sk_fpr, sk_tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    with pytest.raises(MetricError, match="one class"):
        roc_curve(np.zeros(4), np.arange(4))


def _predictions(correct_fraction: dict[str, float], frames: int = 10) -> pd.DataFrame:
    rows = []
    for uid, fraction in correct_fraction.items():
        label = 1 if uid.startswith("f") else 0
        for i in range(frames):
            right = i < round(fraction * frames)
            score = 0.9 if right == bool(label) else 0.1
            rows.append({"uid": uid, "label": label, "score": score})
    return pd.DataFrame(rows)


def test_paired_test_is_wilcoxon_over_per_video_accuracy() -> None:
    rng = np.random.default_rng(0)
    videos = [f"f{i}" for i in range(15)] + [f"r{i}" for i in range(15)]
    a = {v: float(rng.integers(3, 11)) / 10 for v in videos}
    b = {v: float(rng.integers(0, 8)) / 10 for v in videos}
    frame_a, frame_b = _predictions(a), _predictions(b)
    assert per_video_accuracy(frame_a).to_dict() == pytest.approx(a)
    result = paired_video_test(frame_a, frame_b.iloc[::-1])  # row order does not matter
    diff = np.array([a[v] - b[v] for v in sorted(videos)])
    assert result.n_videos == 30 and result.mean_difference == pytest.approx(diff.mean())
    assert result.p_value == pytest.approx(wilcoxon(diff, zero_method="zsplit").pvalue)
    assert result.low < result.mean_difference < result.high
    assert result.a_better == int((diff > 0).sum()) and result.b_better == int((diff < 0).sum())
    same = paired_video_test(frame_a, frame_a)
    assert (same.p_value, same.mean_difference) == (1.0, 0.0)
    with pytest.raises(MetricError, match="share no video"):
        paired_video_test(frame_a, _predictions({"f99": 1.0}))
