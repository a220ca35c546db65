"""Temperature scaling and the real/uncertain/fake band, on scores with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from noisetrace.evaluation.calibration import apply_temperature, fit_calibration, fit_temperature, uncertainty_band
from noisetrace.evaluation.metrics import roc_auc


def _overconfident(n: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from calibrated probabilities, reported with their logits multiplied by T."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(int)
    return labels, 1 / (1 + np.exp(-logits * temperature))


def test_fit_temperature_undoes_a_known_overconfidence() -> None:
    labels, scores = _overconfident(20000, temperature=3.0)
    assert fit_temperature(labels, scores) == pytest.approx(3.0, rel=0.08)


def test_temperature_keeps_the_ranking_and_the_midpoint() -> None:
    labels, scores = _overconfident(500, temperature=2.0, seed=1)
    calibrated = apply_temperature(scores, 2.0)
    assert roc_auc(labels, calibrated) == pytest.approx(roc_auc(labels, scores))
    assert apply_temperature([0.5], 7.0)[0] == pytest.approx(0.5)


def test_the_band_keeps_the_promised_precision_on_each_side() -> None:
    labels, scores = _overconfident(4000, temperature=1.0, seed=2)
    low, high = uncertainty_band(labels, scores, precision=0.9)
    assert 0.0 < low < high < 1.0
    assert labels[scores >= high].mean() >= 0.9
    assert (1 - labels[scores < low]).mean() >= 0.9
    # The band is the narrowest such: moving either edge inward breaks the precision.
    assert labels[scores >= high - 0.05].mean() < 0.9 or (1 - labels[scores < low + 0.05]).mean() < 0.9


def test_a_separable_validation_set_collapses_the_band() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    low, high = uncertainty_band(labels, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]))
    assert low == high


def test_fit_calibration_records_what_it_was_fitted_on() -> None:
    labels, scores = _overconfident(1000, temperature=2.0, seed=3)
    calibration = fit_calibration(labels, scores, fitted_on="synthetic")
    record = calibration.to_dict()
    assert record["method"] == "temperature" and record["items"] == 1000 and record["fitted_on"] == "synthetic"
    assert record["uncertain_low"] <= record["threshold"] <= record["uncertain_high"]
