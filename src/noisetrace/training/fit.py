"""``fit(cfg, run_dir)``: one training run, from a resolved config to the best checkpoint.

A run directory holds everything the run produced::

    RUN_DIR/config.yaml                  the resolved config (what --resume re-reads)
    RUN_DIR/checkpoints/best.safetensors the best weights by the validation monitor, + best.json
    RUN_DIR/checkpoints/last.ckpt        Lightning's full state (optimizer, scheduler, loops) for --resume;
                                         removed when the run completes (``fit(..., keep_last=True)`` keeps it)
    RUN_DIR/logs/csv/version_N/          metrics.csv (one version per start or resume)
    RUN_DIR/logs/tensorboard/version_N/  TensorBoard events
    RUN_DIR/summary.json                 written when the run completes: metrics and the best checkpoint

Several GPUs: ``trainer.devices=4`` (Lightning starts the processes), or ``torchrun --nproc-per-node 4
$(which noisetrace) train … trainer.devices=4``; either way training runs under DDP (see ``_strategy``)
and ``data.batch_size`` is per process.

The split of work follows lightning-hydra-template's ``train(cfg)``: build the data module, the model,
the callbacks, the loggers and the trainer from the config, fit, and return the metrics and the best
checkpoint path.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.strategies import DDPStrategy, Strategy
from lightning.pytorch.utilities.exceptions import MisconfigurationException

import noisetrace
from noisetrace.core.errors import CheckpointError, ConfigError, NoisetraceError
from noisetrace.core.io import write_json_atomic, writing
from noisetrace.data.blending import BlendSettings, parse_blend_methods
from noisetrace.data.datamodule import FaceDataModule
from noisetrace.models import Detector, create_detector
from noisetrace.models.checkpoint import (
    checkpoint_paths,
    init_from_checkpoint,
    input_description,
    pretrained_weights_record,
)
from noisetrace.pretrained import shipped_checkpoint
from noisetrace.training.callbacks import BackboneWarmup, BestCheckpoint, LastCheckpoint
from noisetrace.training.config import TrainConfig, config_diff, config_to_dict, load_config, save_config
from noisetrace.training.module import DetectorTask

__all__ = ["RESUMABLE_KEYS", "build_model", "check_resumable", "fit", "resolve_run_config", "run_paths"]

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"
LAST_CKPT = "last.ckpt"
BEST_STEM = "best"

# Lightning messages about things a noisetrace run does on purpose: the logging interval of a short
# epoch (metrics are logged per epoch anyway) and a deprecation inside Lightning's own code.
_COSMETIC_WARNINGS = (
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    r".*isinstance\(treespec, LeafSpec\)` is deprecated",
)

# Settings that may change when a run resumes: where and how fast it runs, and how long it goes on.
RESUMABLE_KEYS = frozenset(
    {
        "trainer.accelerator",
        "trainer.devices",
        "trainer.num_nodes",
        "trainer.strategy",
        "trainer.enable_progress_bar",
        "trainer.log_every_n_steps",
        "trainer.max_epochs",
        "data.num_workers",
        "checkpoint.every_n_steps",
        "checkpoint.keep_last",
    }
)


def run_paths(run_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The files of a run directory (see the module docstring)."""
    run_dir = Path(run_dir)
    checkpoints = run_dir / "checkpoints"
    return {
        "config": run_dir / CONFIG_FILE,
        "summary": run_dir / SUMMARY_FILE,
        "checkpoints": checkpoints,
        "last": checkpoints / LAST_CKPT,
        "best": checkpoint_paths(checkpoints / BEST_STEM)[1],
        "logs": run_dir / "logs",
    }


def resolve_run_config(
    run_dir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    manifest: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> TrainConfig:
    """The config of a new run (``config`` + overrides) or of a resumed one (``RUN_DIR/config.yaml``).

    On resume the saved config is the base; overrides may change only :data:`RESUMABLE_KEYS`, so a
    resumed run is the same experiment. ``manifest`` and ``cache`` become absolute paths.
    """
    paths = run_paths(run_dir)
    settings = {
        "data.manifest": str(Path(manifest).resolve()) if manifest is not None else None,
        "data.cache": str(Path(cache).resolve()) if cache is not None else None,
    }
    if not resume:
        if config is None:
            raise ConfigError("choose a recipe: --config paper-image, --config paper-sequence or --config FILE.yaml")
        return load_config(config, overrides, settings)
    if not paths["config"].is_file():
        raise NoisetraceError(f"Nothing to resume in {run_dir}: {paths['config']} does not exist.")
    saved = load_config(paths["config"])
    cfg = load_config(config if config is not None else paths["config"], overrides, settings)
    changed = {k: v for k, v in config_diff(saved, cfg).items() if k not in RESUMABLE_KEYS}
    if changed:
        listed = ", ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in changed.items())
        raise ConfigError(
            f"--resume continues the same experiment; these settings differ from {paths['config']}: "
            f"{listed}. Only {sorted(RESUMABLE_KEYS)} may change. Start a new run directory instead."
        )
    return cfg


def _on_cuda(cfg: TrainConfig) -> bool:
    accelerator = cfg.trainer.accelerator
    return accelerator in {"auto", "gpu", "cuda"} and torch.cuda.is_available()


def _precision(cfg: TrainConfig) -> str:
    if cfg.trainer.precision != "auto":
        if "bf16" in cfg.trainer.precision and not _on_cuda(cfg):
            log.warning("bf16 on CPU runs far slower than float32 on CPUs without native bf16")
        return cfg.trainer.precision
    if not _on_cuda(cfg):
        return "32-true"
    return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"


def _strategy(cfg: TrainConfig) -> str | Strategy:
    """DDP when several processes train (``devices`` > 1, several nodes, or a ``torchrun`` launch).

    During the frozen warm-up the backbone's parameters get no gradient, which plain DDP treats as an
    error ("Expected to have finished reduction…"); ``find_unused_parameters=True`` lets it skip them,
    at the cost of one extra graph traversal per step. ``ddp`` asked for by name gets the same setting;
    any other named strategy is passed to Lightning as it is.
    """
    devices = str(cfg.trainer.devices)
    several = (
        cfg.trainer.num_nodes > 1
        or int(os.environ.get("WORLD_SIZE", "1")) > 1
        or devices in {"auto", "-1"}
        or (devices.isdigit() and int(devices) > 1)
        or "," in devices
    )
    if cfg.trainer.strategy == "ddp" or (cfg.trainer.strategy == "auto" and several):
        return DDPStrategy(find_unused_parameters=cfg.optim.frozen_epochs > 0)
    return cfg.trainer.strategy


def _num_workers(cfg: TrainConfig) -> int:
    """``data.num_workers``, with ``auto`` resolved (see :class:`~noisetrace.training.config.DataConfig`)."""
    if cfg.data.num_workers != "auto":
        return int(cfg.data.num_workers)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not _on_cuda(cfg):
        return min(2, cores)
    devices = str(cfg.trainer.devices)
    local = int(devices) if devices.isdigit() and int(devices) > 0 else torch.cuda.device_count()
    return max(1, min(16, cores // max(1, local)))


def _blend_settings(cfg: TrainConfig) -> BlendSettings | None:
    if cfg.data.blend == "none":
        return None
    return BlendSettings(cfg.data.blend_probability, parse_blend_methods(cfg.data.blend_methods))


def _loggers(logs: Path) -> list[Logger]:
    loggers: list[Logger] = [CSVLogger(logs, name="csv")]
    try:
        loggers.append(TensorBoardLogger(logs, name="tensorboard", default_hp_metric=False))
    except ModuleNotFoundError:
        log.warning("tensorboard is not installed; logging to CSV only (pip install tensorboard)")
    return loggers


def build_model(cfg: TrainConfig, *, pretrained: bool = True) -> Detector:
    """The detector of ``cfg.model``; ``pretrained=False`` skips the ImageNet weights and
    ``model.init_from`` (a resume restores every weight from ``last.ckpt``, so neither file need be
    present)."""
    m = cfg.model
    model = create_detector(
        m.name,
        domain=m.domain,
        num_logits=cfg.num_logits,
        backbone=m.backbone,
        pretrained=m.pretrained if pretrained else None,
        lstm_hidden=m.lstm_hidden,
        srm_truncation=m.srm_truncation,
    )
    if pretrained and m.init_from is not None:
        source = shipped_checkpoint() if m.init_from == "shipped" else Path(m.init_from)
        record = init_from_checkpoint(model, source)
        log.info("input stage and trunk from %s (%d tensors)", source, record["tensors"])
    return model


def fit(
    cfg: TrainConfig,
    run_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    keep_last: bool | None = None,
) -> dict[str, Any]:
    """Train ``cfg`` into ``run_dir``; with ``resume``, continue from ``RUN_DIR/checkpoints/last.ckpt``.

    Returns the final metrics (``val/auc``, ``val/acc``, ``val/loss``, ``train/loss_epoch``), the best
    checkpoint (path, score, step), the number of optimizer steps, and ``start_step``: the step
    training started from (0, or the step restored from ``last.ckpt``).

    ``last.ckpt`` (Lightning's full state, the size of several models) is kept while the run can still
    resume from it and removed once the run has completed and written ``summary.json``; ``keep_last``
    keeps it (to extend a finished run with ``--resume trainer.max_epochs=N``). ``None``: the config's
    ``checkpoint.keep_last``.
    """
    paths = run_paths(run_dir)
    if keep_last is None:
        keep_last = cfg.checkpoint.keep_last
    if resume and not paths["last"].is_file():
        if paths["summary"].is_file():
            raise NoisetraceError(
                f"Nothing to resume: the run in {run_dir} completed ({paths['summary']}) and its last.ckpt was "
                "removed then (keep_last keeps it). Start a new run directory to train longer."
            )
        raise NoisetraceError(f"Nothing to resume: {paths['last']} does not exist (the run saved no checkpoint yet).")
    if resume:
        check_resumable(paths["last"])
    if not resume and (paths["last"].exists() or paths["summary"].exists()):
        held = paths["last"] if paths["last"].exists() else paths["summary"]
        raise NoisetraceError(
            f"{run_dir} already holds a run ({held}). Pass --resume to continue it, or choose a new -o."
        )
    if cfg.data.manifest is None or cfg.data.cache is None:
        raise ConfigError("training needs a manifest and a face cache: --manifest M --cache C")
    # the run directory first, so a full disk or a file in its place is one clear line before any work
    with writing(paths["checkpoints"]):
        paths["checkpoints"].mkdir(parents=True, exist_ok=True)

    # Lightning's seeding also derives distinct, reproducible seeds for every loader worker.
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_model(cfg, pretrained=not resume)
    data = FaceDataModule(
        cfg.data.manifest,
        cfg.data.cache,
        seq_len=cfg.data.seq_len if model.is_sequence else None,
        image_size=cfg.data.image_size,
        batch_size=cfg.data.batch_size,
        num_workers=_num_workers(cfg),
        hflip=cfg.data.hflip,
        blend=_blend_settings(cfg),
        augment=cfg.data.augment,
        seed=cfg.seed,
    )
    weights = data.class_weights() if cfg.loss.class_weights == "auto" else (1.0, 1.0)
    log.info("class weights: real %.4f, fake %.4f (loss.class_weights=%s)", *weights, cfg.loss.class_weights)
    channels_last = _on_cuda(cfg) if cfg.trainer.channels_last == "auto" else bool(cfg.trainer.channels_last)
    task = DetectorTask(
        model,
        class_weights=weights,
        lr=cfg.optim.lr,
        weight_decay=cfg.optim.weight_decay,
        lr_step_size=cfg.optim.lr_step_size,
        lr_gamma=cfg.optim.lr_gamma,
        channels_last=channels_last,
    )
    manifest_hash = data.manifest_hash

    def describe() -> dict[str, Any]:
        return {
            "input": input_description(model, cfg.data.image_size, cfg.data.seq_len),
            "training": config_to_dict(cfg),
            "class_weights": list(weights),
            "manifest_hash": manifest_hash,
        }

    # which ImageNet file the run started from (a resume loads none: BestCheckpoint restores the record)
    started_from = None if resume else pretrained_weights_record(cfg.model.pretrained, model.weights_report)
    if started_from is not None and model.initialized_from is not None:
        started_from["init_from"] = model.initialized_from
    best = BestCheckpoint(paths["best"], cfg.checkpoint.monitor, cfg.checkpoint.mode, describe, started_from)
    start = _StartStep()
    callbacks: list[Callback] = [
        LastCheckpoint(paths["last"], cfg.checkpoint.every_n_steps),
        best,
        LearningRateMonitor(logging_interval="step"),
        start,
        _QuietSanityCheck(),
    ]
    if cfg.optim.frozen_epochs > 0:
        callbacks.insert(0, BackboneWarmup(cfg.optim.frozen_epochs, cfg.optim.frozen_batchnorm))
    try:
        trainer = L.Trainer(
            default_root_dir=run_dir,
            accelerator=cfg.trainer.accelerator,
            devices=cfg.trainer.devices,
            num_nodes=cfg.trainer.num_nodes,
            strategy=_strategy(cfg),
            precision=_precision(cfg),  # type: ignore[arg-type]
            max_epochs=cfg.trainer.max_epochs,
            accumulate_grad_batches=cfg.trainer.accumulate_grad_batches,
            gradient_clip_val=cfg.trainer.gradient_clip_val,
            limit_train_batches=cfg.trainer.limit_train_batches,
            limit_val_batches=cfg.trainer.limit_val_batches,
            log_every_n_steps=cfg.trainer.log_every_n_steps,
            deterministic=cfg.trainer.deterministic,
            enable_progress_bar=cfg.trainer.enable_progress_bar,
            enable_checkpointing=False,  # our callbacks write the checkpoints
            enable_model_summary=False,
            logger=_loggers(paths["logs"]),
            callbacks=callbacks,
        )
    except (MisconfigurationException, ValueError) as exc:
        raise ConfigError(f"invalid trainer settings: {exc}") from exc

    if trainer.is_global_zero:
        save_config(cfg, paths["config"])
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config_to_dict(cfg), "code_version": noisetrace.__version__})
    with warnings.catch_warnings():
        for message in _COSMETIC_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        trainer.fit(task, datamodule=data, ckpt_path=paths["last"] if resume else None, weights_only=True)

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    result: dict[str, Any] = {
        "metrics": metrics,
        "best_checkpoint": str(paths["best"]) if paths["best"].is_file() else None,
        "best_score": best.best_score if best.best_step >= 0 else None,
        "best_step": best.best_step if best.best_step >= 0 else None,
        "monitor": cfg.checkpoint.monitor,
        "global_step": trainer.global_step,
        "epochs": trainer.current_epoch,
        "start_step": start.step,
        "run_dir": str(Path(run_dir)),
        "global_rank": trainer.global_rank,
        "pretrained_weights": best.pretrained_weights,
    }
    if trainer.is_global_zero:
        write_json_atomic(paths["summary"], result)
        # complete: nothing left to resume, so Lightning's full state goes (after summary.json, so a kill
        # in between leaves a finished run, never one that looks unstarted)
        if trainer.state.finished and not keep_last:
            paths["last"].unlink(missing_ok=True)
    return result


def check_resumable(path: Path) -> None:
    """Refuse, before any work, a ``last.ckpt`` that cannot be read safely: one :class:`CheckpointError` line.

    The file is read as Lightning will read it on resume (``weights_only=True``: tensors and plain
    containers, never code), memory-mapped so that the check copies no weights. A pickle that would run
    code, a truncated file or anything else that is not a Lightning checkpoint of tensors gets the same
    line; PyTorch's own message is not shown, since it suggests ``weights_only=False``, which must never
    be done with a file of unknown origin.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": noise before the error
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        readable = isinstance(state, dict) and {"state_dict", "global_step"} <= set(state)
        del state
    except OSError as exc:
        raise CheckpointError(f"Cannot resume from {path}: {exc.strerror or exc}.") from None
    except Exception:  # whatever PyTorch refused, the answer is the same line
        readable = False
    if not readable:
        raise CheckpointError(
            f"Cannot resume from {path}: the file could not be read safely (it is not a Lightning checkpoint "
            "of tensors, or it is truncated). Start a new run directory (-o), or restore the file from a copy "
            "you trust."
        )


class _StartStep(Callback):
    """Records the optimizer step training (re)started from, after Lightning restored ``last.ckpt``."""

    step = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.step = trainer.global_step


class _QuietSanityCheck(Callback):
    """Silence AUROC's one-class warning during Lightning's sanity check only.

    The sanity check scores the first two validation batches; videos come in uid order, so those
    batches often hold one class, and AUROC warns about a number nobody reads. In a real validation
    epoch the warning means something and stays on.
    """

    def __init__(self) -> None:
        self._filters: warnings.catch_warnings[None] | None = None

    def on_sanity_check_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._filters = warnings.catch_warnings()
        self._filters.__enter__()
        warnings.filterwarnings("ignore", message=r"No (negative|positive) samples in targets")

    def on_sanity_check_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._filters is not None:
            self._filters.__exit__(None, None, None)
            self._filters = None
