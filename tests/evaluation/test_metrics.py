"""Metrics agree with scikit-learn, validate like it, aggregate by video and bootstrap over videos."""

from __future__ import annotations

import doctest
import json
from functools import partial

import numpy as np
import pytest
from scipy.optimize import brentq
from sklearn import metrics as skm

from noisetrace.core.errors import NoisetraceError
from noisetrace.evaluation import metrics as M
from noisetrace.evaluation.metrics import (
    Interval,
    MetricError,
    accuracy,
    accuracy_on_class,
    aggregate_by_video,
    average_precision,
    balanced_accuracy,
    bootstrap_ci,
    compute_metrics,
    equal_error_rate,
    roc_auc,
)


def _random_case(seed: int, n: int = 200, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    s = np.clip(0.5 + 0.25 * (2 * y - 1) + rng.normal(0, 0.3, n), 0, 1)
    if ties:
        s = np.round(s, 1)  # about ten distinct values: many ties, also across classes
    return y, s


CASES = [(seed, ties) for seed in range(4) for ties in (False, True)]


def _sk_eer(y: np.ndarray, s: np.ndarray) -> float:
    fpr, tpr, _ = skm.roc_curve(y, s)
    return brentq(lambda x: 1.0 - x - np.interp(x, fpr, tpr), 0.0, 1.0, xtol=1e-12)


@pytest.mark.parametrize(("seed", "ties"), CASES)
def test_agrees_with_sklearn(seed: int, ties: bool) -> None:
    y, s = _random_case(seed, ties=ties)
    for t in (0.3, 0.5, 0.7):
        assert accuracy(y, s, t) == pytest.approx(skm.accuracy_score(y, s >= t))
        assert balanced_accuracy(y, s, t) == pytest.approx(skm.balanced_accuracy_score(y, s >= t))
        assert accuracy_on_class(y, s, 1, t) == pytest.approx(skm.recall_score(y, s >= t))
        assert accuracy_on_class(y, s, 0, t) == pytest.approx(skm.recall_score(y, s >= t, pos_label=0))
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    eer, thr = equal_error_rate(y, s)
    assert eer == pytest.approx(_sk_eer(y, s), abs=1e-9)
    assert s.min() <= thr <= s.max()


def test_eer_threshold_separable() -> None:
    eer, thr = equal_error_rate([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9])
    assert eer == 0.0
    assert 0.3 < thr <= 0.6
    eer, _ = equal_error_rate([1, 1, 0, 0], [0.1, 0.3, 0.6, 0.9])
    assert eer == 1.0


def test_inputs_not_mutated_and_list_input() -> None:
    y, s = _random_case(7, ties=True)
    ids = np.repeat(np.arange(20), 10)
    copies = (y.copy(), s.copy(), ids.copy())
    for fn in (accuracy, balanced_accuracy, roc_auc, average_precision, equal_error_rate):
        fn(y, s)
    accuracy_on_class(y, s, 1)
    aggregate_by_video(ids, np.repeat(y[::10], 10), s, rule="confident")
    bootstrap_ci(roc_auc, ids, y, s, n_resamples=20)
    compute_metrics(np.repeat(y[::10], 10), s, ids, n_resamples=5)
    for a, b in zip((y, s, ids), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    assert roc_auc(y.tolist(), s.tolist()) == roc_auc(y, s)


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([0, 1, 1], [0.1, 0.2], "different lengths"),
        ([0, 1], [0.1, np.nan], "NaN or infinite"),
        ([0, 1], [0.1, np.inf], "NaN or infinite"),
        ([0, 2], [0.1, 0.2], "binary"),
        ([0, -1], [0.1, 0.2], "binary"),
        (["real", "fake"], [0.1, 0.2], "0/1"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
        ([], [], "empty"),
    ],
)
def test_validation_errors(labels: list, scores: list, match: str) -> None:
    for fn in (accuracy, roc_auc, average_precision, equal_error_rate):
        with pytest.raises(MetricError, match=match):
            fn(labels, scores)


@pytest.mark.parametrize("fn", [roc_auc, average_precision, equal_error_rate, balanced_accuracy])
def test_single_class_is_undefined(fn) -> None:
    with pytest.raises(MetricError, match="only one class"):
        fn([1, 1, 1], [0.2, 0.5, 0.9])
    assert issubclass(MetricError, NoisetraceError)


def test_accuracy_on_class_errors() -> None:
    with pytest.raises(MetricError, match="no sample"):
        accuracy_on_class([1, 1], [0.2, 0.9], cls=0)
    with pytest.raises(MetricError, match="cls must be"):
        accuracy_on_class([0, 1], [0.2, 0.9], cls=2)
    with pytest.raises(MetricError, match="threshold"):
        accuracy([0, 1], [0.2, 0.9], threshold=float("nan"))


def test_aggregation_simple_rules() -> None:
    ids = ["v2", "v1", "v2", "v1", "v2", "v3"]
    y = [1, 0, 1, 0, 1, 0]
    s = [0.9, 0.2, 0.1, 0.4, 0.5, 0.7]
    expected = {"mean": [0.3, 0.5, 0.7], "median": [0.3, 0.5, 0.7], "max": [0.4, 0.9, 0.7]}
    for rule, want in expected.items():
        vid, vy, vs = aggregate_by_video(ids, y, s, rule=rule)
        assert vid.tolist() == ["v1", "v2", "v3"]
        assert vy.tolist() == [0, 1, 0]
        np.testing.assert_allclose(vs, want)


def test_aggregation_confident_rule() -> None:
    ids = np.repeat([0, 1, 2, 3], 10)
    y = np.repeat([1, 0, 1, 0], 10)
    fake = [0.9] * 5 + [0.1] * 5  # 5 > 0.4 * 10 confident fakes -> mean of those
    real = [0.1] * 10  # no fakes, 10 > 0.9 * 10 confident reals -> mean of those
    few = [0.95] * 4 + [0.5] * 6  # 4 is not > 4 confident fakes, no reals -> mean of all
    almost_real = [0.1] * 9 + [0.6]  # 9 is not > 9 confident reals -> mean of all
    s = np.array(fake + real + few + almost_real)
    _, _, vs = aggregate_by_video(ids, y, s, rule="confident")
    np.testing.assert_allclose(vs, [0.9, 0.1, np.mean(few), np.mean(almost_real)])
    # fakes win over reals when both are "enough"
    _, _, vs = aggregate_by_video([0] * 4, [1] * 4, [0.9, 0.9, 0.1, 0.1], rule="confident", min_real_share=0.4)
    np.testing.assert_allclose(vs, [0.9])


def test_aggregation_errors() -> None:
    with pytest.raises(MetricError, match="constant within a video"):
        aggregate_by_video(["a", "a", "b"], [0, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(MetricError, match="unknown aggregation rule"):
        aggregate_by_video(["a"], [0], [0.1], rule="mode")  # type: ignore[arg-type]
    with pytest.raises(MetricError, match="one video id per sample"):
        aggregate_by_video(["a"], [0, 1], [0.1, 0.2])
    with pytest.raises(MetricError, match=r"\[0, 1\]"):
        aggregate_by_video(["a"], [0], [2.0], rule="confident")


def _video_data(n_videos: int, frames: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vy = np.arange(n_videos) % 2
    ids = np.repeat(np.arange(n_videos), frames)
    y = np.repeat(vy, frames)
    s = np.clip(
        0.5 + 0.2 * (2 * y - 1) + np.repeat(rng.normal(0, 0.2, n_videos), frames) + rng.normal(0, 0.1, y.size), 0, 1
    )
    return ids, y, s


def test_bootstrap_contains_point_and_is_deterministic() -> None:
    ids, y, s = _video_data(40)
    for fn in (roc_auc, accuracy, average_precision):
        iv = bootstrap_ci(fn, ids, y, s, n_resamples=300, seed=3)
        assert isinstance(iv, Interval)
        assert iv.low <= iv.point <= iv.high
        assert iv.point == fn(y, s)
        assert bootstrap_ci(fn, ids, y, s, n_resamples=300, seed=3) == iv
    assert bootstrap_ci(roc_auc, ids, y, s, n_resamples=300, seed=4) != bootstrap_ci(
        roc_auc, ids, y, s, n_resamples=300, seed=3
    )


def test_bootstrap_narrows_with_more_videos() -> None:
    widths = []
    for n in (20, 320):
        ids, y, s = _video_data(n)
        iv = bootstrap_ci(roc_auc, ids, y, s, n_resamples=300)
        widths.append(iv.high - iv.low)
    assert widths[1] < 0.5 * widths[0]


def test_bootstrap_resamples_videos_not_frames() -> None:
    ids, y, s = _video_data(30)
    base = bootstrap_ci(roc_auc, ids, y, s, n_resamples=200, seed=1)
    # every frame repeated 10x (and shuffled): same number of clusters, so the same CI
    perm = np.random.default_rng(0).permutation(ids.size * 10)
    dup = bootstrap_ci(
        roc_auc, np.repeat(ids, 10)[perm], np.repeat(y, 10)[perm], np.repeat(s, 10)[perm], n_resamples=200, seed=1
    )
    assert dup.low == pytest.approx(base.low, abs=1e-12)
    assert dup.high == pytest.approx(base.high, abs=1e-12)
    assert dup.n_valid == base.n_valid


def test_bootstrap_skips_single_class_resamples() -> None:
    iv = bootstrap_ci(roc_auc, [0, 1, 2], [0, 1, 1], [0.1, 0.8, 0.9], n_resamples=200)
    assert 0 < iv.n_valid < 200  # P(no real drawn) = (2/3)^3, about 30% skipped
    with pytest.raises(MetricError):
        bootstrap_ci(roc_auc, [0, 0], [1, 1], [0.1, 0.8], n_resamples=10)


def _reference_bootstrap(metric, video_ids, labels, scores, n_resamples: int, seed: int) -> Interval:
    """The plain loop the weighted bootstrap replaced: concatenate the drawn videos' rows, call the metric."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    _, inverse = np.unique(np.asarray(video_ids), return_inverse=True)
    point = float(metric(y, s))
    n_videos = int(inverse.max()) + 1
    order = np.argsort(inverse, kind="stable")
    sizes = np.bincount(inverse, minlength=n_videos)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    draws = np.random.default_rng(seed).integers(0, n_videos, size=(n_resamples, n_videos))
    values = []
    for drawn in draws:
        idx = order[np.concatenate([np.arange(starts[v], starts[v] + sizes[v]) for v in drawn])]
        try:
            values.append(float(metric(y[idx], s[idx])))
        except MetricError:
            continue
    low, high = np.quantile(values, [0.025, 0.975])
    return Interval(low=float(low), high=float(high), point=point, n_valid=len(values))


def _uneven_videos(seed: int, n_videos: int, ties: bool, mixed: bool = False):
    """Videos of 1 to 12 rows in shuffled order, scores overlapping across classes; optionally
    rounded (ties within and across classes and videos) and with labels varying inside a video."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 13, n_videos)
    ids = np.repeat(np.array([f"v{i:03d}" for i in range(n_videos)]), sizes)
    y = np.repeat(rng.integers(0, 2, n_videos), sizes)
    if mixed:
        y = rng.integers(0, 2, y.size)
    s = np.clip(0.5 + 0.15 * (2 * y - 1) + rng.normal(0, 0.25, y.size), 0, 1)
    if ties:
        s = np.round(s, 1)
    perm = rng.permutation(y.size)
    return ids[perm], y[perm], s[perm]


BOOTSTRAP_CASES = [
    (seed, n_videos, ties, mixed)
    for seed, n_videos in enumerate((3, 6, 40))
    for ties in (False, True)
    for mixed in (False, True)
]


@pytest.mark.parametrize(("seed", "n_videos", "ties", "mixed"), BOOTSTRAP_CASES)
def test_weighted_bootstrap_equals_plain_loop(seed: int, n_videos: int, ties: bool, mixed: bool) -> None:
    ids, y, s = _uneven_videos(seed, n_videos, ties, mixed)
    for threshold in (0.4, 0.5):
        for name, fn in M._metric_table(threshold).items():
            assert M._weighted_form(fn) is not None, f"{name} would take the plain loop"
            try:
                want = _reference_bootstrap(fn, ids, y, s, n_resamples=250, seed=seed)
            except MetricError:  # undefined on the data or on every resample: the same error
                with pytest.raises(MetricError):
                    bootstrap_ci(fn, ids, y, s, n_resamples=250, seed=seed)
                continue
            got = bootstrap_ci(fn, ids, y, s, n_resamples=250, seed=seed)
            assert got.n_valid == want.n_valid, name
            assert got.point == want.point, name
            assert got.low == pytest.approx(want.low, abs=1e-9), name
            assert got.high == pytest.approx(want.high, abs=1e-9), name


def test_weighted_bootstrap_skips_single_class_resamples_like_the_loop() -> None:
    ids, y, s = _uneven_videos(5, 4, ties=True)
    y = np.where(ids == ids[0], 1, 0)  # one fake video among four: many resamples draw no fake
    for fn in (roc_auc, average_precision, M._eer, balanced_accuracy, partial(accuracy_on_class, cls=1)):
        got, want = bootstrap_ci(fn, ids, y, s, n_resamples=300), _reference_bootstrap(fn, ids, y, s, 300, 0)
        assert 0 < got.n_valid == want.n_valid < 300
        assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-9)


def test_weighted_bootstrap_blocks_and_plain_callables(monkeypatch: pytest.MonkeyPatch) -> None:
    ids, y, s = _uneven_videos(9, 30, ties=True)
    table = M._metric_table(0.5)
    monkeypatch.setattr(M, "_BLOCK_ELEMENTS", 7 * y.size)  # several blocks, the last one partial
    results = M._bootstrap_intervals(list(table.values()), ids, y, s, 100, 0.95, 2)
    for fn, got in zip(table.values(), results, strict=True):
        want = _reference_bootstrap(fn, ids, y, s, 100, 2)
        assert isinstance(got, Interval) and got.n_valid == want.n_valid
        assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-9)
    # any other callable takes the plain loop on the same draws
    median_gap = lambda yy, ss: float(np.median(ss[yy == 1]) - np.median(ss[yy == 0]))  # noqa: E731
    assert M._weighted_form(median_gap) is None and M._weighted_form(partial(roc_auc)) is None
    assert bootstrap_ci(median_gap, ids, y, s, n_resamples=100, seed=2) == _reference_bootstrap(
        median_gap, ids, y, s, 100, 2
    )


def test_draws_in_blocks_equal_one_draw() -> None:
    for n_videos, n_resamples, block in ((7, 10, 3), (700, 33, 4), (1, 5, 2), (31, 4, 10)):
        blocks = list(M._draw_blocks(n_videos, n_resamples, 11, block))
        want = np.random.default_rng(11).integers(0, n_videos, size=(n_resamples, n_videos))
        np.testing.assert_array_equal(np.concatenate(blocks), want)


def test_compute_metrics_equals_plain_loop() -> None:
    ids, y, s = _uneven_videos(3, 25, ties=True)
    out = compute_metrics(y, s, ids, n_resamples=120, seed=4)
    for name, fn in M._metric_table(0.5).items():
        want = _reference_bootstrap(fn, ids, y, s, 120, 4)
        got = out["frame"]["metrics"][name]
        assert got["n_valid"] == want.n_valid and got["value"] == want.point
        assert (got["low"], got["high"]) == pytest.approx((want.low, want.high), abs=1e-9)


def test_compute_metrics_json() -> None:
    ids, y, s = _video_data(30)
    out = compute_metrics(y, s, ids, n_resamples=50, rule="median")
    json.dumps(out, allow_nan=False)
    assert out["frame"]["n"] == y.size and out["video"]["n"] == 30
    for level in ("frame", "video"):
        table = out[level]["metrics"]
        assert set(table) >= {
            "accuracy",
            "balanced_accuracy",
            "accuracy_real",
            "accuracy_fake",
            "roc_auc",
            "average_precision",
            "eer",
            "eer_threshold",
        }
        for name, entry in table.items():
            if name != "eer_threshold":
                assert entry["low"] <= entry["value"] <= entry["high"]
    assert out["frame"]["metrics"]["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(y, s))
    # a single-class test set does not fail the report: undefined metrics become None
    reals = compute_metrics(np.zeros(4, int), [0.1, 0.2, 0.7, 0.3], ["a", "a", "b", "b"], n_resamples=5)
    json.dumps(reals, allow_nan=False)
    assert reals["video"]["metrics"]["roc_auc"]["value"] is None
    assert reals["video"]["metrics"]["accuracy_real"]["value"] == 0.5


def test_doctests() -> None:
    result = doctest.testmod(M, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
