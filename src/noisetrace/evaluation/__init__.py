"""Evaluation: frame- and video-level detection metrics with video-clustered bootstrap CIs, ROC
points, and the paired comparison of two detectors over the same videos.

Imports nothing internal but :mod:`noisetrace.core`.
"""

from noisetrace.evaluation.bootstrap import Interval, WeightedForm, bootstrap_ci, compute_metrics, register_weighted
from noisetrace.evaluation.metrics import (
    AGGREGATION_RULES,
    MetricError,
    accuracy,
    accuracy_on_class,
    aggregate_by_video,
    average_precision,
    balanced_accuracy,
    equal_error_rate,
    roc_auc,
    roc_curve,
)
from noisetrace.evaluation.paired import PairedTest, paired_video_test, per_video_accuracy

__all__ = [
    "AGGREGATION_RULES",
    "Interval",
    "MetricError",
    "PairedTest",
    "WeightedForm",
    "accuracy",
    "accuracy_on_class",
    "aggregate_by_video",
    "average_precision",
    "balanced_accuracy",
    "bootstrap_ci",
    "compute_metrics",
    "equal_error_rate",
    "paired_video_test",
    "per_video_accuracy",
    "register_weighted",
    "roc_auc",
    "roc_curve",
]
