"""Typed training configuration: YAML presets + ``key=value`` overrides → one validated object.

Every default lives in the dataclasses below, once. A preset (``presets/paper-image.yaml``,
``presets/paper-sequence.yaml``) states the settings that differ between the paper's two recipes
(§3.3); the fields without a default (``model.name``, ``data.batch_size``, ``optim.lr``,
``trainer.max_epochs``) must come from a preset or a user file, so a recipe can never half-inherit
another one's learning rate. A user file may start with ``base: paper-image`` (a preset name or a path
relative to the file) and hold only what it changes, as experiment files do in
lightning-hydra-template.

Overrides use dotted keys (``optim.lr=0.001``, ``data.seq_len=10``, ``model.backbone=resnet10t``);
values are parsed as YAML scalars (``null``, ``true``, numbers). An unknown key raises
:class:`ConfigError` listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

import yaml

from noisetrace.core.errors import ConfigError
from noisetrace.core.io import write_text_atomic
from noisetrace.data.blending import BlendSettings, parse_blend_methods
from noisetrace.models.detector import DOMAINS

__all__ = [
    "CheckpointConfig",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "TrainerConfig",
    "config_diff",
    "config_to_dict",
    "flat_config",
    "list_presets",
    "load_config",
    "save_config",
    "valid_keys",
]

PRESET_PACKAGE = "noisetrace.training"
PRESET_DIR = "presets"
PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")
MONITORS = {"val/auc": "max", "val/acc": "max", "val/loss": "min"}


def _choice(key: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {list(choices)}, got {value!r}")


def _positive(key: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{key} must be {'non-negative' if allow_zero else 'positive'}, got {value!r}")


@dataclass
class ModelConfig:
    """Which detector to build (see :func:`noisetrace.models.create_detector`)."""

    name: str
    domain: str = "rgb"  # rgb | srm: the SRM layer first (§2.2) | fusion: RGB and SRM as 6 channels
    backbone: str = "legacy_xception"
    pretrained: str | None = "auto"  # auto: local ImageNet weights, a file path, or null/none: from scratch
    # A noisetrace checkpoint (or "shipped") whose input stage and trunk start this model, after
    # `pretrained`: a sequence model from a frame detector of the same domain and backbone.
    init_from: str | None = None
    lstm_hidden: int = 256
    srm_truncation: float | None = None

    def __post_init__(self) -> None:
        _choice("model.domain", self.domain, DOMAINS)
        _positive("model.lstm_hidden", self.lstm_hidden)


@dataclass
class DataConfig:
    """Where the faces are and how they are batched (see :class:`noisetrace.data.datamodule.FaceDataModule`)."""

    batch_size: int
    manifest: str | None = None  # set by --manifest
    cache: str | None = None  # set by --cache
    image_size: int = 224
    seq_len: int = 5  # frames per sequence; used by sequence models only (the paper: 5)
    # Loader processes; auto: 2 on CPU (decoding is ~1% of a CPU step), the CPU cores per GPU (up to 16)
    # on CUDA, where decoding PNG crops is what limits the step rate.
    num_workers: int | str = "auto"
    hflip: float = 0.0  # probability of a left-right flip; the paper describes no augmentation
    # Fakes made from real crops while training (the wild recipe): none | online (data.blending)
    blend: str = "none"
    blend_probability: float = 0.5  # share of real training crops turned into fakes
    blend_methods: str = "selfblend:0.6,swap:0.2,resample:0.2"  # synth methods and their weights
    augment: str = "none"  # none | robust: compression/resize/blur/noise/colour on both classes

    def __post_init__(self) -> None:
        _choice("data.blend", self.blend, ("none", "online"))
        _choice("data.augment", self.augment, ("none", "robust"))
        # Checked here, not when training starts: a typo in a method name fails at `noisetrace train`'s start.
        BlendSettings(self.blend_probability, parse_blend_methods(self.blend_methods))
        _positive("data.batch_size", self.batch_size)
        _positive("data.image_size", self.image_size)
        _positive("data.seq_len", self.seq_len)
        if self.num_workers != "auto":
            if not isinstance(self.num_workers, int):
                raise ConfigError(f"data.num_workers must be a count or 'auto', got {self.num_workers!r}")
            _positive("data.num_workers", self.num_workers, allow_zero=True)
        if not 0.0 <= self.hflip <= 1.0:
            raise ConfigError(f"data.hflip is a probability in [0, 1], got {self.hflip!r}")


@dataclass
class LossConfig:
    """The paper's "binary cross-entropy with appropriate class weights" (§3.3).

    ``ce2``: two logits, softmax cross-entropy, which is binary cross-entropy on
    ``P(fake) = softmax(z)[1] = sigmoid(z1 − z0)`` (the paper's two-score head). ``bce1``: one logit,
    ``BCEWithLogits``. Both weight each item by ``w[label]`` and average over the batch.
    ``class_weights``: ``auto`` (``w_c = N / (2 N_c)`` over training items) or ``none``.
    """

    kind: str = "ce2"
    class_weights: str = "auto"

    def __post_init__(self) -> None:
        _choice("loss.kind", self.kind, ("ce2", "bce1"))
        _choice("loss.class_weights", self.class_weights, ("auto", "none"))


@dataclass
class OptimConfig:
    """Adam, learning rate × ``lr_gamma`` every ``lr_step_size`` optimizer steps, frozen warm-up."""

    lr: float
    weight_decay: float = 0.0
    lr_step_size: int = 2000  # "a learning rate decay of 20% every 2,000 training steps"
    lr_gamma: float = 0.8
    frozen_epochs: int = 3  # epochs at the start with the backbone frozen (head / LSTM learn)
    # BatchNorm of the frozen backbone: eval (ImageNet statistics, as TF2 Keras; the RGB columns) or train
    # (batch statistics, which absorb the small scale of SRM residuals; Table 1's SRM columns set it, as
    # measured by benchmarks/srm_warmup.py, docs/decisions.md); see training.callbacks.BackboneWarmup
    frozen_batchnorm: str = "eval"

    def __post_init__(self) -> None:
        _positive("optim.lr", self.lr)
        _positive("optim.weight_decay", self.weight_decay, allow_zero=True)
        _positive("optim.lr_step_size", self.lr_step_size)
        if not 0.0 < self.lr_gamma <= 1.0:
            raise ConfigError(f"optim.lr_gamma must be in (0, 1], got {self.lr_gamma!r}")
        _positive("optim.frozen_epochs", self.frozen_epochs, allow_zero=True)
        _choice("optim.frozen_batchnorm", self.frozen_batchnorm, ("eval", "train"))


@dataclass
class TrainerConfig:
    """Lightning ``Trainer`` settings. ``max_epochs`` counts the frozen warm-up epochs too.

    ``precision: auto`` is ``bf16-mixed`` on a GPU with bf16 (``16-mixed`` on older GPUs) and
    ``32-true`` on CPU, where bf16 autocast is an order of magnitude slower (no native bf16).
    ``channels_last: auto`` is on with CUDA only. ``devices`` > 1 (or a ``torchrun`` launch) trains
    with DDP.
    """

    max_epochs: int
    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"
    channels_last: bool | str = "auto"
    accumulate_grad_batches: int = 1
    gradient_clip_val: float | None = None
    limit_train_batches: int | float = 1.0
    limit_val_batches: int | float = 1.0
    log_every_n_steps: int = 50
    deterministic: bool = False
    enable_progress_bar: bool = True

    def __post_init__(self) -> None:
        _positive("trainer.max_epochs", self.max_epochs)
        _positive("trainer.num_nodes", self.num_nodes)
        _choice("trainer.precision", self.precision, PRECISIONS)
        _choice("trainer.channels_last", self.channels_last, ("auto", True, False))
        _positive("trainer.accumulate_grad_batches", self.accumulate_grad_batches)
        _positive("trainer.log_every_n_steps", self.log_every_n_steps)


@dataclass
class CheckpointConfig:
    """Model selection on validation, never on test; ``last.ckpt`` for ``--resume``."""

    monitor: str = "val/auc"
    every_n_steps: int = 500  # also refresh last.ckpt every N optimizer steps (0: at epoch ends only)
    keep_last: bool = False  # keep last.ckpt (optimizer state, ~3x the weights) after the run completes

    def __post_init__(self) -> None:
        _choice("checkpoint.monitor", self.monitor, tuple(MONITORS))
        _positive("checkpoint.every_n_steps", self.every_n_steps, allow_zero=True)

    @property
    def mode(self) -> str:
        """``max`` for AUC and accuracy, ``min`` for the loss."""
        return MONITORS[self.monitor]


@dataclass
class TrainConfig:
    """The whole recipe; ``config.yaml`` in a run directory is this object, resolved."""

    model: ModelConfig
    data: DataConfig
    optim: OptimConfig
    trainer: TrainerConfig
    loss: LossConfig = field(default_factory=LossConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    seed: int = 0

    @property
    def num_logits(self) -> int:
        """The loss decides the head: two logits for ``ce2``, one for ``bce1``."""
        return 2 if self.loss.kind == "ce2" else 1


# --- building from plain data -------------------------------------------------------------------


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def valid_keys(cls: type = TrainConfig, prefix: str = "") -> list[str]:
    """Every dotted key a config file or an override may set."""
    keys: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if _is_section(tp):
            keys.extend(valid_keys(tp, f"{prefix}{f.name}."))
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _coerce_one(value: Any, tp: Any) -> tuple[bool, Any]:
    """Convert ``value`` to the scalar type ``tp`` if it is that type or a string spelling of it."""
    if tp is NoneType:
        return (value is None or (isinstance(value, str) and value.lower() in {"null", "~"})), None
    if tp is bool:
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return True, value.lower() == "true"
        return False, None
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if isinstance(value, str):
            try:
                return True, int(value)
            except ValueError:
                return False, None
        return False, None
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        if isinstance(value, str):
            try:
                return True, float(value)
            except ValueError:
                return False, None
        return False, None
    if tp is str:
        return isinstance(value, str), value
    raise TypeError(f"unsupported config field type {tp!r}")


def _coerce(key: str, value: Any, tp: Any) -> Any:
    members = typing.get_args(tp) if isinstance(tp, UnionType) or typing.get_origin(tp) is typing.Union else (tp,)
    # An exact type match wins over a conversion: with ``int | str``, 2 stays 2 and "auto" stays "auto".
    exact = [m for m in members if m is not NoneType and type(value) is m]
    if value is None and NoneType in members:
        return None
    for member in exact + [m for m in members if m not in exact]:
        ok, converted = _coerce_one(value, member)
        if ok:
            return converted
    names = " or ".join("null" if m is NoneType else m.__name__ for m in members)
    raise ConfigError(f"{key} must be {names}, got {value!r}")


def _build(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'the config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; valid keys are: {', '.join(valid_keys())}"
        )
    kwargs: dict[str, Any] = {}
    missing: list[str] = []
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        tp = hints[f.name]
        if _is_section(tp):
            kwargs[f.name] = _build(tp, data.get(f.name) or {}, key + ".")
        elif f.name in data:
            kwargs[f.name] = _coerce(key, data[f.name], tp)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            missing.append(key)
    if missing:
        raise ConfigError(
            f"missing required setting(s) {missing}: start from a preset (--config paper-image) or set them "
            "in your file or as key=value overrides"
        )
    return cls(**kwargs)


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """Plain, YAML/JSON-ready values (what ``config.yaml`` and checkpoints store)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: TrainConfig, path: str | os.PathLike[str]) -> None:
    """Write the resolved config atomically as YAML."""
    write_text_atomic(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def config_diff(a: TrainConfig, b: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """Dotted keys whose values differ, with both values."""
    flat_a, flat_b = _flatten(config_to_dict(a)), _flatten(config_to_dict(b))
    return {
        k: (flat_a.get(k), flat_b.get(k)) for k in sorted(set(flat_a) | set(flat_b)) if flat_a.get(k) != flat_b.get(k)
    }


def flat_config(cfg: TrainConfig) -> dict[str, Any]:
    """Every setting under its dotted key (``optim.lr``), as overrides and run keys name them."""
    return _flatten(config_to_dict(cfg))


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# --- presets, files and overrides -----------------------------------------------------------------


def list_presets() -> list[str]:
    """Names of the presets shipped with the package (``--config NAME``)."""
    folder = resources.files(PRESET_PACKAGE) / PRESET_DIR
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping of settings, got {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _load_source(source: str | os.PathLike[str], relative_to: Path | None = None, depth: int = 0) -> dict[str, Any]:
    if depth > 8:
        raise ConfigError(f"config 'base' chain too deep at {source} (a cycle?)")
    name = str(source)
    preset = resources.files(PRESET_PACKAGE) / PRESET_DIR / f"{name}.yaml"
    path = Path(name) if relative_to is None or Path(name).is_absolute() else relative_to / name
    if path.is_file():
        data = _read_yaml(path.read_text(encoding="utf-8"), str(path))
        parent: Path | None = path.parent
    elif preset.is_file():
        data = _read_yaml(preset.read_text(encoding="utf-8"), f"preset {name!r}")
        parent = None
    else:
        raise ConfigError(f"no config file {path} and no preset {name!r}; presets are {list_presets()}")
    base = data.pop("base", None)
    if base is None:
        return data
    return _merge(_load_source(base, parent, depth + 1), data)


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    if key not in valid_keys():
        raise ConfigError(f"unknown config key {key!r}; valid keys are: {', '.join(valid_keys())}")
    node = data
    *sections, leaf = key.split(".")
    for section in sections:
        child = node.get(section)
        if not isinstance(child, dict):
            child = {}
            node[section] = child
        node = child
    node[leaf] = value


def _apply_override(data: dict[str, Any], override: str) -> None:
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {override!r} must look like key=value, e.g. optim.lr=0.001")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    _set(data, key.strip(), value)


def load_config(
    source: str | os.PathLike[str], overrides: Sequence[str] = (), settings: Mapping[str, Any] | None = None
) -> TrainConfig:
    """Resolve a preset name or YAML file, then settings, then ``key=value`` overrides.

    ``settings`` maps dotted keys to values already typed (the CLI's ``--manifest``/``--cache``
    options); ``None`` values are ignored. ``overrides`` win over both.
    """
    data = _load_source(source)
    for key, value in (settings or {}).items():
        if value is not None:
            _set(data, key, value)
    for override in overrides:
        _apply_override(data, override)
    return _build(TrainConfig, data)
