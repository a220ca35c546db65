"""The images behind a verdict: which crops to show, their SRM residual maps and Grad-CAM overlays.

A page cannot show all 120 crops of a video three times over, so a few items are sampled: evenly
spaced in time (what the video looks like throughout) plus the item the model found most fake (the
strongest evidence), in time order. For a sequence model an item is a whole sequence and every frame
of it is shown, because the score belongs to the sequence, not to one frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from noisetrace.data import to_unit_float
from noisetrace.models import Detector, SRMConv2d
from noisetrace.predict.gradcam import GradCAM, overlay_heatmap
from noisetrace.report.predict_page import EvidenceCard, EvidenceGroup

__all__ = ["build_evidence", "select_evidence", "srm_magnitude"]

SRM_BORDER = 2  # rows/columns where the 5×5 kernels overlap the zero padding
SRM_DISPLAY_PERCENTILE = 99.0


def select_evidence(scores: Sequence[float], count: int) -> list[int]:
    """Indices of at most ``count`` items: evenly spaced over time, always including the most fake one.

    >>> select_evidence([0.1, 0.2, 0.9, 0.3, 0.2, 0.1], 3)
    [0, 2, 5]
    """
    if not scores or count < 1:
        return []
    chosen = {round(float(i)) for i in np.linspace(0, len(scores) - 1, min(count, len(scores)))}
    top = int(np.argmax(scores))
    if top not in chosen:
        # Replace the evenly spaced pick nearest to the top item, so the count stays the same.
        chosen.remove(min(chosen, key=lambda i: abs(i - top)))
        chosen.add(top)
    return sorted(chosen)


@torch.no_grad()
def srm_magnitude(crops: torch.Tensor) -> np.ndarray:
    """SRM residual magnitude of float crops ``(N, 3, H, W)`` in ``[0, 1]`` as grey ``uint8 (N, H, W, 3)``.

    The paper's layer (:class:`noisetrace.models.SRMConv2d`, no truncation) is applied to the crop's
    pixels; the three kernel responses are combined into their Euclidean norm per pixel, which shows
    where residual energy is without privileging one kernel. Residuals are faint (a standard deviation
    of a few hundredths), so each map is scaled by its own 99th percentile, measured away from the
    two-pixel border where the kernels see the zero padding and would otherwise set the scale.
    """
    residual = SRMConv2d().to(crops.device)(crops.float())
    magnitude = residual.square().sum(dim=1).sqrt()
    b = SRM_BORDER
    interior = magnitude[:, b:-b, b:-b].flatten(1)
    scale = torch.quantile(interior, SRM_DISPLAY_PERCENTILE / 100, dim=1).clamp_min(1e-8)
    shown = (magnitude / scale[:, None, None]).clamp(0, 1)
    shown[:, :b, :] = shown[:, -b:, :] = 0
    shown[:, :, :b] = shown[:, :, -b:] = 0
    grey = (shown * 255).round().to(torch.uint8).cpu().numpy()
    return np.repeat(grey[..., None], 3, axis=-1)


def build_evidence(
    model: Detector,
    crops: Mapping[int, torch.Tensor],
    items: Sequence[tuple[int, ...]],
    scores: Sequence[float],
    count: int,
    device: str | torch.device = "cpu",
) -> list[EvidenceGroup]:
    """Evidence groups for the HTML page.

    ``crops`` maps frame index → ``uint8 (3, S, S)`` crop as the model received it; ``items`` are the
    frame indices of each scored item (one frame, or a sequence's frames) and ``scores`` their
    ``P(fake)``. For a frame model ``count`` frames are shown in one group; for a sequence model about
    ``count`` frames' worth of whole sequences (at least one), a group each.
    """
    if not items:
        return []
    length = len(items[0])
    chosen = select_evidence(scores, count if length == 1 else max(1, count // length))
    frames = [index for i in chosen for index in items[i]]
    pixels = to_unit_float(torch.stack([crops[index] for index in frames]).to(device))
    batch = pixels if length == 1 else pixels.view(len(chosen), length, *pixels.shape[1:])
    cams = GradCAM(model)(batch)
    residuals = srm_magnitude(pixels)
    rgb = [crops[index].permute(1, 2, 0).cpu().numpy() for index in frames]
    cards = [
        EvidenceCard(
            frame=index,
            score=float(scores[chosen[k]]) if length == 1 else None,
            crop=rgb[k],
            srm=residuals[k],
            gradcam=overlay_heatmap(rgb[k], cams[k]),
        )
        for k, index in enumerate(frames)
    ]
    if length == 1:
        return [EvidenceGroup(f"{len(cards)} sampled frames (evenly spaced, and the most fake one)", cards)]
    return [
        EvidenceGroup(
            f"frames {items[i][0]}–{items[i][-1]}: sequence P(fake) {scores[i]:.3f}",
            cards[k * length : (k + 1) * length],
        )
        for k, i in enumerate(chosen)
    ]
