"""The paper's training recipe as a LightningModule (Atamna et al., ICIP 2023, §3.3).

The *system* (loss, metrics, optimizer, schedule) lives here; the *model* is a plain
:class:`noisetrace.models.Detector` held as ``self.model``, which is all a checkpoint stores.

- Loss: "binary cross-entropy with appropriate class weights to account for the imbalance between
  real and fake data". With ``ce2`` (default) the detector has two logits and the loss is softmax
  cross-entropy, which *is* binary cross-entropy on ``P(fake) = sigmoid(z_fake − z_real)``; with
  ``bce1`` it has one logit and ``BCEWithLogits``. Either way each item's loss is multiplied by the
  weight of its class and the batch mean is taken (the Keras ``class_weight`` convention, and equal
  to ``BCEWithLogits(pos_weight=w1/w0)`` scaled by ``w0``): with ``w_c = N / (2 N_c)`` the weights
  average to 1 over the training set, so the learning rate keeps its meaning.
- Optimizer: Adam over every parameter from the start. During the frozen warm-up the backbone's
  parameters get no gradient (see :class:`noisetrace.training.callbacks.BackboneWarmup`), and Adam
  skips parameters without a gradient, so they neither move nor accumulate state; when they thaw
  they train at the then-current learning rate, which is what "unfreeze and add to the optimizer"
  means, without changing the optimizer's parameter groups mid-run (robust to resume and DDP).
- Schedule: ``StepLR(step_size=2000, gamma=0.8)`` stepped after every optimizer step, so the
  learning rate at optimizer step ``s`` is ``lr · 0.8^⌊s / 2000⌋`` ("a learning rate decay of 20%
  every 2,000 training steps"); DeepfakeBench's fault was to step such a scheduler once per epoch.
- Validation: ``val/loss`` (weighted like the training loss), ``val/acc`` (threshold 0.5 on
  ``P(fake)``, from :func:`noisetrace.models.scoring.fake_scores` as at inference) and ``val/auc``
  over items (frames or sequences, as the paper's accuracy), synced across processes by torchmetrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from noisetrace.models import Detector
from noisetrace.models.scoring import fake_scores

__all__ = ["DetectorTask", "weighted_bce"]


def weighted_bce(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Class-weighted binary cross-entropy, batch mean of ``w[label] · BCE(P(fake), label)``.

    Two logits: softmax cross-entropy (identical to BCE on the softmax fake probability).
    One logit: BCE with logits. Computed in float32 under autocast for a stable log-sum-exp.
    """
    logits = logits.float()
    if logits.shape[-1] == 2:
        per_item = F.cross_entropy(logits, labels, reduction="none")
    else:
        per_item = F.binary_cross_entropy_with_logits(logits[:, 0], labels.float(), reduction="none")
    return (per_item * weights[labels]).mean()


class DetectorTask(L.LightningModule):
    """Trains a :class:`~noisetrace.models.Detector` with the paper's loss, optimizer and schedule.

    Args:
        model: the detector (its ``num_logits`` decides ``ce2`` vs ``bce1``).
        class_weights: ``(w_real, w_fake)``; ``(1, 1)`` for an unweighted loss.
        lr: initial learning rate (paper: 0.01 frames, 0.001 sequences).
        weight_decay: Adam's L2 penalty (paper: none mentioned, 0).
        lr_step_size: optimizer steps between learning-rate decays (paper: 2,000).
        lr_gamma: decay factor (paper: 0.8, "a decay of 20%").
        channels_last: NHWC memory layout, faster for convolutions on CUDA tensor cores.
    """

    def __init__(
        self,
        model: Detector,
        *,
        class_weights: Sequence[float] = (1.0, 1.0),
        lr: float = 0.01,
        weight_decay: float = 0.0,
        lr_step_size: int = 2000,
        lr_gamma: float = 0.8,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.channels_last = channels_last
        if channels_last:  # before the optimizer exists, so that its state takes the same layout
            self.model.to(memory_format=torch.channels_last)
        # A buffer follows the module to its device and lands in last.ckpt for resume.
        self.register_buffer("class_weights", torch.tensor(list(class_weights), dtype=torch.float32))
        self.val_auc = BinaryAUROC()
        self.val_acc = BinaryAccuracy(threshold=0.5)

    @property
    def backbone(self) -> nn.Module:
        """The pretrained trunk the warm-up callback freezes."""
        return self.model.backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = weighted_bce(logits, y, self.class_weights)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        loss = weighted_bce(logits, y, self.class_weights)
        scores = fake_scores(logits)
        self.val_auc.update(scores, y)
        self.val_acc.update(scores, y)
        self.log("val/loss", loss, on_epoch=True, sync_dist=True, batch_size=len(y))
        self.log("val/auc", self.val_auc, on_epoch=True, prog_bar=True)
        self.log("val/acc", self.val_acc, on_epoch=True, prog_bar=True)

    def configure_optimizers(self) -> dict[str, Any]:
        parameters = list(self.model.parameters())
        # The fused kernel updates every tensor in one pass; the default loops over ~200 tensors in Python
        # and was a third of the demo's training time on CPU (XceptionNet at 48²: ~40x slower per step).
        # Same arithmetic up to float rounding; CPU and CUDA only.
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in parameters)
        optimizer = torch.optim.Adam(parameters, lr=self.lr, weight_decay=self.weight_decay, fused=fused)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=self.lr_step_size, gamma=self.lr_gamma)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }
