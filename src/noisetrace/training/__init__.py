"""Training: the paper's recipe (class-weighted BCE, Adam, LR × 0.8 every 2,000 steps, frozen-backbone
warm-up) as a LightningModule and callbacks, typed configs with presets, ``fit``.

Checkpoints are written through :mod:`noisetrace.models.checkpoint` (the format lives with the models,
so that reading one needs no Lightning) and logits become scores through
:mod:`noisetrace.models.scoring`. ``load_checkpoint`` is also offered here, as the way to load what
:func:`fit` wrote (``fit(...)`` then ``load_checkpoint(run_paths(...)["best"])``).
"""

from noisetrace.models.checkpoint import load_checkpoint
from noisetrace.training.callbacks import BackboneWarmup, BestCheckpoint, LastCheckpoint
from noisetrace.training.config import (
    TrainConfig,
    config_to_dict,
    list_presets,
    load_config,
    save_config,
    valid_keys,
)
from noisetrace.training.fit import build_model, fit, resolve_run_config, run_paths
from noisetrace.training.module import DetectorTask, weighted_bce

__all__ = [
    "BackboneWarmup",
    "BestCheckpoint",
    "DetectorTask",
    "LastCheckpoint",
    "TrainConfig",
    "build_model",
    "config_to_dict",
    "fit",
    "list_presets",
    "load_checkpoint",
    "load_config",
    "resolve_run_config",
    "run_paths",
    "save_config",
    "valid_keys",
    "weighted_bce",
]
