"""One video → verdict + evidence: ``noisetrace predict``.

Faces are found and cropped exactly as for training, scored by a checkpoint, aggregated into a video
score and a verdict, and explained by an HTML page (score timeline, face crops, SRM residual maps,
Grad-CAM heatmaps) and an annotated copy of the video. See ``docs/predict.md``.
"""

from noisetrace.predict.gradcam import GradCAM, fake_log_odds, overlay_heatmap
from noisetrace.predict.inputs import expand_inputs, item_ids
from noisetrace.predict.pipeline import PREDICTIONS_FILE, Predictor, PredictSettings, predict_videos, video_score

__all__ = [
    "PREDICTIONS_FILE",
    "GradCAM",
    "PredictSettings",
    "Predictor",
    "expand_inputs",
    "fake_log_odds",
    "item_ids",
    "overlay_heatmap",
    "predict_videos",
    "video_score",
]
