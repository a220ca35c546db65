"""The video-clustered bootstrap: percentile CIs of any metric, resampling whole videos, and
:func:`compute_metrics`, every metric of :mod:`noisetrace.evaluation.metrics` with its CI.

Frames of one video are correlated, so the video (the cluster) is the unit of resampling: each
resample draws ``n_videos`` videos with replacement and keeps all frames of each draw. A resample is
therefore the table with every row repeated as often as its video was drawn.

**A metric is fast because it is registered.** :func:`register_weighted` gives a metric a
:class:`WeightedForm`: the same metric computed from those repetition counts used as row weights,
for a whole block of resamples at once, from matrix products (threshold metrics) or from cumulative
sums over the rows sorted once by score (ranking metrics, ties grouped as the unweighted metric
groups them), without building the repeated rows. Every metric of
:mod:`noisetrace.evaluation.metrics` is registered at the bottom of this module. Any other callable
takes the generic path, on purpose and not by accident: it is called on the concatenated rows of
each resample. That includes a wrapper of a registered metric (a lambda, a decorated function),
because the bootstrap cannot know that a wrapper computes what it wraps; register the wrapper to
make it fast. Both paths see the same resamples and give the same values up to float rounding; the
generic one is slower (16× on 700 videos × 32 frames × 1,000 resamples).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from noisetrace.evaluation.metrics import (
    AggregationRule,
    MetricError,
    _as_1d,
    _check_pair,
    _check_threshold,
    _group,
    accuracy,
    accuracy_on_class,
    aggregate_by_video,
    average_precision,
    balanced_accuracy,
    equal_error_rate,
    roc_auc,
)

__all__ = [
    "Interval",
    "MetricFn",
    "WeightedBlock",
    "WeightedCurve",
    "WeightedForm",
    "bootstrap_ci",
    "compute_metrics",
    "register_weighted",
    "weighted_form",
]

MetricFn = Callable[[NDArray[np.int64], NDArray[np.float64]], float]

# Most elements (8 bytes each) of one block of resamples × rows. The weighted path works in four such
# arrays, allocated once and reused by every block: 64 MB however many rows and resamples there are.
_BLOCK_ELEMENTS = 1 << 21


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


# --------------------------------------------------------------------------------------------------
# weighted forms and their registry


@dataclass(frozen=True)
class WeightedCurve:
    """The ROC curve of each resample of a block (rows), one point per distinct score (columns),
    as weighted counts: exact integers in float64.

    ``d_tps`` is the weight of the fakes at each point, ``tps`` and ``fps`` the cumulative true and
    false positive counts, in decreasing score order. ``pos``, ``neg``: fakes and reals drawn, 1 where
    ``valid`` is false (a single class drawn), so that ratios stay finite. ``scratch``: an array of
    the curve's shape that any form may overwrite; it holds nothing from one form to the next.
    """

    d_tps: NDArray[np.float64]
    tps: NDArray[np.float64]
    fps: NDArray[np.float64]
    pos: NDArray[np.float64]
    neg: NDArray[np.float64]
    valid: NDArray[np.bool_]
    scratch: NDArray[np.float64]


class WeightedBlock:
    """A block of resamples as weights, ``weights[r, v]`` = how often resample ``r`` drew video ``v``,
    and what the weighted forms read of it, each part computed once for all forms of the block.

    ``reals``, ``fakes``: rows of each class per resample; :meth:`correct` the rows classified
    correctly at a threshold; :meth:`curve` the weighted ROC curve.
    """

    def __init__(self, table: _WeightTable, weights: NDArray[np.float64], work: _Workspace) -> None:
        self._table, self._weights, self._work = table, weights, work
        self._counts = weights @ table.per_video  # weighted counts per resample: exact integers
        self.reals, self.fakes = self._counts[:, 0], self._counts[:, 1]
        self._curve: WeightedCurve | None = None

    def correct(self, threshold: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Reals scored below ``threshold`` and fakes at or above it, per resample; ``threshold`` must be
        one of the :attr:`WeightedForm.thresholds` of the forms the block was built for."""
        at = 2 + 2 * self._table.thresholds.index(threshold)
        return self._counts[:, at], self._counts[:, at + 1]

    def curve(self) -> WeightedCurve:
        """The weighted ROC curve (needs a form with ``curve=True`` among those the block was built for)."""
        if self._curve is None:
            self._curve = _weighted_curve(self._table, self._weights, self._work)
        return self._curve


@dataclass(frozen=True)
class WeightedForm:
    """A metric computed from a :class:`WeightedBlock`: ``values(block)`` gives its value on each
    resample of the block, ``NaN`` where it is undefined (the generic path skips a resample on which
    the metric raises :class:`MetricError`; ``NaN`` skips it here). ``thresholds``: those ``values``
    passes to :meth:`WeightedBlock.correct`; ``curve``: whether it reads :meth:`WeightedBlock.curve`.
    """

    values: Callable[[WeightedBlock], NDArray[np.float64]]
    thresholds: tuple[float, ...] = ()
    curve: bool = False


_REGISTRY: dict[Callable[..., Any], WeightedForm | Callable[..., WeightedForm]] = {}


def register_weighted(metric: Callable[..., Any], form: WeightedForm | Callable[..., WeightedForm]) -> None:
    """Let the bootstrap evaluate ``metric`` through its weighted ``form`` (module docstring).

    A metric without parameters is registered with its form. A metric with keyword parameters is
    registered with a function of them that returns the form: ``form()`` for the metric itself,
    ``form(**keywords)`` for a ``functools.partial`` of it that sets ``keywords`` (what
    :func:`compute_metrics` passes, e.g. ``partial(accuracy, threshold=0.4)``). ``form`` may raise
    :class:`MetricError`, ``TypeError`` or ``ValueError`` for parameters it has no form for; such a
    metric takes the generic path.
    """
    _REGISTRY[metric] = form


def weighted_form(metric: Callable[..., Any]) -> WeightedForm | None:
    """The registered weighted form of ``metric``, or ``None``: the generic path (module docstring).

    ``None`` for an unregistered callable, for a ``functools.partial`` that binds positional arguments
    or that wraps a metric registered without parameters (nothing for it to set), and for parameters
    that the registered function has no form for.
    """
    keywords: dict[str, Any] = {}
    bound = isinstance(metric, partial)
    if bound:
        if metric.args:
            return None
        metric, keywords = metric.func, dict(metric.keywords)
    try:
        registered = _REGISTRY.get(metric)
    except TypeError:  # an unhashable callable cannot be registered
        return None
    if registered is None or isinstance(registered, WeightedForm):
        return None if bound else registered
    try:
        return registered(**keywords)
    except (MetricError, TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# the weighted forms of noisetrace.evaluation.metrics


def _accuracy_form(threshold: float = 0.5) -> WeightedForm:
    t = _check_threshold(threshold)

    def values(block: WeightedBlock) -> NDArray[np.float64]:
        right_reals, right_fakes = block.correct(t)
        return (right_reals + right_fakes) / (block.reals + block.fakes)

    return WeightedForm(values, thresholds=(t,))


def _accuracy_on_class_form(cls: int, threshold: float = 0.5) -> WeightedForm:
    if isinstance(cls, bool) or cls not in (0, 1):
        raise MetricError(f"cls must be 0 (real) or 1 (fake), got {cls!r}.")
    t, fake = _check_threshold(threshold), bool(cls)

    def values(block: WeightedBlock) -> NDArray[np.float64]:
        right, n = (block.correct(t)[1], block.fakes) if fake else (block.correct(t)[0], block.reals)
        return np.where(n > 0, right / n, np.nan)

    return WeightedForm(values, thresholds=(t,))


def _balanced_accuracy_form(threshold: float = 0.5) -> WeightedForm:
    t = _check_threshold(threshold)

    def values(block: WeightedBlock) -> NDArray[np.float64]:
        right_reals, right_fakes = block.correct(t)
        both = (block.reals > 0) & (block.fakes > 0)
        return np.where(both, 0.5 * (right_reals / block.reals + right_fakes / block.fakes), np.nan)

    return WeightedForm(values, thresholds=(t,))


def _weighted_roc_auc(block: WeightedBlock) -> NDArray[np.float64]:
    """The Mann-Whitney statistic of the repeated rows: each real counts the fakes above it, ties 1/2.

    Twice that count is the sum over points of ``d_fps * (tps + previous tps)``; summed by parts it is
    ``2 F T - sum d_tps * (fps + previous fps)``, so no array of ``d_fps`` is kept. Every term is an
    integer, exact in float64.
    """
    c = block.curve()
    above = np.einsum("ij,ij->i", c.d_tps, c.fps) + np.einsum("ij,ij->i", c.d_tps[:, 1:], c.fps[:, :-1])
    return np.where(c.valid, (2.0 * c.pos * c.neg - above) / (2.0 * c.pos * c.neg), np.nan)


def _weighted_average_precision(block: WeightedBlock) -> NDArray[np.float64]:
    """Sum over points of (recall step) × precision. Before the first drawn row ``tps + fps = 0`` and the
    recall step is 0 too, so the precision's denominator may be floored at 1."""
    c = block.curve()
    precision = np.add(c.tps, c.fps, out=c.scratch)
    np.maximum(precision, 1.0, out=precision)
    np.divide(c.tps, precision, out=precision)
    return np.where(c.valid, np.einsum("ij,ij->i", c.d_tps, precision) / c.pos, np.nan)


def _weighted_eer(block: WeightedBlock) -> NDArray[np.float64]:
    """The interpolation of :func:`~noisetrace.evaluation.metrics.equal_error_rate` between the first
    point with ``gap >= 0`` and the one before it (the origin, ``fps = tps = 0``, before the first)."""
    c = block.curve()
    r = np.arange(c.tps.shape[0])
    k1 = _first_crossing(c.fps, c.tps, c.neg, c.pos)
    k0 = np.maximum(k1 - 1, 0)
    at_origin = k1 == 0
    f0, t0 = np.where(at_origin, 0.0, c.fps[r, k0]), np.where(at_origin, 0.0, c.tps[r, k0])
    f1, t1 = c.fps[r, k1], c.tps[r, k1]
    fpr0, fpr1 = f0 / c.neg, f1 / c.neg
    gap0, gap1 = fpr0 - (1.0 - t0 / c.pos), fpr1 - (1.0 - t1 / c.pos)
    w = gap0 / (gap0 - gap1)
    return np.where(c.valid, fpr0 + w * (fpr1 - fpr0), np.nan)


def _eer(labels: ArrayLike, scores: ArrayLike) -> float:
    """The equal error rate alone (first element of :func:`equal_error_rate`), as a bootstrap metric."""
    return equal_error_rate(labels, scores)[0]


register_weighted(accuracy, _accuracy_form)
register_weighted(accuracy_on_class, _accuracy_on_class_form)
register_weighted(balanced_accuracy, _balanced_accuracy_form)
register_weighted(roc_auc, WeightedForm(_weighted_roc_auc, curve=True))
register_weighted(average_precision, WeightedForm(_weighted_average_precision, curve=True))
register_weighted(_eer, WeightedForm(_weighted_eer, curve=True))


# --------------------------------------------------------------------------------------------------
# what the weighted forms share


@dataclass(frozen=True)
class _WeightTable:
    """What the weighted forms need of one ``(video_ids, labels, scores)`` table, computed once.

    ``per_video`` holds, per video, the number of reals and of fakes, then the number of correctly
    classified reals and fakes at each of ``thresholds``: a threshold metric of a resample is a ratio
    of these counts weighted by the video's repetitions, i.e. one matrix product per block.
    The curve uses the rows sorted once by decreasing score: ``fake_rows`` and ``real_rows`` give each
    sorted row's video if it is a fake (a real) and else ``n_videos``, the index of a zero column
    appended to the weights, so one gather gives the fakes' (reals') weights. ``starts`` is the first
    row of each run of tied scores (``None`` when there are no ties): tied rows are summed into one
    point and cross a threshold together, as in the unweighted ranking metrics.
    """

    per_video: NDArray[np.float64]
    thresholds: tuple[float, ...]
    fake_rows: NDArray[np.intp] | None
    real_rows: NDArray[np.intp] | None
    starts: NDArray[np.intp] | None

    @property
    def n_points(self) -> int:
        """Points of the curve: distinct scores (0 when no form reads the curve)."""
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
        forms: Sequence[WeightedForm],
    ) -> _WeightTable:
        thresholds = tuple(dict.fromkeys(t for form in forms for t in form.thresholds))
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
        if any(form.curve for form in forms):
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


def _weighted_curve(table: _WeightTable, weights: NDArray[np.float64], work: _Workspace) -> WeightedCurve:
    """The weighted ROC curve of each resample of a block (:class:`WeightedCurve`).

    A resample is the table with each row repeated ``weights[r, v]`` times. With the rows sorted once
    by decreasing score, cumulative sums of the weights give the weighted true and false positive
    counts at every distinct score: the curve of the repeated rows, plus a repeated point for each
    score the resample did not draw, which changes no ranking metric. Buffers: 0 holds ``d_tps``,
    2 and 3 ``tps`` and ``fps``, 1 (the reals' weights until their sum) is the scratch.
    """
    fake_rows, real_rows = table.fake_rows, table.real_rows
    if fake_rows is None or real_rows is None:
        raise ValueError("a WeightedForm reads the curve without declaring curve=True")
    n_block, n_points = weights.shape[0], table.n_points
    padded = np.concatenate([weights, np.zeros((n_block, 1))], axis=1)  # column n_videos: weight 0
    shape = (n_block, n_points)
    if table.starts is None:  # every row is a point of the curve: the steps are the rows' weights
        d_tps = np.take(padded, fake_rows, axis=1, out=work.get(0, shape))
        d_fps = np.take(padded, real_rows, axis=1, out=work.get(1, shape))
    else:  # one point per distinct score: the weights of tied rows are summed
        rows = (n_block, fake_rows.size)
        d_tps = np.take(padded, fake_rows, axis=1, out=work.get(2, rows))
        d_tps = np.add.reduceat(d_tps, table.starts, axis=1, out=work.get(0, shape))
        d_fps = np.take(padded, real_rows, axis=1, out=work.get(3, rows))
        d_fps = np.add.reduceat(d_fps, table.starts, axis=1, out=work.get(1, shape))
    tps = np.cumsum(d_tps, axis=1, out=work.get(2, shape))
    fps = np.cumsum(d_fps, axis=1, out=work.get(3, shape))
    n_pos, n_neg = tps[:, -1], fps[:, -1]
    valid = (n_pos > 0) & (n_neg > 0)
    pos, neg = np.where(valid, n_pos, 1.0), np.where(valid, n_neg, 1.0)
    return WeightedCurve(d_tps, tps, fps, pos, neg, valid, scratch=d_fps)


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


# --------------------------------------------------------------------------------------------------
# resampling


def _draw_blocks(n_videos: int, n_resamples: int, seed: int, block: int) -> Iterator[NDArray[np.int64]]:
    """``rng.integers(0, n_videos, size=(n_resamples, n_videos))`` of ``default_rng(seed)``, ``block`` rows at a time.

    Successive calls on one generator continue its stream, so the blocks are exactly the rows of the
    single call, without holding ``n_resamples × n_videos`` integers at once.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, block):
        yield rng.integers(0, n_videos, size=(min(block, n_resamples - start), n_videos))


def _resample_values(
    metrics: Sequence[MetricFn],
    forms: Sequence[WeightedForm | None],
    y: NDArray[np.int64],
    s: NDArray[np.float64],
    inverse: NDArray[np.intp],
    n_resamples: int,
    seed: int,
) -> list[list[float]]:
    """The value of each metric on every resample where it is defined, in draw order.

    ``forms[j]`` is the weighted form of ``metrics[j]``, or ``None`` for the generic path: the metric
    called on the concatenated rows of each resample. Every metric sees the same resamples.
    """
    n_videos = int(inverse.max()) + 1
    fast = [(j, form) for j, form in enumerate(forms) if form is not None]
    generic = [j for j, form in enumerate(forms) if form is None]
    values: list[list[float]] = [[] for _ in metrics]
    table = _WeightTable.build(inverse, y, s, n_videos, [form for _, form in fast]) if fast else None
    with_curve = table is not None and table.n_points > 0
    width = y.size if with_curve else n_videos
    block = max(1, min(n_resamples, _BLOCK_ELEMENTS // width))
    work = _Workspace(block, y.size) if with_curve else _Workspace(0, 0)
    if generic:  # frame positions (into `order`) of the drawn videos, concatenated
        order = np.argsort(inverse, kind="stable")
        sizes = np.bincount(inverse, minlength=n_videos)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
    for draws in _draw_blocks(n_videos, n_resamples, seed, block):
        if table is not None:
            offsets = draws + n_videos * np.arange(draws.shape[0])[:, None]
            weights = np.bincount(offsets.ravel(), minlength=draws.size).reshape(draws.shape).astype(np.float64)
            resamples = WeightedBlock(table, weights, work)
            with np.errstate(divide="ignore", invalid="ignore"):
                for j, form in fast:
                    row = form.values(resamples)
                    values[j].extend(row[~np.isnan(row)].tolist())
        for drawn in draws if generic else ():
            counts = sizes[drawn]
            offsets = np.repeat(starts[drawn] - np.r_[0, np.cumsum(counts)[:-1]], counts)
            idx = order[offsets + np.arange(int(counts.sum()))]
            for j in generic:
                try:
                    values[j].append(float(metrics[j](y[idx], s[idx])))
                except MetricError:
                    continue
    return values


def _bootstrap_intervals(
    metrics: Sequence[MetricFn],
    video_ids: ArrayLike,
    labels: ArrayLike,
    scores: ArrayLike,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[Interval | MetricError]:
    """:func:`bootstrap_ci` of several metrics on the same resamples; a metric that is undefined gets its error.

    Validation errors of the inputs are raised.
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
    resampled = _resample_values(
        [metrics[j] for j in defined], [weighted_form(metrics[j]) for j in defined], y, s, inverse, n_resamples, seed
    )
    values = dict(zip(defined, resampled, strict=True))

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

    Each resample draws ``n_videos`` videos with replacement and keeps all frames of each draw. The
    draws depend only on the number of videos and ``seed``, so the result is deterministic and
    unchanged when every frame is repeated. Resamples where ``metric`` raises :class:`MetricError` (a
    single class drawn) are skipped and the interval is taken over the ``n_valid`` others. A
    registered metric is evaluated through its weighted form, any other on the concatenated rows of
    each resample (module docstring); the values are the same up to float rounding.

    >>> iv = bootstrap_ci(roc_auc, [0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1], [.1, .3, .6, .4, .8, .9], n_resamples=200)
    >>> iv.low <= iv.point <= iv.high, iv.n_valid <= 200
    (True, True)
    """
    (result,) = _bootstrap_intervals([metric], video_ids, labels, scores, n_resamples, confidence, seed)
    if isinstance(result, MetricError):
        raise result
    return result


# --------------------------------------------------------------------------------------------------
# every metric at once


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
