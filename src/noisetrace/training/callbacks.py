"""Callbacks of the recipe: the frozen-backbone warm-up and the two checkpoints.

Why not Lightning's ``BaseFinetuning`` for the warm-up: it freezes in ``setup``, before DDP wraps the
model, so DDP never registers the backbone and, once thawed, its gradients are not averaged across
processes (Lightning-AI/pytorch-lightning#20340); and it adds the thawed parameters to the optimizer
as a new parameter group, which a mid-run resume must reconstruct. Here the optimizer holds every
parameter from the start, the backbone's ``requires_grad`` is switched off at the first train epoch
(after the DDP wrap; DDP then runs with ``find_unused_parameters=True``) and on again at epoch
``frozen_epochs``; whether it is frozen is a function of the epoch alone, so a resumed run gets it
right with no extra state.

Why not ``ModelCheckpoint`` for the checkpoints: the best model is written in noisetrace's own format
(safetensors + JSON, see :mod:`noisetrace.models.checkpoint`), and ``last.ckpt`` must be refreshed
both every N optimizer steps (so a killed run loses little) and at the end of every epoch (so the
final state is resumable), which one ``ModelCheckpoint`` cannot do together.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from noisetrace.models.checkpoint import save_checkpoint

__all__ = ["BackboneWarmup", "BestCheckpoint", "LastCheckpoint"]

log = logging.getLogger(__name__)


class BackboneWarmup(Callback):
    """Freeze ``pl_module.backbone`` for the first ``epochs`` epochs; the head (or LSTM) learns alone.

    The paper pre-trains "for three epochs where the XceptionNet weights from ImageNet-1K are frozen,
    allowing the fully connected and LSTM layers to learn while preserving the learned ImageNet
    features". With ``batchnorm="eval"`` (default) a frozen backbone also runs in eval mode, so its
    BatchNorm layers normalize with their ImageNet running statistics and do not update them: the head
    learns from the pretrained network's own features, as in TF2 Keras, where a non-trainable
    BatchNorm runs in inference mode. Lightning puts the model back in train mode at every epoch and
    after each validation, so eval mode is re-applied before every training batch.

    ``batchnorm="train"`` keeps BatchNorm in train mode (batch statistics, running statistics updated;
    Lightning's ``BaseFinetuning`` default). It matters in the SRM domain: residuals are 10–30×
    smaller than normalized RGB, which ImageNet running statistics do not expect, while batch
    statistics absorb the scale (see :mod:`noisetrace.models.detector`). The shipped Table 1 spec sets
    it on its SRM columns; ``benchmarks/srm_warmup.py`` measures why (docs/decisions.md).
    """

    def __init__(self, epochs: int, batchnorm: str = "eval") -> None:
        super().__init__()
        if batchnorm not in ("eval", "train"):
            raise ValueError(f"batchnorm must be 'eval' or 'train', got {batchnorm!r}")
        self.epochs = epochs
        self.batchnorm = batchnorm

    def is_frozen(self, epoch: int) -> bool:
        return epoch < self.epochs

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        frozen = self.is_frozen(trainer.current_epoch)
        backbone = pl_module.backbone
        changed = False
        for parameter in backbone.parameters():
            if parameter.requires_grad == frozen:
                parameter.requires_grad_(not frozen)
                changed = True
        if changed:
            state = f"frozen until epoch {self.epochs}" if frozen else "trainable"
            log.info("epoch %d: backbone %s", trainer.current_epoch, state)
        if not frozen:
            backbone.train()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.batchnorm == "eval" and self.is_frozen(trainer.current_epoch):
            pl_module.backbone.eval()


class LastCheckpoint(Callback):
    """Keep ``last.ckpt`` (Lightning's full training state) fresh for ``--resume``.

    Written every ``every_n_steps`` optimizer steps (0: never mid-epoch) and at the end of every
    training epoch, after its validation. Lightning writes through a temporary file, so a kill during a
    save leaves the previous ``last.ckpt`` intact. Every process must call the save (it synchronizes);
    only global rank 0 writes.
    """

    def __init__(self, path: str | Path, every_n_steps: int = 0) -> None:
        super().__init__()
        self.path = Path(path)
        self.every_n_steps = every_n_steps
        self._saved_step = -1

    def _save(self, trainer: L.Trainer) -> None:
        if trainer.sanity_checking or trainer.global_step == self._saved_step:
            return
        trainer.save_checkpoint(self.path, weights_only=False)  # False: the full state, optimizer included
        self._saved_step = trainer.global_step

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.every_n_steps > 0 and trainer.global_step % self.every_n_steps == 0:
            self._save(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer)


class BestCheckpoint(Callback):
    """Write the noisetrace checkpoint (safetensors + JSON) whenever the monitored validation metric
    improves. Only validation metrics are accepted: the test split is never used to pick a model.

    ``describe`` returns the run-level facts for the JSON (training config, manifest hash, input
    description); this callback adds the metric, epoch and step, and ``pretrained_weights``: the
    ImageNet weights file the run started from (:func:`~noisetrace.models.checkpoint.pretrained_weights_record`).
    The best score so far and that record are callback state, so they survive ``--resume`` (a resumed
    run restores every weight from ``last.ckpt`` and loads no weights file itself).
    """

    def __init__(
        self,
        path: str | Path,
        monitor: str,
        mode: str,
        describe: Callable[[], Mapping[str, Any]],
        pretrained_weights: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not monitor.startswith("val/"):
            raise ValueError(f"the best checkpoint must be chosen on a validation metric, got {monitor!r}")
        self.path = Path(path)
        self.monitor = monitor
        self.mode = mode
        self.describe = describe
        self.best_score = -math.inf if mode == "max" else math.inf
        self.best_step = -1
        self.pretrained_weights = dict(pretrained_weights) if pretrained_weights is not None else None

    @property
    def state_key(self) -> str:
        return f"BestCheckpoint[{self.monitor}]"

    def _improved(self, score: float) -> bool:
        if math.isnan(score):
            return False
        return score > self.best_score if self.mode == "max" else score < self.best_score

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        score = float(trainer.callback_metrics[self.monitor])
        if not self._improved(score):
            return
        self.best_score, self.best_step = score, trainer.global_step
        if trainer.is_global_zero:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
            info = {
                **self.describe(),
                "pretrained_weights": self.pretrained_weights,
                "selected_on": {"metric": self.monitor, "mode": self.mode, "value": score},
                "val_metrics": metrics,
                "epoch": trainer.current_epoch,
                "global_step": trainer.global_step,
            }
            save_checkpoint(pl_module.model, self.path, info)
            log.info("epoch %d: %s = %.4f, saved %s", trainer.current_epoch, self.monitor, score, self.path)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_score": self.best_score,
            "best_step": self.best_step,
            "pretrained_weights": self.pretrained_weights,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = float(state_dict["best_score"])
        self.best_step = int(state_dict["best_step"])
        if state_dict.get("pretrained_weights") is not None:  # absent in a last.ckpt of an older version
            self.pretrained_weights = dict(state_dict["pretrained_weights"])
