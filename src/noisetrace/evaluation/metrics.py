"""Detection metrics, video-level aggregation and a video-clustered bootstrap.

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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from noisetrace.core.errors import NoisetraceError

__all__ = [
    "AGGREGATION_RULES",
    "Interval",
    "MetricError",
    "accuracy",
    "accuracy_on_class",
    "aggregate_by_video",
    "average_precision",
    "balanced_accuracy",
    "bootstrap_ci",
    "compute_metrics",
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


# --------------------------------------------------------------------------------------------------
# bootstrap

MetricFn = Callable[[NDArray[np.int64], NDArray[np.float64]], float]

# Most elements (8 bytes each) of one block of resamples × rows. The weighted path works in four such
# arrays, allocated once and reused by every block: 64 MB however many rows and resamples there are.
_BLOCK_ELEMENTS = 1 << 21

_THRESHOLD_KINDS = ("accuracy", "balanced_accuracy", "accuracy_real", "accuracy_fake")
_RANKING_KINDS = ("roc_auc", "average_precision", "eer")


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap confidence interval around a point estimate.

    ``n_valid`` is the number of resamples on which the metric was defined; resamples that drew a
    single class (for AUC, AP, EER, balanced accuracy) are skipped, not counted as failures.
    """

    low: float
    high: float
    point: float
    n_valid: int

    def as_dict(self) -> dict[str, float | int]:
        return {"value": self.point, "low": self.low, "high": self.high, "n_valid": self.n_valid}


def _eer(labels: ArrayLike, scores: ArrayLike) -> float:
    """The equal error rate alone (first element of :func:`equal_error_rate`), as a bootstrap metric."""
    return equal_error_rate(labels, scores)[0]


@dataclass(frozen=True)
class _Weighted:
    """A metric of this module that the bootstrap evaluates from per-row weights: its kind and threshold."""

    kind: str  # one of _THRESHOLD_KINDS or _RANKING_KINDS
    threshold: float = 0.5


def _weighted_form(metric: Callable[..., Any]) -> _Weighted | None:
    """The weighted form of ``metric`` when it is one of this module's metrics, else ``None``.

    Recognised: :func:`roc_auc`, :func:`average_precision`, the EER of :func:`equal_error_rate` (as
    used by :func:`compute_metrics`), :func:`accuracy` and :func:`balanced_accuracy`, and
    ``functools.partial`` of the threshold metrics (``accuracy_on_class`` with ``cls``) that only
    set keywords. Any other callable, a lambda wrapping one of them included, takes the plain loop.
    """
    func, args, keywords = metric, (), {}
    if isinstance(metric, partial):
        func, args, keywords = metric.func, metric.args, dict(metric.keywords)
    if args:
        return None
    threshold = keywords.pop("threshold", 0.5)
    kind = None
    if func is accuracy_on_class:
        cls = keywords.pop("cls", None)
        if cls is None or isinstance(cls, bool) or cls not in (0, 1):
            return None
        kind = "accuracy_fake" if cls == 1 else "accuracy_real"
    else:
        for known, name in ((accuracy, "accuracy"), (balanced_accuracy, "balanced_accuracy")):
            if func is known:
                kind = name
        for known, name in ((roc_auc, "roc_auc"), (average_precision, "average_precision"), (_eer, "eer")):
            if func is known and not isinstance(metric, partial):
                kind = name
    if kind is None or keywords:
        return None
    try:
        return _Weighted(kind, _check_threshold(threshold))
    except (MetricError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _WeightTable:
    """What the weighted metrics need of one ``(video_ids, labels, scores)`` table, computed once.

    ``per_video`` holds, per video, the number of reals and of fakes, then the number of correctly
    classified reals and fakes at each of ``thresholds``: a threshold metric of a resample is a ratio
    of these counts weighted by the video's repetitions, i.e. one matrix product per block.
    The ranking metrics use the rows sorted once by decreasing score: ``fake_rows`` and ``real_rows``
    give each sorted row's video if it is a fake (a real) and else ``n_videos``, the index of a zero
    column appended to the weights, so one gather gives the fakes' (reals') weights. ``starts`` is the
    first row of each run of tied scores (``None`` when there are no ties): tied rows are summed into
    one point and cross a threshold together, as in :func:`_binary_clf_curve`.
    """

    per_video: NDArray[np.float64]
    thresholds: tuple[float, ...]
    fake_rows: NDArray[np.intp] | None
    real_rows: NDArray[np.intp] | None
    starts: NDArray[np.intp] | None

    @property
    def n_points(self) -> int:
        """Points of the curve: distinct scores (0 without ranking metrics)."""
        if self.fake_rows is None:
            return 0
        return self.fake_rows.size if self.starts is None else self.starts.size

    @classmethod
    def build(
        cls,
        inverse: NDArray[np.intp],
        y: NDArray[np.int64],
        s: NDArray[np.float64],
        n_videos: int,
        forms: list[_Weighted],
    ) -> _WeightTable:
        thresholds = tuple(dict.fromkeys(f.threshold for f in forms if f.kind in _THRESHOLD_KINDS))
        fake = y == 1
        columns = [
            np.bincount(inverse, weights=~fake, minlength=n_videos),
            np.bincount(inverse, weights=fake, minlength=n_videos),
        ]
        for t in thresholds:
            predicted_fake = s >= t
            columns.append(np.bincount(inverse, weights=~fake & ~predicted_fake, minlength=n_videos))
            columns.append(np.bincount(inverse, weights=fake & predicted_fake, minlength=n_videos))
        fake_rows = real_rows = starts = None
        if any(f.kind in _RANKING_KINDS for f in forms):
            order = np.argsort(s, kind="mergesort")[::-1]
            video, fake_desc = inverse[order].astype(np.intp), fake[order]
            fake_rows = np.where(fake_desc, video, n_videos)
            real_rows = np.where(fake_desc, n_videos, video)
            distinct = np.flatnonzero(np.diff(s[order]))
            if distinct.size < s.size - 1:
                starts = np.r_[0, distinct + 1].astype(np.intp)
        return cls(np.stack(columns, axis=1).astype(np.float64), thresholds, fake_rows, real_rows, starts)


class _Workspace:
    """Four arrays of ``block × rows`` floats, reused by every block (no allocation per block)."""

    def __init__(self, block: int, n_rows: int) -> None:
        self.buffers = [np.empty(block * n_rows) for _ in range(4)]

    def get(self, i: int, shape: tuple[int, int]) -> NDArray[np.float64]:
        return self.buffers[i][: shape[0] * shape[1]].reshape(shape)


def _first_crossing(
    fps: NDArray[np.float64], tps: NDArray[np.float64], neg: NDArray[np.float64], pos: NDArray[np.float64]
) -> NDArray[np.intp]:
    """Per resample (row), the first point whose ``gap = fpr - fnr`` is ``>= 0``, by binary search.

    ``gap`` is computed exactly as :func:`equal_error_rate` computes it; it is non-decreasing along
    the curve (both rates are, and float division and subtraction are monotone), and the last point
    has ``gap = 1``, so halving finds the same point as a linear scan, in ``log2(points)`` gathers.
    """
    r = np.arange(fps.shape[0])
    lo = np.zeros(fps.shape[0], dtype=np.intp)
    hi = np.full(fps.shape[0], fps.shape[1] - 1, dtype=np.intp)
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        crossed = fps[r, mid] / neg - (1.0 - tps[r, mid] / pos) >= 0
        hi = np.where(crossed, mid, hi)
        lo = np.where(crossed, lo, mid + 1)
    return hi


def _ranking_values(
    table: _WeightTable, weights: NDArray[np.float64], kinds: set[str], work: _Workspace
) -> dict[str, NDArray[Any]]:
    """ROC AUC, AP and EER of each resample of a block, ``NaN`` where a single class was drawn.

    ``weights[r, v]`` is how often resample ``r`` drew video ``v``; a resample is the table with each
    row repeated that many times. With the rows sorted once by decreasing score, cumulative sums of
    the weights give the weighted true and false positive counts at every distinct score (the curve of
    :func:`_binary_clf_curve` of the repeated rows, plus a repeated point for each score the resample
    did not draw, which changes none of the three metrics). Counts are integers, exact in float64.
    """
    n_block, n_points = weights.shape[0], table.n_points
    padded = np.concatenate([weights, np.zeros((n_block, 1))], axis=1)  # column n_videos: weight 0
    shape = (n_block, n_points)
    if table.starts is None:  # every row is a point of the curve: the steps are the rows' weights
        d_tps = np.take(padded, table.fake_rows, axis=1, out=work.get(0, shape))
        d_fps = np.take(padded, table.real_rows, axis=1, out=work.get(1, shape))
    else:  # one point per distinct score: the weights of tied rows are summed
        rows = (n_block, table.fake_rows.size)
        d_tps = np.take(padded, table.fake_rows, axis=1, out=work.get(2, rows))
        d_tps = np.add.reduceat(d_tps, table.starts, axis=1, out=work.get(0, shape))
        d_fps = np.take(padded, table.real_rows, axis=1, out=work.get(3, rows))
        d_fps = np.add.reduceat(d_fps, table.starts, axis=1, out=work.get(1, shape))
    tps = np.cumsum(d_tps, axis=1, out=work.get(2, shape))
    fps = np.cumsum(d_fps, axis=1, out=work.get(3, shape))
    n_pos, n_neg = tps[:, -1], fps[:, -1]
    valid = (n_pos > 0) & (n_neg > 0)
    pos, neg = np.where(valid, n_pos, 1.0), np.where(valid, n_neg, 1.0)
    out: dict[str, NDArray[Any]] = {}
    if "roc_auc" in kinds:
        # trapezoids under the (fps, tps) curve, sum of d_fps * (tps + previous tps): each real counts
        # the fakes above it, ties 1/2. Twice the area is an integer: the Mann-Whitney statistic of
        # the repeated rows. Without ties a point holds one row, a real or a fake, so d_fps * d_tps = 0.
        twice = 2.0 * np.einsum("ij,ij->i", d_fps, tps)
        if table.starts is not None:
            twice -= np.einsum("ij,ij->i", d_fps, d_tps)
        out["roc_auc"] = np.where(valid, twice / (2.0 * pos * neg), np.nan)
    if "average_precision" in kinds:
        # sum over thresholds of (recall step) × precision; before the first drawn row tps + fps = 0,
        # and there the recall step is 0 too, so the precision's denominator may be floored at 1
        precision = np.add(tps, fps, out=d_fps)  # d_fps is not needed any more
        np.maximum(precision, 1.0, out=precision)
        np.divide(tps, precision, out=precision)
        out["average_precision"] = np.where(valid, np.einsum("ij,ij->i", d_tps, precision) / pos, np.nan)
    if "eer" in kinds:
        # the interpolation of equal_error_rate between the first point with gap >= 0 and the one
        # before it (the origin, fps = tps = 0, before the first point)
        r = np.arange(n_block)
        k1 = _first_crossing(fps, tps, neg, pos)
        k0 = np.maximum(k1 - 1, 0)
        at_origin = k1 == 0
        f0, t0 = np.where(at_origin, 0.0, fps[r, k0]), np.where(at_origin, 0.0, tps[r, k0])
        f1, t1 = fps[r, k1], tps[r, k1]
        with np.errstate(divide="ignore", invalid="ignore"):
            fpr0, fpr1 = f0 / neg, f1 / neg
            gap0, gap1 = fpr0 - (1.0 - t0 / pos), fpr1 - (1.0 - t1 / pos)
            w = gap0 / (gap0 - gap1)
            out["eer"] = np.where(valid, fpr0 + w * (fpr1 - fpr0), np.nan)
    return out


def _weighted_values(
    forms: list[_Weighted], table: _WeightTable, weights: NDArray[np.float64], work: _Workspace
) -> NDArray[np.float64]:
    """Values of ``forms`` (rows) on each resample of a block (columns); ``NaN`` where undefined."""
    counts = weights @ table.per_video  # weighted counts per resample: exact integers
    reals, fakes = counts[:, 0], counts[:, 1]
    ranking = {f.kind for f in forms if f.kind in _RANKING_KINDS}
    ranked = _ranking_values(table, weights, ranking, work) if ranking else {}
    out = np.full((len(forms), weights.shape[0]), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, form in enumerate(forms):
            if form.kind in ranked:
                out[j] = ranked[form.kind]
                continue
            at = 2 + 2 * table.thresholds.index(form.threshold)
            right_reals, right_fakes = counts[:, at], counts[:, at + 1]
            if form.kind == "accuracy":
                out[j] = (right_reals + right_fakes) / (reals + fakes)
            elif form.kind == "accuracy_real":
                out[j] = np.where(reals > 0, right_reals / reals, np.nan)
            elif form.kind == "accuracy_fake":
                out[j] = np.where(fakes > 0, right_fakes / fakes, np.nan)
            else:
                both = (reals > 0) & (fakes > 0)
                out[j] = np.where(both, 0.5 * (right_reals / reals + right_fakes / fakes), np.nan)
    return out


def _draw_blocks(n_videos: int, n_resamples: int, seed: int, block: int) -> Iterator[NDArray[np.int64]]:
    """``rng.integers(0, n_videos, size=(n_resamples, n_videos))`` of ``default_rng(seed)``, ``block`` rows at a time.

    Successive calls on one generator continue its stream, so the blocks are exactly the rows of the
    single call, without holding ``n_resamples × n_videos`` integers at once.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, block):
        yield rng.integers(0, n_videos, size=(min(block, n_resamples - start), n_videos))


def _bootstrap_intervals(
    metrics: list[MetricFn],
    video_ids: ArrayLike,
    labels: ArrayLike,
    scores: ArrayLike,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[Interval | MetricError]:
    """:func:`bootstrap_ci` of several metrics on the same resamples; a metric that is undefined gets its error.

    Validation errors of the inputs are raised. The metrics of this module are evaluated as weighted
    metrics (see :func:`bootstrap_ci`) on blocks of resamples; any other callable is called on the
    concatenated rows of each resample.
    """
    y, s = _check_pair(labels, scores)
    _, inverse = _group(video_ids, y.size)
    if int(n_resamples) < 1:
        raise MetricError(f"n_resamples must be at least 1, got {n_resamples!r}.")
    if not 0.0 < confidence < 1.0:
        raise MetricError(f"confidence must be in (0, 1), got {confidence!r}.")
    n_resamples = int(n_resamples)
    points: list[float | MetricError] = []
    for metric in metrics:
        try:
            points.append(float(metric(y, s)))
        except MetricError as exc:
            points.append(exc)
    defined = [j for j, point in enumerate(points) if not isinstance(point, MetricError)]
    forms = {j: _weighted_form(metrics[j]) for j in defined}
    fast = [j for j in defined if forms[j] is not None]
    slow = [j for j in defined if forms[j] is None]
    values: dict[int, list[float]] = {j: [] for j in defined}

    n_videos = int(inverse.max()) + 1
    fast_forms = [f for j in fast if (f := forms[j]) is not None]
    table = _WeightTable.build(inverse, y, s, n_videos, fast_forms) if fast else None
    width = y.size if table is not None and table.n_points else n_videos
    block = max(1, min(n_resamples, _BLOCK_ELEMENTS // width))
    work = _Workspace(block, y.size) if table is not None and table.n_points else _Workspace(0, 0)
    if slow:  # the plain path: frame positions (into `order`) of the drawn videos, concatenated
        order = np.argsort(inverse, kind="stable")
        sizes = np.bincount(inverse, minlength=n_videos)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
    for draws in _draw_blocks(n_videos, n_resamples, seed, block):
        if table is not None:
            offsets = draws + n_videos * np.arange(draws.shape[0])[:, None]
            weights = np.bincount(offsets.ravel(), minlength=draws.size).reshape(draws.shape).astype(np.float64)
            block_values = _weighted_values(fast_forms, table, weights, work)
            for row, j in zip(block_values, fast, strict=True):
                values[j].extend(row[~np.isnan(row)].tolist())
        for drawn in draws if slow else ():
            counts = sizes[drawn]
            offsets = np.repeat(starts[drawn] - np.r_[0, np.cumsum(counts)[:-1]], counts)
            idx = order[offsets + np.arange(int(counts.sum()))]
            for j in slow:
                try:
                    values[j].append(float(metrics[j](y[idx], s[idx])))
                except MetricError:
                    continue

    results: list[Interval | MetricError] = []
    alpha = (1.0 - confidence) / 2.0
    for j, point in enumerate(points):
        if isinstance(point, MetricError):
            results.append(point)
        elif not values[j]:
            results.append(
                MetricError(
                    f"the metric was undefined on all {n_resamples} bootstrap resamples; "
                    "evaluate on more videos of both classes."
                )
            )
        else:
            low, high = np.quantile(np.asarray(values[j]), [alpha, 1.0 - alpha])
            results.append(Interval(low=float(low), high=float(high), point=point, n_valid=len(values[j])))
    return results


def bootstrap_ci(
    metric: MetricFn,
    video_ids: ArrayLike,
    labels: ArrayLike,
    scores: ArrayLike,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap CI of ``metric(labels, scores)``, resampling whole videos with replacement.

    Frames of one video are correlated, so the video (the cluster) is the unit of resampling: each
    resample draws ``n_videos`` videos with replacement and keeps all frames of each draw. The draws
    depend only on the number of videos and ``seed``, so the result is deterministic and unchanged
    when every frame is repeated. Resamples where ``metric`` raises :class:`MetricError` (a single
    class drawn) are skipped and the interval is taken over the ``n_valid`` others.

    A resample is the table with every row repeated as often as its video was drawn, so for the
    metrics of this module (accuracies, balanced accuracy, ROC AUC, AP and the EER of
    :func:`compute_metrics`) it is evaluated without building it: each row gets a weight, the
    repetition count of its video, and the metric is computed as a weighted metric, from matrix
    products (threshold metrics) or cumulative sums over the rows sorted once by score (ranking
    metrics, ties grouped as the unweighted metric groups them). The values equal the unweighted
    metric on the concatenated rows up to float rounding, and whole blocks of resamples are done at
    once in bounded memory. Any other callable is called on the concatenated rows of each resample.

    >>> iv = bootstrap_ci(roc_auc, [0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1], [.1, .3, .6, .4, .8, .9], n_resamples=200)
    >>> iv.low <= iv.point <= iv.high, iv.n_valid <= 200
    (True, True)
    """
    (result,) = _bootstrap_intervals([metric], video_ids, labels, scores, n_resamples, confidence, seed)
    if isinstance(result, MetricError):
        raise result
    return result


# --------------------------------------------------------------------------------------------------
# everything at once


def _metric_table(threshold: float) -> dict[str, MetricFn]:
    return {
        "accuracy": partial(accuracy, threshold=threshold),
        "balanced_accuracy": partial(balanced_accuracy, threshold=threshold),
        "accuracy_real": partial(accuracy_on_class, cls=0, threshold=threshold),
        "accuracy_fake": partial(accuracy_on_class, cls=1, threshold=threshold),
        "roc_auc": roc_auc,
        "average_precision": average_precision,
        "eer": _eer,
    }


def _level(
    ids: NDArray[Any], y: NDArray[np.int64], s: NDArray[np.float64], threshold: float, n_resamples: int, seed: int
) -> dict[str, Any]:
    metrics = _metric_table(threshold)
    try:  # one pass over the resamples for all metrics
        results = _bootstrap_intervals(list(metrics.values()), ids, y, s, n_resamples, 0.95, seed)
    except MetricError as exc:
        results = [exc] * len(metrics)
    table: dict[str, Any] = {}
    for name, result in zip(metrics, results, strict=True):
        if isinstance(result, MetricError):
            table[name] = {"value": None, "low": None, "high": None, "n_valid": 0, "undefined": str(result)}
        else:
            table[name] = result.as_dict()
    try:
        table["eer_threshold"] = equal_error_rate(y, s)[1]
    except MetricError:
        table["eer_threshold"] = None
    n_fake = int(np.count_nonzero(y))
    return {"n": int(y.size), "n_fake": n_fake, "n_real": int(y.size) - n_fake, "metrics": table}


def compute_metrics(
    labels: ArrayLike,
    scores: ArrayLike,
    video_ids: ArrayLike,
    threshold: float = 0.5,
    rule: AggregationRule = "mean",
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every metric at frame (or sequence) level and at video level, each with a 95% video-bootstrap CI.

    The frame level treats each row as a sample but still resamples videos for its CI; the video
    level aggregates with ``rule`` (see :func:`aggregate_by_video`) and resamples videos. A metric
    that is undefined on this data (e.g. AUC on reals only) gets ``None`` values and an
    ``"undefined"`` reason instead of failing the whole report. The result holds only str, int,
    float and None, so it can go straight to ``json.dump``. Higher is better for every metric except
    ``eer``.

    >>> out = compute_metrics([0, 0, 1, 1], [0.2, 0.4, 0.6, 0.9], ["a", "a", "b", "b"], n_resamples=10)
    >>> out["video"]["n"], out["video"]["metrics"]["accuracy"]["value"]
    (2, 1.0)
    """
    y, s = _check_pair(labels, scores)
    ids = _as_1d(video_ids, "video_ids")
    t = _check_threshold(threshold)
    vid, vy, vs = aggregate_by_video(ids, y, s, rule=rule)
    return {
        "threshold": t,
        "rule": rule,
        "n_resamples": int(n_resamples),
        "confidence": 0.95,
        "seed": int(seed),
        "frame": _level(ids, y, s, t, n_resamples, seed),
        "video": _level(vid, vy, vs, t, n_resamples, seed),
    }
