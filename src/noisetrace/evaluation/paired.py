"""Paired comparison of two detectors on the same test videos.

The paper compares RGB and SRM training cell by cell ("SRM significantly outperforms RGB training in
image classification"). Two accuracies measured on the *same* videos are not independent samples, so
the honest comparison is paired, and the unit is the video (its frames are correlated):
:func:`paired_video_test` scores each video by the fraction of its items each detector classifies
correctly, and tests the per-video differences with the Wilcoxon signed-rank test (two-sided; zero
differences split between the signs, ``zero_method="zsplit"``) and a video-bootstrap CI of the mean
difference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from noisetrace.evaluation.metrics import MetricError

__all__ = ["PairedTest", "paired_video_test", "per_video_accuracy"]


def per_video_accuracy(predictions: pd.DataFrame, threshold: float = 0.5) -> pd.Series:
    """Fraction of each video's items (frames or sequences) classified correctly, indexed by uid."""
    correct = (predictions["score"] >= threshold).astype(int) == predictions["label"]
    return correct.groupby(predictions["uid"]).mean()


@dataclass(frozen=True)
class PairedTest:
    """Detector A minus detector B on the same videos."""

    n_videos: int
    mean_a: float
    mean_b: float
    mean_difference: float
    low: float  # 95% video-bootstrap CI of the mean difference
    high: float
    p_value: float  # two-sided Wilcoxon signed-rank over videos
    a_better: int  # videos where A is more accurate
    b_better: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_video_test(
    predictions_a: pd.DataFrame,
    predictions_b: pd.DataFrame,
    threshold: float = 0.5,
    n_resamples: int = 2000,
    seed: int = 0,
) -> PairedTest:
    """Compare two prediction tables (columns uid, label, score) over the videos they share.

    Raises :class:`MetricError` if they share no video; items need not match (a frame model and a
    sequence model can be compared per video).
    """
    a, b = per_video_accuracy(predictions_a, threshold), per_video_accuracy(predictions_b, threshold)
    shared = a.index.intersection(b.index)
    if shared.empty:
        raise MetricError("the two prediction tables share no video; pair cells that scored the same test set.")
    diff = (a[shared] - b[shared]).to_numpy(dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(n_resamples, diff.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    # identical per-video accuracies: no evidence of any difference (the test itself is undefined)
    p_value = 1.0 if np.all(diff == 0) else float(wilcoxon(diff, zero_method="zsplit").pvalue)
    return PairedTest(
        n_videos=int(diff.size),
        mean_a=float(a[shared].mean()),
        mean_b=float(b[shared].mean()),
        mean_difference=float(diff.mean()),
        low=float(low),
        high=float(high),
        p_value=p_value,
        a_better=int((diff > 0).sum()),
        b_better=int((diff < 0).sum()),
    )
