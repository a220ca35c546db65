"""Training: the paper's recipe (class-weighted BCE, Adam, LR × 0.8 every 2,000 steps, frozen-backbone
warm-up) as a LightningModule and callbacks, typed configs with presets, safe checkpoints, ``fit``."""

from noisetrace.training.callbacks import BackboneWarmup, BestCheckpoint, LastCheckpoint
from noisetrace.training.checkpoint import (
    CHECKPOINT_FORMAT,
    checkpoint_paths,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from noisetrace.training.config import (
    TrainConfig,
    config_to_dict,
    list_presets,
    load_config,
    save_config,
    valid_keys,
)
from noisetrace.training.fit import build_model, fit, resolve_run_config, run_paths
from noisetrace.training.module import DetectorTask, fake_scores, weighted_bce

__all__ = [
    "CHECKPOINT_FORMAT",
    "BackboneWarmup",
    "BestCheckpoint",
    "DetectorTask",
    "LastCheckpoint",
    "TrainConfig",
    "build_model",
    "checkpoint_paths",
    "config_to_dict",
    "fake_scores",
    "fit",
    "list_presets",
    "load_checkpoint",
    "load_config",
    "read_checkpoint_info",
    "resolve_run_config",
    "run_paths",
    "save_checkpoint",
    "save_config",
    "valid_keys",
    "weighted_bce",
]
