"""Reproducible randomness: one seed drives Python, NumPy and torch."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and (when imported) torch's generators."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # torch is a dependency, but core must not require it to import
        return
    torch.manual_seed(seed)
