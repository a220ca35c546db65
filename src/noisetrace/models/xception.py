"""XceptionNet frame classifier (Atamna et al., ICIP 2023, §2.1; Chollet, CVPR 2017).

"An XceptionNet CNN that is pre-trained on ImageNet-1K, the fully connected layer being adapted to
output scores for the two classes, real and fake." The trunk is timm's ``legacy_xception``: Cadene's
port of the Keras Xception, the network FaceForensics++ (Rössler et al., ICCV 2019) and DeepfakeBench
use as their XceptionNet baseline. With a 2-class head it has 20,811,050 parameters.

Any timm model can replace the trunk by name (``backbone="efficientnet_b4"``): the detector only needs
pooled features, so the name ``xception`` picks the architecture (one frame → one score), not the trunk.
"""

from __future__ import annotations

import torch
from torch import nn

from noisetrace.models.detector import Detector, DetectorSpec, backbone_feature_dim
from noisetrace.models.registry import register_detector

__all__ = ["FrameDetector"]


@register_detector("xception")
class FrameDetector(Detector):
    """Pooled backbone features of one frame → linear classifier → logits ``(B, num_logits)``."""

    is_sequence = False

    def __init__(self, spec: DetectorSpec, backbone: nn.Module) -> None:
        super().__init__(spec, backbone, head=nn.Linear(backbone_feature_dim(backbone), spec.num_logits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` pixels in ``[0, 1]`` → logits ``(B, num_logits)``."""
        self._check_input(x)
        return self.head(self.frame_features(x))
