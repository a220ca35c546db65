"""Score a batch of crops with a detector: logits → ``P(fake)``, the one rule every stage uses.

Training's validation metrics, ``noisetrace evaluate``/protocol predictions and ``noisetrace predict``
all turn a detector's logits into the fake score through :func:`fake_scores`, so a threshold or an AUC
means the same thing everywhere. No Lightning here: inference needs only the model.
"""

from __future__ import annotations

import torch

__all__ = ["fake_scores"]


def fake_scores(logits: torch.Tensor) -> torch.Tensor:
    """``P(fake)`` from ``(B, 2)`` logits (softmax) or ``(B, 1)`` logits (sigmoid)."""
    if logits.shape[-1] == 2:
        return torch.softmax(logits.float(), dim=-1)[:, 1]
    return torch.sigmoid(logits.float()[:, 0])
