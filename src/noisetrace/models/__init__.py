"""Detectors of Atamna et al. (ICIP 2023): SRM layer → XceptionNet (timm) [→ LSTM], built by name.

Typical use::

    from noisetrace.models import create_detector, detector_config

    model = create_detector("xception_lstm", domain="srm", pretrained="auto")
    logits = model(clips)  # clips: (B, L, 3, 224, 224) floats in [0, 1]
    config = detector_config(model)  # stored in checkpoints; create_detector(**config) rebuilds it

Importing this package registers every detector (the model modules below register themselves).
"""

from noisetrace.models.detector import (
    DOMAINS,
    SRM_PLACEMENTS,
    Detector,
    DetectorSpec,
    InputNormalization,
    InputStage,
    freeze_backbone,
)
from noisetrace.models.layers import SRM_KERNEL_NAMES, SRM_KERNELS, SRMConv2d
from noisetrace.models.registry import (
    create_detector,
    detector_config,
    is_sequence_detector,
    list_detectors,
    register_detector,
)
from noisetrace.models.weights import LoadReport, find_local_weights, load_backbone_weights
from noisetrace.models.xception import FrameDetector
from noisetrace.models.xception_lstm import SequenceDetector

__all__ = [
    "DOMAINS",
    "SRM_KERNELS",
    "SRM_KERNEL_NAMES",
    "SRM_PLACEMENTS",
    "Detector",
    "DetectorSpec",
    "FrameDetector",
    "InputNormalization",
    "InputStage",
    "LoadReport",
    "SRMConv2d",
    "SequenceDetector",
    "create_detector",
    "detector_config",
    "find_local_weights",
    "freeze_backbone",
    "is_sequence_detector",
    "list_detectors",
    "load_backbone_weights",
    "register_detector",
]
