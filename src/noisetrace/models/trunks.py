"""The trunk a domain needs: one timm model, or one per domain merged before the head.

``rgb`` and ``srm`` feed three channels to one timm model, as the paper does. The two fusion domains
see the same six input channels (normalized colour, then the SRM residuals; see
:class:`noisetrace.models.detector.InputStage`) and differ only in where the two meet:

``fusion`` (early fusion)
    one trunk whose stem takes six channels: colour and residuals are mixed by the first convolution,
    at the cost of a wider stem only.
``two_stream`` (late fusion)
    one trunk per domain, each with its own three-channel stem; their last feature maps are stacked
    and pooled into one feature vector for the head, as in the two-stream RGB + noise detectors of
    Zhou et al. (CVPR 2018) and Luo et al. (CVPR 2021). Twice the trunk's compute, and each stream can
    load ImageNet weights unchanged.

Both merge before the global pooling, so Grad-CAM (:mod:`noisetrace.predict.gradcam`), which hooks the
trunk's ``global_pool``, explains both domains at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import timm
import torch
from timm.layers import SelectAdaptivePool2d
from torch import nn

from noisetrace.models.detector import FUSION_CHANNELS
from noisetrace.models.weights import LoadReport, load_backbone_weights

__all__ = ["TwoStreamTrunk", "build_trunk"]

COLOUR_CHANNELS = 3


class TwoStreamTrunk(nn.Module):
    """Colour stream on channels 0–2, residual stream on 3–5, feature maps stacked, then pooled.

    Both streams are the same architecture at the same input size, so their feature maps share a
    spatial size; ``num_features`` is the sum of their widths.
    """

    def __init__(self, colour: nn.Module, residual: nn.Module) -> None:
        super().__init__()
        self.colour = colour
        self.residual = residual
        self.global_pool = SelectAdaptivePool2d(pool_type="avg", flatten=True)
        self.num_features = int(colour.num_features) + int(residual.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 6, H, W)`` input-stage output → pooled features ``(B, num_features)``."""
        colour = self.colour.forward_features(x[:, :COLOUR_CHANNELS])
        residual = self.residual.forward_features(x[:, COLOUR_CHANNELS:])
        return self.global_pool(torch.cat([colour, residual], dim=1))


def build_trunk(
    domain: str, backbone: str, trunk_kwargs: Mapping[str, Any], weights_path: Path | None
) -> tuple[nn.Module, LoadReport | None]:
    """The timm trunk (``num_classes=0``: pooled features) for ``domain``, with ImageNet weights if given.

    A two-stream trunk gives both streams the same weights (the paper starts its SRM model from
    ImageNet too), read from the file once; the report is the colour stream's.
    """

    def create(**extra: Any) -> nn.Module:
        return timm.create_model(backbone, pretrained=False, num_classes=0, **{**trunk_kwargs, **extra})

    # The domain decides the stem's width; a checkpoint rebuilds it from the domain.
    trunk = create(in_chans=FUSION_CHANNELS) if domain == "fusion" else create()
    report = load_backbone_weights(trunk, weights_path) if weights_path is not None else None
    if domain != "two_stream":
        return trunk, report
    residual = create()
    if report is not None:
        residual.load_state_dict(trunk.state_dict())
    return TwoStreamTrunk(trunk, residual), report
