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


def test_the_command_imports_only_the_invoked_stage() -> None:
    """`noisetrace extract` starts without Lightning, timm or the training stage (seconds of start-up)."""
    code = (
        "import sys\n"
        "from noisetrace.cli.main import app\n"
        "from typer.main import get_command\n"
        "group = get_command(app)\n"
        "import click\n"
        "assert group.get_command(click.Context(group), 'extract').name == 'extract'\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {(*LIGHTNING, 'timm')!r}"
        " or m.startswith('noisetrace.training') or m.startswith('noisetrace.protocols'))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
