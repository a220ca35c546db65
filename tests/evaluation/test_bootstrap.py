"""The video bootstrap: CIs over videos, the weighted forms of the registered metrics against the
generic path on the same resamples, and every metric at once (compute_metrics)."""

from __future__ import annotations

import doctest
import json
from functools import partial, wraps

import numpy as np
import pytest
from sklearn import metrics as skm

from noisetrace.evaluation import bootstrap as B
from noisetrace.evaluation.bootstrap import Interval, bootstrap_ci, compute_metrics
from noisetrace.evaluation.metrics import (
    MetricError,
    accuracy,
    accuracy_on_class,
    average_precision,
    balanced_accuracy,
    roc_auc,
)


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
        for name, fn in B._metric_table(threshold).items():
            assert B.weighted_form(fn) is not None, f"{name} would take the plain loop"
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
    for fn in (roc_auc, average_precision, B._eer, balanced_accuracy, partial(accuracy_on_class, cls=1)):
        got, want = bootstrap_ci(fn, ids, y, s, n_resamples=300), _reference_bootstrap(fn, ids, y, s, 300, 0)
        assert 0 < got.n_valid == want.n_valid < 300
        assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-9)


def test_weighted_bootstrap_blocks_and_plain_callables(monkeypatch: pytest.MonkeyPatch) -> None:
    ids, y, s = _uneven_videos(9, 30, ties=True)
    table = B._metric_table(0.5)
    monkeypatch.setattr(B, "_BLOCK_ELEMENTS", 7 * y.size)  # several blocks, the last one partial
    results = B._bootstrap_intervals(list(table.values()), ids, y, s, 100, 0.95, 2)
    for fn, got in zip(table.values(), results, strict=True):
        want = _reference_bootstrap(fn, ids, y, s, 100, 2)
        assert isinstance(got, Interval) and got.n_valid == want.n_valid
        assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-9)
    # any other callable takes the plain loop on the same draws
    median_gap = lambda yy, ss: float(np.median(ss[yy == 1]) - np.median(ss[yy == 0]))  # noqa: E731
    assert B.weighted_form(median_gap) is None and B.weighted_form(partial(roc_auc)) is None
    assert bootstrap_ci(median_gap, ids, y, s, n_resamples=100, seed=2) == _reference_bootstrap(
        median_gap, ids, y, s, 100, 2
    )


def _resampled(metric, forms, ids, y, s, n_resamples: int, seed: int) -> list[list[float]]:
    """Per-resample values of ``metric`` once per entry of ``forms`` (a weighted form or None: generic)."""
    _, inverse = np.unique(ids, return_inverse=True)
    y, s = np.asarray(y, dtype=np.int64), np.asarray(s, dtype=np.float64)
    return B._resample_values([metric] * len(forms), forms, y, s, inverse, n_resamples, seed)


@pytest.mark.parametrize("ties", [False, True])
def test_a_registered_metrics_fast_path_equals_the_generic_path_on_the_same_resamples(ties: bool) -> None:
    ids, y, s = _uneven_videos(4, 30, ties)
    for name, fn in B._metric_table(0.45).items():
        form = B.weighted_form(fn)
        assert form is not None, f"{name} is registered"
        fast, generic = _resampled(fn, [form, None], ids, y, s, n_resamples=150, seed=7)
        assert 0 < len(fast) == len(generic), name  # the same resamples are skipped
        np.testing.assert_allclose(fast, generic, rtol=0, atol=1e-12, err_msg=name)


def test_a_wrapped_metric_is_not_registered_and_still_correct() -> None:
    ids, y, s = _uneven_videos(6, 25, ties=True)

    @wraps(roc_auc)
    def logged_auc(labels, scores):  # what the bootstrap cannot see through: any wrapper
        return roc_auc(labels, scores)

    assert B.weighted_form(logged_auc) is None
    got, want = (
        bootstrap_ci(logged_auc, ids, y, s, n_resamples=120, seed=3),
        _reference_bootstrap(logged_auc, ids, y, s, 120, 3),
    )
    assert got.n_valid == want.n_valid and got.point == want.point
    assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-12)
    fast = bootstrap_ci(roc_auc, ids, y, s, n_resamples=120, seed=3)
    assert got.n_valid == fast.n_valid and got.point == fast.point
    assert (got.low, got.high) == pytest.approx((fast.low, fast.high), abs=1e-12)
    # parameters the registered forms have no form for take the generic path too
    for unregistered in (
        partial(accuracy, [0, 1]),  # a positional argument
        partial(accuracy, margin=0.1),  # an unknown keyword
        partial(accuracy_on_class, cls=2),
        partial(accuracy_on_class, threshold=0.5),  # cls missing
        partial(roc_auc),  # registered without parameters: nothing for a partial to set
    ):
        assert B.weighted_form(unregistered) is None, unregistered


def test_register_weighted_makes_a_new_metric_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    def youden(labels, scores, threshold: float = 0.5) -> float:
        return 2.0 * balanced_accuracy(labels, scores, threshold) - 1.0

    def youden_form(threshold: float = 0.5) -> B.WeightedForm:
        def values(block: B.WeightedBlock) -> np.ndarray:
            right_reals, right_fakes = block.correct(threshold)
            return right_reals / block.reals + right_fakes / block.fakes - 1.0  # NaN where a class is missing

        return B.WeightedForm(values, thresholds=(threshold,))

    monkeypatch.setitem(B._REGISTRY, youden, youden_form)  # register_weighted, undone after the test
    metric = partial(youden, threshold=0.4)
    assert B.weighted_form(metric) is not None and B.weighted_form(youden) is not None
    ids, y, s = _uneven_videos(2, 4, ties=True)
    y = np.where(ids == ids[0], 1, 0)  # one fake video among four: many single-class resamples
    got, want = bootstrap_ci(metric, ids, y, s, n_resamples=200), _reference_bootstrap(metric, ids, y, s, 200, 0)
    assert 0 < got.n_valid == want.n_valid < 200
    assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-12)


def test_draws_in_blocks_equal_one_draw() -> None:
    for n_videos, n_resamples, block in ((7, 10, 3), (700, 33, 4), (1, 5, 2), (31, 4, 10)):
        blocks = list(B._draw_blocks(n_videos, n_resamples, 11, block))
        want = np.random.default_rng(11).integers(0, n_videos, size=(n_resamples, n_videos))
        np.testing.assert_array_equal(np.concatenate(blocks), want)


def test_compute_metrics_equals_plain_loop() -> None:
    ids, y, s = _uneven_videos(3, 25, ties=True)
    out = compute_metrics(y, s, ids, n_resamples=120, seed=4)
    for name, fn in B._metric_table(0.5).items():
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
    result = doctest.testmod(B, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
