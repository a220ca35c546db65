"""From a detector's raw score to a probability and a three-way verdict, fitted on validation only.

A detector trained on its own simulated fakes is over- or under-confident on anything else, and a
raw softmax output of 0.7 means nothing by itself. Two steps, both fitted on the *validation* split
of the training fakes and reals (never on a test or wild set):

1. **Temperature scaling** (Guo et al., ICML 2017): ``P = sigmoid(logit(p) / T)`` with the one
   ``T > 0`` that minimises the validation negative log-likelihood. It keeps the ranking (so every AUC
   is unchanged) and makes a validation score of 0.8 mean "80% of such crops were fakes".
2. **An uncertainty band** ``[low, high]``: below ``low`` the verdict is ``real``, at or above
   ``high`` it is ``fake``, in between ``uncertain``. ``high`` is the smallest calibrated score at
   which the validation fakes make up at least ``precision`` of the items at or above it; ``low`` is
   the largest score below which the validation reals make up at least ``precision``. A verdict
   outside the band was right at least that often on validation; on real deepfakes from other
   generators the model card says how often it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

__all__ = [
    "Calibration",
    "apply_temperature",
    "calibrate",
    "fit_calibration",
    "fit_temperature",
    "uncertainty_band",
]

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def apply_temperature(scores: ArrayLike, temperature: float) -> np.ndarray:
    """Calibrated ``P(fake)`` of raw scores ``P(fake)`` under temperature ``T``."""
    return 1.0 / (1.0 + np.exp(-_logit(np.asarray(scores, dtype=np.float64)) / temperature))


def calibrate(scores: ArrayLike, calibration: Mapping[str, Any] | None) -> np.ndarray:
    """Scores under a checkpoint's ``calibration`` record (unchanged without one): what ``noisetrace
    predict``, the demo and the wild benchmark apply to frame scores before any video aggregation."""
    if not calibration:
        return np.asarray(scores, dtype=np.float64)
    return apply_temperature(scores, float(calibration["temperature"]))


def fit_temperature(labels: ArrayLike, scores: ArrayLike) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` (searched over log T)."""
    y = np.asarray(labels, dtype=np.float64)
    z = _logit(np.asarray(scores, dtype=np.float64))

    def nll(log_t: float) -> float:
        p = np.clip(1.0 / (1.0 + np.exp(-z / np.exp(log_t))), _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))

    return float(np.exp(minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded").x))


def uncertainty_band(labels: ArrayLike, scores: ArrayLike, precision: float = 0.9) -> tuple[float, float]:
    """``(low, high)`` as the module docstring defines them; ``(0.5, 0.5)`` collapses to two verdicts."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    candidates = np.unique(s)
    high = 1.0
    for t in candidates:  # ascending: the first threshold whose upper side is pure enough
        above = s >= t
        if above.any() and y[above].mean() >= precision:
            high = float(t)
            break
    low = 0.0
    for t in candidates[::-1]:  # descending: the first threshold whose lower side is pure enough
        below = s < t
        if below.any() and (1 - y[below]).mean() >= precision:
            low = float(t)
            break
    if low > high:  # a well separated validation set: the two sides overlap, keep one cut between them
        low = high = (low + high) / 2
    return low, high


@dataclass(frozen=True)
class Calibration:
    """What a checkpoint's description stores under ``calibration`` (read by ``noisetrace predict``)."""

    method: str
    temperature: float
    threshold: float  # two-way cut on the calibrated score (0.5: the classes are balanced on validation)
    uncertain_low: float
    uncertain_high: float
    precision: float
    fitted_on: str
    items: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_calibration(labels: ArrayLike, scores: ArrayLike, fitted_on: str, precision: float = 0.9) -> Calibration:
    """Temperature and uncertainty band from validation ``labels`` and raw ``scores``."""
    temperature = fit_temperature(labels, scores)
    low, high = uncertainty_band(labels, apply_temperature(scores, temperature), precision)
    return Calibration(
        method="temperature",
        temperature=round(temperature, 6),
        threshold=0.5,
        uncertain_low=round(low, 6),
        uncertain_high=round(high, 6),
        precision=precision,
        fitted_on=fitted_on,
        items=len(np.asarray(labels)),
    )
