"""Inference needs neither Lightning nor the training stage: ``noisetrace predict``, the checkpoint
format and ``predict_split`` import light (issue 11)."""

from __future__ import annotations

import subprocess
import sys

LIGHTNING = ("lightning", "lightning_fabric", "pytorch_lightning", "torchmetrics")


def test_inference_imports_neither_lightning_nor_training() -> None:
    code = (
        "import sys\n"
        "import noisetrace.cli.predict, noisetrace.data.inference, noisetrace.models.checkpoint, noisetrace.predict\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {LIGHTNING!r}"
        " or m == 'noisetrace.training' or m.startswith('noisetrace.training.'))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
