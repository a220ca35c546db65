"""The detector shipped inside the package, so that ``noisetrace predict clip.mp4`` answers at once.

One model ships: a noisetrace checkpoint (``<name>.safetensors``, fp16, + ``<name>.json``) whose JSON
description is also its *model card*: architecture, input, recipe and code version, the SHA-256 and
provenance of every training file, the calibration fitted on its validation split, the measured
wild-set table beside MesoNet's, and its known weaknesses per generator family. It was trained by
noisetrace's own ``wild`` recipe from real faces alone (``scripts/shipped_model.py`` retrains it).

Loading it goes through :func:`noisetrace.models.checkpoint.load_checkpoint` like any other
checkpoint (JSON + safetensors, nothing executable), which also checks the weights' SHA-256.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from noisetrace.core.errors import CheckpointError

__all__ = ["SHIPPED_MODEL", "list_shipped_models", "model_card", "shipped_checkpoint"]

SHIPPED_MODEL = "wild-resnet18-fusion"


def shipped_checkpoint(name: str = SHIPPED_MODEL) -> Path:
    """Path of the shipped model's JSON description (what ``load_checkpoint`` and ``-c`` take)."""
    path = Path(str(resources.files(__name__) / f"{name}.json"))
    if not path.is_file():
        raise CheckpointError(
            f"The shipped model {name!r} is not in this installation ({path} is missing); "
            f"shipped models: {list_shipped_models() or 'none'}. Pass a checkpoint with -c."
        )
    return path


def list_shipped_models() -> list[str]:
    """Names of the models inside the package (a ``.json`` card beside a ``.safetensors`` file)."""
    folder = resources.files(__name__)
    names = [p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")]
    return sorted(n for n in names if (folder / f"{n}.safetensors").is_file())


def model_card(name: str = SHIPPED_MODEL) -> dict[str, Any]:
    """The shipped model's description and card, as stored beside its weights."""
    return json.loads(shipped_checkpoint(name).read_text(encoding="utf-8"))
