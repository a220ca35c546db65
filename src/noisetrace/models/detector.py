"""The interface every noisetrace detector implements (Atamna et al., ICIP 2023, §2).

A detector maps face crops to real/fake logits. Its input is always float RGB in ``[0, 1]``, shaped
``(B, 3, H, W)`` for frame models and ``(B, L, 3, H, W)`` for sequence models; the model applies its own
input stage (mean/std normalization, or the SRM layer in the noise-residual domain). Data loaders are
therefore the same for every model and domain, and the residuals are computed on the accelerator, at
inference too. ``domain`` changes the input stage and nothing else, as in the paper, where the SRM
layer "negates the need for architectural adjustments to the baseline networks".

What the training stage relies on:

* ``.backbone``: the timm trunk, built with ``num_classes=0`` so it returns pooled features; the paper
  freezes it for the first epochs (§3.3), e.g. with Lightning's ``BaseFinetuning`` or
  :func:`freeze_backbone`.
* ``.head``: what trains during that warm-up (the classifier; the LSTM and classifier for sequences).
* ``.domain``, ``.is_sequence``, ``.num_logits``; ``.spec`` holds everything needed to rebuild the model
  (see :func:`noisetrace.models.detector_config`).

Where the SRM layer sits (``srm_placement``)
--------------------------------------------
The paper applies the filters "to the input RGB image" without naming an intensity scale. Two orders
are offered:

``"before_norm"`` (default)
    pixels in ``[0, 1]`` → SRM → backbone. Mean/std normalization is not applied in the SRM domain:
    every kernel sums to zero, so a mean subtracted before the filters vanishes, and one subtracted
    after them would only shift residuals that are zero-mean by construction. Chosen because it
    defines the SRM domain independently of the backbone: the residual map of an image is the same
    whether XceptionNet (mean = std = 0.5) or an EfficientNet (ImageNet mean/std) follows, so a
    backbone swap changes the backbone only, and a truncation ``T`` always means a fraction of the
    full intensity range.
``"after_norm"``
    ``(x - mean) / std`` → SRM, the order of Luo et al. (CVPR 2021) and DeepfakeBench. For
    ``legacy_xception`` (mean = std = 0.5) the residuals are exactly twice the default ones away
    from the two-pixel border (where the zero padding stands for mean grey instead of black), so
    ``srm_truncation=3`` reproduces their ``Hardtanh(-3, 3)``. With a per-channel std (ImageNet) it
    weights the R, G and B residuals by ``1/std`` before summing them: a backbone-dependent filter.

On FF++ c23 frames the default residuals have a standard deviation of about 0.01–0.04 per channel,
against about 0.36 for normalized RGB. XceptionNet's first convolution has no bias and feeds a
BatchNorm, which absorbs a constant input scale whenever it normalizes with batch statistics
(training, and a frozen warm-up that leaves BatchNorm in train mode); the two placements then differ
only in the meaning of ``T``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from noisetrace.core.errors import ConfigError
from noisetrace.models.layers import SRMConv2d
from noisetrace.models.weights import LoadReport

__all__ = [
    "DOMAINS",
    "SRM_PLACEMENTS",
    "Detector",
    "DetectorSpec",
    "InputNormalization",
    "InputStage",
    "backbone_feature_dim",
    "freeze_backbone",
]

# rgb: normalized colour; srm: the SRM residuals instead (the paper); fusion and two_stream: both (the
# paper's future work: "a useful block to integrate into … an architecture which also exploits color
# features"), as six channels into one trunk (early fusion) or into one trunk each, merged before the head.
DOMAINS: tuple[str, ...] = ("rgb", "srm", "fusion", "two_stream")
TWO_DOMAIN_INPUTS: tuple[str, ...] = ("fusion", "two_stream")
FUSION_CHANNELS = 6
SRM_PLACEMENTS: tuple[str, ...] = ("before_norm", "after_norm")
NUM_LOGITS: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class InputNormalization:
    """How ``[0, 1]`` pixels become backbone input (see the module docstring for the SRM placement).

    ``mean``/``std`` default to the backbone's timm ``pretrained_cfg``: ``(0.5, 0.5, 0.5)`` for both with
    ``legacy_xception`` (the Keras Xception's ``[-1, 1]`` input), ImageNet statistics for most others.
    """

    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    srm_placement: str = "before_norm"

    def __post_init__(self) -> None:
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ConfigError(f"mean and std need 3 values (R, G, B), got {self.mean} and {self.std}")
        if min(self.std) <= 0:
            raise ConfigError(f"std values must be positive, got {self.std}")
        if self.srm_placement not in SRM_PLACEMENTS:
            raise ConfigError(f"srm_placement must be one of {SRM_PLACEMENTS}, got {self.srm_placement!r}")


class InputStage(nn.Module):
    """``[0, 1]`` RGB → backbone input for one domain: normalization (rgb), SRM residuals (srm), or
    both stacked as six channels (fusion and two_stream; :mod:`noisetrace.models.trunks` says how the
    trunk takes them).

    Mean and std are non-persistent buffers: they follow the model to its device, and checkpoints need
    not carry them because :class:`DetectorSpec` records them. In the two fusion domains the residuals,
    about 30× smaller than normalized colour, pass through a BatchNorm of their own so that both
    halves of the stem's input start on one scale (its statistics are learned, and saved).
    """

    def __init__(
        self, domain: str, normalization: InputNormalization, srm_truncation: float | None = None
    ) -> None:
        super().__init__()
        self.domain = domain
        self.srm_placement = normalization.srm_placement
        self.register_buffer("mean", torch.tensor(normalization.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(normalization.std).view(1, 3, 1, 1), persistent=False)
        self.srm = SRMConv2d(srm_truncation) if domain != "rgb" else None
        self.residual_norm = nn.BatchNorm2d(3) if domain in TWO_DOMAIN_INPUTS else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.srm is None:
            return (x - self.mean) / self.std
        if self.residual_norm is not None:
            colour = (x - self.mean) / self.std
            return torch.cat([colour, self.residual_norm(self.srm(x))], dim=1)
        if self.srm_placement == "after_norm":
            x = (x - self.mean) / self.std
        return self.srm(x)


@dataclass(frozen=True)
class DetectorSpec:
    """Everything needed to rebuild a detector; checkpoints store it (via ``to_dict``).

    ``lstm_hidden`` sizes the LSTM of sequence detectors; frame detectors carry it unused so that one
    config can drive both.
    """

    name: str
    domain: str = "rgb"
    num_logits: int = 2
    backbone: str = "legacy_xception"
    lstm_hidden: int = 256
    srm_truncation: float | None = None
    normalization: InputNormalization = field(default_factory=InputNormalization)
    backbone_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ConfigError(f"domain must be one of {DOMAINS}, got {self.domain!r}")
        if self.num_logits not in NUM_LOGITS:
            raise ConfigError(
                f"num_logits must be 2 (softmax over real/fake) or 1 (one fake logit), got {self.num_logits}"
            )
        if self.lstm_hidden <= 0:
            raise ConfigError(f"lstm_hidden must be positive, got {self.lstm_hidden}")
        if self.srm_truncation is not None and self.srm_truncation <= 0:
            raise ConfigError(f"srm_truncation must be positive or None, got {self.srm_truncation}")
        if "num_classes" in self.backbone_kwargs:
            raise ConfigError("backbone_kwargs must not set num_classes: the detector owns its head")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready values, keyed like :func:`noisetrace.models.create_detector`'s arguments."""
        return {
            "name": self.name,
            "domain": self.domain,
            "num_logits": self.num_logits,
            "backbone": self.backbone,
            "lstm_hidden": self.lstm_hidden,
            "srm_truncation": self.srm_truncation,
            "srm_placement": self.normalization.srm_placement,
            "mean": list(self.normalization.mean),
            "std": list(self.normalization.std),
            "backbone_kwargs": dict(self.backbone_kwargs),
        }


def backbone_feature_dim(backbone: nn.Module) -> int:
    """Width of the pooled features a timm model built with ``num_classes=0`` returns.

    timm models with a pre-logits stage (e.g. MobileNetV3's conv head) return ``head_hidden_size``
    features rather than ``num_features``.
    """
    return int(getattr(backbone, "head_hidden_size", None) or backbone.num_features)


class Detector(nn.Module, abc.ABC):
    """Base class: input stage → ``backbone`` per frame → ``head`` → logits ``(B, num_logits)``."""

    is_sequence: ClassVar[bool] = False

    def __init__(self, spec: DetectorSpec, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.spec = spec
        self.input_stage = InputStage(spec.domain, spec.normalization, spec.srm_truncation)
        self.backbone = backbone
        self.head = head
        # Where the backbone's ImageNet weights came from; None when trained from scratch.
        self.weights_report: LoadReport | None = None
        # Set by noisetrace.models.checkpoint.init_from_checkpoint: the checkpoint the trunk started from.
        self.initialized_from: dict[str, Any] | None = None

    @property
    def domain(self) -> str:
        return self.spec.domain

    @property
    def num_logits(self) -> int:
        return self.spec.num_logits

    def frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` pixels in ``[0, 1]`` → pooled backbone features ``(N, F)``."""
        return self.backbone(self.input_stage(frames))

    @abc.abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels in ``[0, 1]`` → logits ``(B, num_logits)``."""

    def _check_input(self, x: torch.Tensor) -> None:
        expected = "(B, L, 3, H, W)" if self.is_sequence else "(B, 3, H, W)"
        ndim = 5 if self.is_sequence else 4
        if x.ndim != ndim or x.shape[-3] != 3:
            raise ValueError(f"{self.spec.name} expects RGB input shaped {expected}, got {tuple(x.shape)}")


def freeze_backbone(model: Detector, frozen: bool = True) -> None:
    """Stop (or restore) gradients into ``model.backbone`` for the paper's warm-up (§3.3).

    Only ``requires_grad`` changes. BatchNorm layers keep their train/eval mode, so in train mode they
    still normalize with batch statistics and update their running statistics (what Lightning's
    ``BaseFinetuning.freeze`` does with its default ``train_bn=True``); call ``model.backbone.eval()``
    as well to keep the ImageNet statistics.
    """
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(not frozen)
