"""Metrics agree with scikit-learn, validate like it and aggregate by video."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.optimize import brentq
from sklearn import metrics as skm

from noisetrace.core.errors import NoisetraceError
from noisetrace.evaluation import metrics as M
from noisetrace.evaluation.bootstrap import bootstrap_ci, compute_metrics
from noisetrace.evaluation.metrics import (
    MetricError,
    accuracy,
    accuracy_on_class,
    aggregate_by_video,
    average_precision,
    balanced_accuracy,
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


def test_doctests() -> None:
    result = doctest.testmod(M, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
