"""SRM noise-residual layer: the first layer of every ``domain="srm"`` detector.

Atamna et al., "Improving Generalization in Facial Manipulation Detection Using Image Noise Residuals
and Temporal Features", ICIP 2023, §2.2 and Fig. 2. Of the thirty spatial rich model kernels of
Fridrich & Kodovsky (IEEE TIFS 2012) the paper keeps the three that Zhou et al. chose for RGB-N
(CVPR 2018). Each kernel is "expanded into three channels and applied to the input RGB image", so
output channel ``k`` is kernel ``k`` correlated with R, G and B and summed: a fixed ``conv2d`` with
weight ``(3 out, 3 in, 5, 5)``. ``padding=2`` keeps the input's size, so the backbone that follows is
unchanged and RGB and SRM results stay comparable (the paper's point).

Every kernel predicts a pixel from its neighbours and subtracts the prediction; each sums to zero and is
symmetric under a 180° turn, so it removes constant and linear intensity (image content) and keeps
the high-frequency residual where blending and resampling leave traces. Being point-symmetric, the
kernels give the same result whether applied as a correlation (what ``conv2d`` computes) or a true
convolution.

Zero padding, as in Luo et al. (CVPR 2021) and DeepfakeBench, makes the two outermost rows and columns
respond to the image edge; that frame is the same for every image, so it carries no class signal.

The kernels live in a non-persistent buffer (the pattern of timm's ``BlurPool2d``): they are rebuilt
from :data:`SRM_KERNELS` on construction, never trained, never written into checkpoints, and still move
with ``.to(device)`` so the residuals are computed on the accelerator, at inference too.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SRM_KERNELS", "SRM_KERNEL_NAMES", "SRMConv2d", "srm_weight"]


def _pad_to_5x5(kernel: np.ndarray) -> np.ndarray:
    """Centre a smaller odd-sized kernel in a 5×5 zero frame, as printed in the paper's Fig. 2."""
    pad = (5 - kernel.shape[0]) // 2
    return np.pad(kernel, pad)


def _build_kernels() -> np.ndarray:
    kb = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], dtype=np.float64) / 4
    kv = (
        np.array(
            [
                [-1, 2, -2, 2, -1],
                [2, -6, 8, -6, 2],
                [-2, 8, -12, 8, -2],
                [2, -6, 8, -6, 2],
                [-1, 2, -2, 2, -1],
            ],
            dtype=np.float64,
        )
        / 12
    )
    second_order_h = np.array([[1, -2, 1]], dtype=np.float64) / 2
    kernels = np.stack([_pad_to_5x5(kb), kv, np.pad(second_order_h, ((2, 2), (1, 1)))])
    kernels.setflags(write=False)
    return kernels


#: The paper's three kernels in the order of its Fig. 2 (left to right), float64, shape ``(3, 5, 5)``:
#: ``KB`` (3×3, /4, zero-padded), ``KV`` (5×5, /12) and the horizontal second-order kernel
#: ``[1, -2, 1]`` (/2, zero-padded). Output channel ``k`` of :class:`SRMConv2d` is kernel ``k``.
SRM_KERNELS: np.ndarray = _build_kernels()
SRM_KERNEL_NAMES: tuple[str, str, str] = ("KB", "KV", "second_order_h")


def srm_weight(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The ``(3 out, 3 in, 5, 5)`` conv weight: ``weight[k, c] = SRM_KERNELS[k]`` for every colour ``c``."""
    kernels = torch.tensor(SRM_KERNELS, dtype=dtype)
    return kernels[:, None].expand(3, 3, 5, 5).clone()


class SRMConv2d(nn.Module):
    """Fixed SRM filter bank: ``(N, 3, H, W)`` RGB → ``(N, 3, H, W)`` noise residuals.

    Args:
        truncation: ``None`` (default) leaves residuals unbounded, as in Zhou et al.'s RGB-N which the
            paper follows. A value ``T`` clips them to ``[-T, T]`` (Fridrich & Kodovsky's truncation;
            Luo et al. and DeepfakeBench use ``Hardtanh(-3, 3)`` on inputs normalized to ``[-1, 1]``).
            ``T`` is in the units of the layer's input, so its meaning depends on where the layer sits
            (see :class:`noisetrace.models.InputNormalization`).
    """

    def __init__(
        self,
        truncation: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if truncation is not None and truncation <= 0:
            raise ValueError(f"SRM truncation must be positive or None, got {truncation}")
        self.truncation = truncation
        self.register_buffer("kernel", torch.empty(3, 3, 5, 5, device=device, dtype=dtype), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Refill the buffer from :data:`SRM_KERNELS` (also after materializing from the meta device)."""
        with torch.no_grad():
            self.kernel.copy_(srm_weight(torch.float64))  # rounded once, to the buffer's dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residuals in float32 whatever the autocast context: rounded to bf16, the KV kernel sums to
        0.0059 instead of 0 and lets image content leak into the residuals."""
        dtype = torch.promote_types(x.dtype, torch.float32)  # float64 stays float64; half types go up
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = F.conv2d(x.to(dtype), self.kernel.to(dtype), padding=2)
        if self.truncation is not None:
            out = out.clamp(-self.truncation, self.truncation)
        return out

    def extra_repr(self) -> str:
        return f"kernels={SRM_KERNEL_NAMES}, padding=2, truncation={self.truncation}"
