"""A predictions table → its metrics (``metrics.json``).

:func:`evaluate_predictions` reads the CSV that :func:`noisetrace.data.inference.predict_split`
streams (columns in :mod:`noisetrace.core.predictions`) and turns it into the metrics of
:func:`noisetrace.evaluation.compute_metrics`, written atomically as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.io import write_json_atomic
from noisetrace.core.predictions import PREDICTION_COLUMNS
from noisetrace.evaluation.bootstrap import compute_metrics
from noisetrace.evaluation.metrics import AGGREGATION_RULES

__all__ = ["evaluate_predictions"]


def _read_columns(path: Path, chunksize: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    uids: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    try:
        reader = pd.read_csv(
            path,
            usecols=["uid", "label", "score"],
            dtype={"uid": str, "label": np.int64, "score": np.float64},
            keep_default_na=False,
            chunksize=chunksize,
        )
        for chunk in reader:
            uids.append(chunk["uid"].to_numpy(dtype=object))
            labels.append(chunk["label"].to_numpy())
            scores.append(chunk["score"].to_numpy())
    except FileNotFoundError:
        raise NoisetraceError(f"Predictions file not found: {path}.") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise NoisetraceError(
            f"Cannot read predictions {path}: {exc}. Expected columns {list(PREDICTION_COLUMNS)}."
        ) from exc
    if not uids:
        raise NoisetraceError(f"Predictions file {path} has no rows.")
    return np.concatenate(uids), np.concatenate(labels), np.concatenate(scores)


def evaluate_predictions(
    predictions_csv: str | os.PathLike[str],
    *,
    rule: str = "mean",
    threshold: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
    out_path: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    coverage: Mapping[str, Any] | None = None,
    chunksize: int = 100_000,
) -> dict[str, Any]:
    """Metrics of a predictions CSV (see :func:`compute_metrics`), written to ``out_path`` as JSON.

    The CSV is read in chunks of ``chunksize`` rows and only its ``uid``, ``label`` and ``score``
    columns are kept, as NumPy arrays: the metrics and the video bootstrap need all scores at once,
    which is about 80 bytes a row (≈ 80 MB for a million rows), far less than a data frame of every
    column. ``out_path`` defaults to ``metrics.json`` beside the CSV. ``settings`` (e.g. checkpoint
    path and split) are recorded with the rule, threshold and seed under ``"settings"``. ``coverage``
    (:func:`noisetrace.evaluation.coverage.coverage_report`: the videos that gave no item, the sequence
    windows skipped for a missing face) is recorded under ``"coverage"``.
    """
    if rule not in AGGREGATION_RULES:
        raise NoisetraceError(f"rule must be one of {list(AGGREGATION_RULES)}, got {rule!r}.")
    path = Path(predictions_csv)
    uid, labels, scores = _read_columns(path, chunksize)
    result = compute_metrics(
        labels,
        scores,
        video_ids=uid,
        threshold=threshold,
        rule=rule,  # type: ignore[arg-type]
        n_resamples=n_resamples,
        seed=seed,
    )
    result["settings"] = {
        **dict(settings or {}),
        "predictions": str(path),
        "rule": rule,
        "threshold": float(threshold),
        "n_resamples": int(n_resamples),
        "seed": int(seed),
    }
    if coverage is not None:
        result["coverage"] = dict(coverage)
    target = Path(out_path) if out_path is not None else path.with_name("metrics.json")
    write_json_atomic(target, result)
    return result
