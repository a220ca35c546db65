"""Detection metrics and video-level aggregation; their CIs are :mod:`noisetrace.evaluation.bootstrap`'s.

Every function here is pure: it takes 1-D arrays, validates them the way scikit-learn's
``sklearn/metrics/_ranking.py`` does (same length, 1-D, finite, binary labels, both classes present
where the metric needs them), never writes into them, and raises :class:`MetricError` with a message
that says what to fix.

Conventions, the same as Atamna et al. (ICIP 2023) and the deepfake-detection literature:

* label ``1`` is **fake** (the positive class), label ``0`` is **real**;
* a score is the detector's confidence that the input is fake (higher = more fake);
* a threshold predicts *fake* when ``score >= threshold``.

Frame-level (or sequence-level, for the Xception-LSTM model) metrics treat each row as a sample.
Video-level metrics first collapse each video to one score with :func:`aggregate_by_video`. Video
ids are always passed explicitly; this module never infers them from file paths.

The validation helpers (``_check_pair``, ``_group``, ...) are shared with the bootstrap, which
validates its inputs the same way.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from noisetrace.core.errors import NoisetraceError

__all__ = [
    "AGGREGATION_RULES",
    "AggregationRule",
    "MetricError",
    "accuracy",
    "accuracy_on_class",
    "aggregate_by_video",
    "average_precision",
    "balanced_accuracy",
    "equal_error_rate",
    "roc_auc",
    "roc_curve",
]

AggregationRule = Literal["mean", "median", "max", "confident"]
AGGREGATION_RULES: tuple[str, ...] = ("mean", "median", "max", "confident")


class MetricError(NoisetraceError):
    """Inputs to a metric are malformed, or the metric is undefined for them (e.g. a single class)."""


# --------------------------------------------------------------------------------------------------
# validation


def _as_1d(values: ArrayLike, name: str) -> NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise MetricError(f"{name} must be a 1-D array, got shape {array.shape}; pass one value per sample.")
    if array.size == 0:
        raise MetricError(f"{name} is empty; pass at least one sample.")
    return array


def _check_scores(scores: ArrayLike, name: str = "scores") -> NDArray[np.float64]:
    array = _as_1d(scores, name)
    if array.dtype.kind not in "biuf":
        raise MetricError(f"{name} must be real numbers, got dtype {array.dtype}; pass detector scores as floats.")
    array = array.astype(np.float64)  # a copy: callers' arrays are never touched
    if not np.all(np.isfinite(array)):
        n_bad = int(np.count_nonzero(~np.isfinite(array)))
        raise MetricError(f"{name} contains {n_bad} NaN or infinite value(s); drop or fix those samples first.")
    return array


def _check_labels(labels: ArrayLike) -> NDArray[np.int64]:
    array = _as_1d(labels, "labels")
    if array.dtype.kind not in "biuf":
        raise MetricError(f"labels must be 0 (real) or 1 (fake), got dtype {array.dtype}; encode them as 0/1.")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise MetricError("labels contain NaN or infinite values; every sample needs a 0 (real) or 1 (fake) label.")
    bad = (array != 0) & (array != 1)
    if np.any(bad):
        found = np.unique(array[bad])[:5].tolist()
        raise MetricError(f"labels must be binary, 0 (real) or 1 (fake); found other values {found}.")
    return array.astype(np.int64)


def _check_pair(labels: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    y = _check_labels(labels)
    s = _check_scores(scores)
    if y.shape != s.shape:
        raise MetricError(
            f"labels and scores have different lengths ({y.size} vs {s.size}); pass one score per labelled sample."
        )
    return y, s


def _require_both_classes(y: NDArray[np.int64], metric: str) -> None:
    n_fake = int(np.count_nonzero(y))
    if n_fake == 0 or n_fake == y.size:
        only = "fake (1)" if n_fake else "real (0)"
        raise MetricError(
            f"{metric} is undefined when only one class is present (all {y.size} labels are {only}); "
            "evaluate on a set that holds both real and fake samples."
        )


def _check_threshold(threshold: float) -> float:
    value = float(threshold)
    if not math.isfinite(value):
        raise MetricError(f"threshold must be a finite number, got {threshold!r}.")
    return value


# --------------------------------------------------------------------------------------------------
# threshold metrics


def accuracy(labels: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> float:
    """Fraction of samples classified correctly when ``score >= threshold`` means fake. Higher is better.

    Accuracy at 0.5 is what Atamna et al. report; it depends on class balance, so read it beside
    :func:`balanced_accuracy` and the per-class accuracies.

    >>> accuracy([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])
    0.75
    """
    y, s = _check_pair(labels, scores)
    t = _check_threshold(threshold)
    return float(np.mean((s >= t).astype(np.int64) == y))


def accuracy_on_class(labels: ArrayLike, scores: ArrayLike, cls: int, threshold: float = 0.5) -> float:
    """Accuracy restricted to samples of class ``cls`` (0: reals, 1: fakes). Higher is better.

    ``cls=1`` is the true-positive rate (fakes caught), ``cls=0`` the true-negative rate (reals passed).
    Defined only when at least one sample of ``cls`` is present.

    >>> accuracy_on_class([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9], cls=0)
    0.5
    >>> accuracy_on_class([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9], cls=1)
    1.0
    """
    if cls not in (0, 1) or isinstance(cls, bool):
        raise MetricError(f"cls must be 0 (real) or 1 (fake), got {cls!r}.")
    y, s = _check_pair(labels, scores)
    t = _check_threshold(threshold)
    mask = y == cls
    if not np.any(mask):
        name = "fake (1)" if cls else "real (0)"
        raise MetricError(f"accuracy on class {name} is undefined: no sample has that label.")
    return float(np.mean((s[mask] >= t) == bool(cls)))


def balanced_accuracy(labels: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> float:
    """Mean of the accuracy on reals and the accuracy on fakes. Higher is better; 0.5 is chance.

    Unlike :func:`accuracy` it does not reward predicting the majority class. Needs both classes.

    >>> balanced_accuracy([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4])
    0.5
    """
    y, s = _check_pair(labels, scores)
    _require_both_classes(y, "balanced accuracy")
    return 0.5 * (accuracy_on_class(y, s, 0, threshold) + accuracy_on_class(y, s, 1, threshold))


# --------------------------------------------------------------------------------------------------
# ranking metrics


def _binary_clf_curve(
    y: NDArray[np.int64], s: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """False and true positive counts at each distinct score, thresholds in decreasing order."""
    order = np.argsort(s, kind="mergesort")[::-1]
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each run of equal scores: tied samples cross the threshold together
    distinct = np.flatnonzero(np.diff(s_sorted))
    ends = np.r_[distinct, y_sorted.size - 1]
    tps = np.cumsum(y_sorted)[ends].astype(np.float64)
    fps = (ends + 1).astype(np.float64) - tps
    return fps, tps, s_sorted[ends]


def roc_curve(labels: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(fpr, tpr)`` at every distinct score, from (0, 0) to (1, 1); tied samples move both rates at
    once (scikit-learn's ``roc_curve(drop_intermediate=False)``)."""
    y, s = _check_pair(labels, scores)
    _require_both_classes(y, "a ROC curve")
    fps, tps, _ = _binary_clf_curve(y, s)
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve. Higher is better; 1.0 is perfect, 0.5 is chance.

    Computed as the Mann-Whitney statistic: the probability that a random fake scores above a random
    real, ties counting one half (identical to scikit-learn's ``roc_auc_score``). Threshold-free, so
    it is the paper's main cross-dataset figure. Needs both classes.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s = _check_pair(labels, scores)
    _require_both_classes(y, "ROC AUC")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # average rank (1-based) of each group of tied scores
    avg_rank = np.cumsum(counts) - (counts - 1) / 2.0
    n_pos = float(np.count_nonzero(y))
    n_neg = float(y.size) - n_pos
    rank_sum = float(np.sum(avg_rank[inverse][y == 1]))
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """Average precision with fakes as the positive class. Higher is better; chance is the fake share.

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over distinct thresholds, without interpolation (the same
    definition as scikit-learn's ``average_precision_score``). Needs both classes.

    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    y, s = _check_pair(labels, scores)
    _require_both_classes(y, "average precision")
    fps, tps, _ = _binary_clf_curve(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def equal_error_rate(labels: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """Error rate where false-positive rate equals false-negative rate, and the score threshold there.

    Lower is better; 0.0 is perfect, 0.5 is chance. The ROC curve (one point per distinct score,
    plus the origin) is treated as a polyline; the EER is where it crosses ``FPR = FNR = 1 - TPR``,
    linearly interpolated between the two neighbouring points, and the threshold is interpolated the
    same way (when the crossing lies next to the origin, whose threshold is +inf, the threshold of
    the next point is returned). Needs both classes.

    >>> equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    (0.0, 0.8)
    """
    y, s = _check_pair(labels, scores)
    _require_both_classes(y, "equal error rate")
    fps, tps, thresholds = _binary_clf_curve(y, s)
    fpr = np.r_[0.0, fps / fps[-1]]
    fnr = 1.0 - np.r_[0.0, tps / tps[-1]]
    thr = np.r_[np.inf, thresholds]
    gap = fpr - fnr  # -1 at the origin, +1 at the end: strictly increasing along the curve
    i = int(np.argmax(gap >= 0))
    w = gap[i - 1] / (gap[i - 1] - gap[i])
    eer = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    threshold = thr[i] if not np.isfinite(thr[i - 1]) else thr[i - 1] + w * (thr[i] - thr[i - 1])
    return float(eer), float(threshold)


# --------------------------------------------------------------------------------------------------
# video level


def _group(video_ids: ArrayLike, n: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
    ids = _as_1d(video_ids, "video_ids")
    if ids.size != n:
        raise MetricError(f"video_ids has {ids.size} entries but there are {n} samples; pass one video id per sample.")
    if ids.dtype.kind == "f" and not np.all(np.isfinite(ids)):
        raise MetricError("video_ids contain NaN; give every sample the id of the video it comes from.")
    try:
        unique, inverse = np.unique(ids, return_inverse=True)
    except TypeError as exc:
        raise MetricError(f"video_ids must be mutually comparable (all str or all int): {exc}") from exc
    return unique, inverse.reshape(-1)


def _confident_mean(
    s: NDArray[np.float64], threshold: float, min_confident_share: float, min_real_share: float
) -> float:
    fake = s > threshold
    if np.count_nonzero(fake) > min_confident_share * s.size:
        return float(np.mean(s[fake]))
    real = s < 1.0 - threshold
    if np.count_nonzero(real) > min_real_share * s.size:
        return float(np.mean(s[real]))
    return float(np.mean(s))


def aggregate_by_video(
    video_ids: ArrayLike,
    labels: ArrayLike,
    scores: ArrayLike,
    rule: AggregationRule = "mean",
    confident_threshold: float = 0.8,
    min_confident_share: float = 0.4,
    min_real_share: float = 0.9,
) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.float64]]:
    """Collapse frame (or sequence) scores to one score per video.

    Returns ``(video_ids, labels, scores)`` with one entry per video, ids sorted (``np.unique``
    order). Every frame of a video must carry the same label. Rules:

    * ``"mean"``, ``"median"``, ``"max"``: that statistic of the video's scores. ``max`` flags a
      video as fake as soon as one frame looks fake (sensitive, but punishes reals with one bad frame).
    * ``"confident"``: the rule of the DFDC winner (Selim Seferbekov). With ``t = confident_threshold``
      and ``n`` frames in the video: if more than ``min_confident_share * n`` frames have
      ``score > t``, the mean of those frames; else if more than ``min_real_share * n`` frames have
      ``score < 1 - t``, the mean of those frames; else the mean of all frames. The defaults
      (t = 0.8, 0.4, 0.9) follow the original (``fakes > n // 2.5`` and ``reals > 0.9 n``); its extra
      "and more than 11 fake frames" condition is dropped because it assumes 32 frames per video.
      Scores must be probabilities in [0, 1] for this rule.

    >>> ids, y, s = aggregate_by_video(["b", "a", "b", "a"], [1, 0, 1, 0], [0.9, 0.2, 0.7, 0.4])
    >>> ids.tolist(), y.tolist(), s.round(2).tolist()
    (['a', 'b'], [0, 1], [0.3, 0.8])
    """
    y, s = _check_pair(labels, scores)
    unique, inverse = _group(video_ids, y.size)
    if rule not in AGGREGATION_RULES:
        raise MetricError(f"unknown aggregation rule {rule!r}; choose one of {', '.join(AGGREGATION_RULES)}.")
    n_videos = unique.size
    counts = np.bincount(inverse, minlength=n_videos)
    n_fake = np.bincount(inverse, weights=y, minlength=n_videos)
    mixed = (n_fake > 0) & (n_fake < counts)
    if np.any(mixed):
        examples = unique[mixed][:5].tolist()
        raise MetricError(
            f"{int(np.count_nonzero(mixed))} video(s) have frames with different labels (e.g. {examples}); "
            "labels must be constant within a video."
        )
    video_labels = (n_fake > 0).astype(np.int64)

    if rule == "mean":
        video_scores = np.bincount(inverse, weights=s, minlength=n_videos) / counts
    elif rule == "max":
        video_scores = np.full(n_videos, -np.inf)
        np.maximum.at(video_scores, inverse, s)
    else:
        order = np.argsort(inverse, kind="stable")
        groups = np.split(s[order], np.cumsum(counts)[:-1])
        if rule == "median":
            video_scores = np.array([np.median(g) for g in groups])
        else:
            t = _check_threshold(confident_threshold)
            if not 0.5 <= t < 1.0:
                raise MetricError(f"confident_threshold must be in [0.5, 1), got {confident_threshold!r}.")
            for name, share in (("min_confident_share", min_confident_share), ("min_real_share", min_real_share)):
                if not 0.0 <= share < 1.0:
                    raise MetricError(f"{name} must be in [0, 1), got {share!r}.")
            if s.min() < 0.0 or s.max() > 1.0:
                raise MetricError("the 'confident' rule needs probability scores in [0, 1]; apply a sigmoid first.")
            video_scores = np.array([_confident_mean(g, t, min_confident_share, min_real_share) for g in groups])
    return unique, video_labels, video_scores.astype(np.float64)
