"""Detectors by name: a decorator registry (timm's ``register_model`` pattern) and the one factory.

A model file registers its class with ``@register_detector("name")``; importing
:mod:`noisetrace.models` imports every model file of the package, so :func:`list_detectors` is complete
without a hand-kept list and without optional dependencies. :func:`create_detector` is the single
audited path from a config to a model: it validates the options, lets timm build the backbone, loads
ImageNet weights offline (:mod:`noisetrace.models.weights`) and builds the head.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import timm
from timm.models import get_pretrained_cfg

from noisetrace.core.errors import ConfigError
from noisetrace.models.detector import Detector, DetectorSpec, InputNormalization
from noisetrace.models.trunks import build_trunk
from noisetrace.models.weights import PRETRAINED_AUTO, resolve_weights

__all__ = ["create_detector", "detector_config", "is_sequence_detector", "list_detectors", "register_detector"]

DetectorT = TypeVar("DetectorT", bound=type[Detector])

_DETECTORS: dict[str, type[Detector]] = {}


def register_detector(name: str) -> Callable[[DetectorT], DetectorT]:
    """Class decorator: make a :class:`Detector` subclass available to :func:`create_detector` as ``name``.

    A name registered twice is a bug in the code, not a configuration a user can fix, hence
    ``ValueError`` rather than :class:`ConfigError` (which the CLI prints as a user's mistake).
    """

    def register(cls: DetectorT) -> DetectorT:
        if name in _DETECTORS:
            raise ValueError(f"detector {name!r} is already registered by {_DETECTORS[name].__qualname__}")
        _DETECTORS[name] = cls
        return cls

    return register


def list_detectors() -> list[str]:
    """Registered detector names, sorted (the CLI's choices and the tests' parametrization)."""
    return sorted(_DETECTORS)


def is_sequence_detector(name: str) -> bool:
    """Whether the detector registered as ``name`` classifies sequences of frames (without building it).

    Raises:
        ConfigError: no detector is registered as ``name`` (as :func:`create_detector`).
    """
    if name not in _DETECTORS:
        raise ConfigError(f"unknown detector {name!r}; choose one of {list_detectors()}")
    return _DETECTORS[name].is_sequence


def create_detector(
    name: str,
    *,
    domain: str = "rgb",
    num_logits: int = 2,
    backbone: str = "legacy_xception",
    pretrained: str | Path | None = PRETRAINED_AUTO,
    lstm_hidden: int = 256,
    srm_truncation: float | None = None,
    srm_placement: str = "before_norm",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    backbone_kwargs: Mapping[str, Any] | None = None,
) -> Detector:
    """Build a registered detector.

    Args:
        name: one of :func:`list_detectors` (``"xception"``: frames; ``"xception_lstm"``: sequences).
        domain: ``"rgb"``, ``"srm"`` (the SRM layer first), ``"fusion"`` (RGB and SRM residuals as six
            input channels; the backbone's stem takes six) or ``"two_stream"`` (one backbone per domain,
            merged before the head; :mod:`noisetrace.models.trunks`); nothing else changes.
        num_logits: 2 (softmax over real/fake) or 1 (a single fake logit for BCE).
        backbone: any timm model name, optionally with a pretrained tag (``"efficientnet_b4"``).
        pretrained: ``"auto"`` (a local cache, else :class:`MissingWeightsError`), a weights file path
            (timm or Cadene format), or ``None`` / ``"none"`` to train from scratch on purpose.
        lstm_hidden: LSTM width of sequence detectors (the paper: 256); unused by frame detectors.
        srm_truncation: clip residuals to ``[-T, T]``; ``None`` (the paper's RGB-N setting) keeps them.
        srm_placement: ``"before_norm"`` or ``"after_norm"``; see :mod:`noisetrace.models.detector`.
        mean, std: input normalization; default to the backbone's timm ``pretrained_cfg``.
        backbone_kwargs: extra ``timm.create_model`` arguments (e.g. ``drop_path_rate``).

    Raises:
        ConfigError: an unknown name, domain, backbone or option value.
        MissingWeightsError: ``pretrained`` names no available file.
        CheckpointError: the weights file does not fit the backbone.
    """
    if name not in _DETECTORS:
        raise ConfigError(f"unknown detector {name!r}; choose one of {list_detectors()}")
    if not timm.is_model(backbone):
        raise ConfigError(f"unknown timm backbone {backbone!r}; see timm.list_models() for the names")
    try:
        cfg = get_pretrained_cfg(backbone)
    except RuntimeError as err:  # a known architecture with an unknown pretrained tag
        raise ConfigError(f"backbone {backbone!r}: {err} See timm.list_pretrained().") from err
    if cfg is None and (mean is None or std is None):
        raise ConfigError(f"timm has no input statistics for {backbone!r}; pass mean and std")
    # Validate every option before the (slow) backbone construction and the weights search.
    spec = DetectorSpec(
        name=name,
        domain=domain,
        num_logits=num_logits,
        backbone=backbone,
        lstm_hidden=lstm_hidden,
        srm_truncation=srm_truncation,
        normalization=InputNormalization(
            mean=tuple(mean if mean is not None else cfg.mean),
            std=tuple(std if std is not None else cfg.std),
            srm_placement=srm_placement,
        ),
        backbone_kwargs=dict(backbone_kwargs or {}),
    )
    weights_path = resolve_weights(pretrained, backbone)

    trunk, report = build_trunk(domain, backbone, spec.backbone_kwargs, weights_path)
    model = _DETECTORS[name](spec, trunk)
    model.weights_report = report
    return model


def detector_config(model: Detector) -> dict[str, Any]:
    """Everything needed to rebuild ``model``: ``create_detector(**detector_config(m), pretrained=None)``.

    Checkpoints store this beside the state dict, so a model can be rebuilt without the config files
    that trained it.
    """
    return model.spec.to_dict()
