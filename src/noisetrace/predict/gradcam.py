"""Grad-CAM for noisetrace detectors: where in a face crop the evidence for "fake" lies.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
ICCV 2017. For the feature map ``A`` (``C`` channels) of the last convolutional layer and a score
``y``, each channel is weighted by its average gradient, ``α_c = mean_ij ∂y/∂A_cij``, and the map is
``ReLU(Σ_c α_c A_c)``: high where features that raise ``y`` are active. It is upsampled to the crop.

Choices, and why:

- **The score is the fake log-odds**, ``z_fake − z_real`` for two logits (``z`` for one logit), the
  argument of the sigmoid that gives ``P(fake)``. With a softmax only the difference of the logits
  matters, so the gradient of ``z_fake`` alone would also follow changes that leave ``P(fake)`` as it
  is.
- **The feature map is the input of the backbone's global pooling** (timm's ``global_pool``), i.e. the
  last convolutional features the classifier sees: ``act4`` of XceptionNet (7×7 at 224²), ``layer4`` of a
  ResNet. It is captured with a forward hook, so models are used exactly as trained, unmodified.
- **Sequence models**: the backbone runs on the ``B·L`` frames of the sequences as one batch and the LSTM
  combines them, so the gradient of a sequence's log-odds reaches the feature map of every frame in it:
  one heatmap per frame, saying where in that frame the sequence's fake evidence lies.
- **SRM-domain models** get their heatmaps the same way: the SRM layer sits before the backbone, so the
  feature map is aligned with the RGB crop and the heatmap overlays it directly.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from noisetrace.core.errors import NoisetraceError
from noisetrace.models import Detector

__all__ = ["GradCAM", "fake_log_odds", "overlay_heatmap"]


def fake_log_odds(logits: torch.Tensor) -> torch.Tensor:
    """``log(P(fake) / P(real))`` per item: ``z_fake − z_real`` (two logits) or ``z`` (one logit)."""
    if logits.shape[-1] == 2:
        return logits[:, 1] - logits[:, 0]
    return logits[:, 0]


def feature_layer(model: Detector) -> nn.Module:
    """The module whose *input* is the backbone's last convolutional feature map (timm's ``global_pool``)."""
    layer = getattr(model.backbone, "global_pool", None)
    if not isinstance(layer, nn.Module):
        raise NoisetraceError(
            f"Grad-CAM needs a convolutional timm backbone with a global_pool layer; {model.spec.backbone!r} has none."
        )
    return layer


class GradCAM:
    """Heatmaps of a detector's fake evidence, one per frame, at the input's resolution.

    ``GradCAM(model)(crops)`` gives ``(N, H, W)`` maps for ``(N, 3, H, W)`` crops of a frame model and
    ``(B·L, H, W)`` maps for ``(B, L, 3, H, W)`` sequences of a sequence model.
    """

    def __init__(self, model: Detector) -> None:
        self.model = model
        self.layer = feature_layer(model)

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        """Raw Grad-CAM maps (non-negative, not normalized) for float crops in ``[0, 1]``.

        ``x`` is ``(N, 3, H, W)`` for a frame model and ``(B, L, 3, H, W)`` for a sequence model;
        the result is ``(N, H, W)`` or ``(B·L, H, W)`` float32, frames in input order.
        """
        captured: list[torch.Tensor] = []
        handle = self.layer.register_forward_hook(lambda _module, inputs, _output: captured.append(inputs[0]))
        try:
            # Gradients are needed even where the caller runs in inference mode; an input that requires
            # grad makes the feature map require grad even when the parameters are frozen.
            with torch.inference_mode(False), torch.enable_grad():
                pixels = x.detach().clone().requires_grad_(True)
                target = fake_log_odds(self.model(pixels))
                (features,) = captured
                (gradients,) = torch.autograd.grad(target.sum(), features)
        finally:
            handle.remove()
        if features.ndim != 4:
            raise NoisetraceError(f"Grad-CAM expected a (N, C, h, w) feature map, got shape {tuple(features.shape)}.")
        weights = gradients.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * features).sum(dim=1, keepdim=True)).detach()
        cam = F.interpolate(cam.float(), size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
        return cam[:, 0].cpu().numpy()


def overlay_heatmap(rgb: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a heatmap (scaled to its own maximum, JET colours) over an RGB ``uint8`` crop.

    Each map is scaled by its own maximum because Grad-CAM's absolute values are not comparable
    between crops; an all-zero map (no fake evidence anywhere) is shown as the plain crop.
    """
    peak = float(cam.max())
    if peak <= 0:
        return rgb.copy()
    heat = np.clip(cam / peak * 255, 0, 255).astype(np.uint8)
    coloured = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(rgb, 1 - alpha, coloured, alpha, 0)
