"""Evaluation: frame- and video-level detection metrics with video-clustered bootstrap CIs.

Imports nothing internal but :mod:`noisetrace.core`.
"""

from noisetrace.evaluation.metrics import (
    AGGREGATION_RULES,
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
]
