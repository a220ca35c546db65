"""MesoNet (Afchar, Nozick, Yamagishi & Echizen, WIFS 2018): the peer every wild number stands beside.

A PyTorch port of the authors' Keras ``Meso4`` and ``MesoInception4`` that reads their published
weight files (``DariusAf/MesoNet``, ``weights/*.h5``, Apache-2.0) directly, so that a detector's
numbers on real deepfakes always come with those of a published detector on the same face crops.

Facts of the Keras originals the port reproduces (checked by scoring the repository's own sample
images: fakes 0.05 / 0.04, reals 0.99 / 1.00):

- input: a 256×256 RGB face in ``[0, 1]``; output: one sigmoid, ``P(real)``, so ``P(fake) = 1 − y``;
- every convolution is ``Conv → ReLU → BatchNorm (eps 1e-3) → MaxPool``, padding ``same``;
- Keras flattens ``(H, W, C)``: the features are permuted to NHWC before the dense layers;
- HDF5 files hold weights only; layers of one kind are created in the order of their numeric suffix
  (``conv2d_5`` before ``conv2d_6``), which is how they are matched here.

Reading the files needs ``h5py`` (``pip install h5py``; it is in the ``test`` extra). The files hold
arrays only, so loading them runs no code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from noisetrace.core.errors import CheckpointError

__all__ = ["MESONET_INPUT_SIZE", "Meso4", "MesoInception4", "load_mesonet"]

MESONET_INPUT_SIZE = 256
_KERAS_BN_EPS = 1e-3


def _conv(cin: int, cout: int, k: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=dilation * (k - 1) // 2, dilation=dilation)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_KERAS_BN_EPS)


class _Classifier(nn.Module):
    """Flatten (Keras order) → Dense(16) → LeakyReLU(0.1) → Dense(1) → sigmoid = P(real)."""

    def __init__(self) -> None:
        super().__init__()
        self.dense1 = nn.Linear(8 * 8 * 16, 16)
        self.dense2 = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1).flatten(1)
        return torch.sigmoid(self.dense2(F.leaky_relu(self.dense1(x), 0.1)))[:, 0]


class Meso4(nn.Module):
    """Four conv blocks (8, 8, 16, 16 filters) and a small classifier; ``forward`` gives ``P(fake)``."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList([_conv(3, 8, 3), _conv(8, 8, 5), _conv(8, 16, 5), _conv(16, 16, 5)])
        self.bns = nn.ModuleList([_bn(8), _bn(8), _bn(16), _bn(16)])
        self.classifier = _Classifier()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            x = F.max_pool2d(bn(F.relu(conv(x))), 4 if i == 3 else 2)
        return 1.0 - self.classifier(x)


class _Inception(nn.Module):
    """MesoInception's block: 1×1 | 1×1→3×3 | 1×1→3×3 dilated 2 | 1×1→3×3 dilated 3, concatenated."""

    def __init__(self, cin: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        # Creation order of the Keras layers (what the weight files' suffixes follow).
        self.convs = nn.ModuleList(
            [
                _conv(cin, a, 1),
                _conv(cin, b, 1),
                _conv(b, b, 3),
                _conv(cin, c, 1),
                _conv(c, c, 3, dilation=2),
                _conv(cin, d, 1),
                _conv(d, d, 3, dilation=3),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.convs
        branches = [
            F.relu(c[0](x)),
            F.relu(c[2](F.relu(c[1](x)))),
            F.relu(c[4](F.relu(c[3](x)))),
            F.relu(c[6](F.relu(c[5](x)))),
        ]
        return torch.cat(branches, dim=1)


class MesoInception4(nn.Module):
    """Two inception blocks, two 5×5 conv blocks and the classifier; ``forward`` gives ``P(fake)``."""

    def __init__(self) -> None:
        super().__init__()
        self.inception1 = _Inception(3, 1, 4, 4, 2)
        self.inception2 = _Inception(11, 2, 4, 4, 2)
        self.convs = nn.ModuleList([_conv(12, 16, 5), _conv(16, 16, 5)])
        self.bns = nn.ModuleList([_bn(11), _bn(12), _bn(16), _bn(16)])
        self.classifier = _Classifier()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.bns[0](self.inception1(x)), 2)
        x = F.max_pool2d(self.bns[1](self.inception2(x)), 2)
        x = F.max_pool2d(self.bns[2](F.relu(self.convs[0](x))), 2)
        x = F.max_pool2d(self.bns[3](F.relu(self.convs[1](x))), 4)
        return 1.0 - self.classifier(x)


def _keras_layers(path: Path) -> dict[str, list[list[np.ndarray]]]:
    """Weights of each layer kind (conv2d, batch_normalization, dense) in creation order."""
    try:
        import h5py
    except ModuleNotFoundError as err:
        raise CheckpointError("Reading MesoNet's Keras weights needs h5py: pip install h5py") from err
    kinds: dict[str, list[tuple[int, list[np.ndarray]]]] = {}
    try:
        with h5py.File(path, "r") as handle:
            group = handle.get("model_weights", handle)
            for raw in group.attrs["layer_names"]:
                name = raw.decode() if isinstance(raw, bytes) else str(raw)
                names = [w.decode() if isinstance(w, bytes) else str(w) for w in group[name].attrs["weight_names"]]
                match = re.fullmatch(r"(conv2d|batch_normalization|dense)_(\d+)", name)
                if names and match:
                    arrays = [np.asarray(group[name][w]) for w in names]
                    kinds.setdefault(match.group(1), []).append((int(match.group(2)), arrays))
    except (OSError, KeyError) as err:
        raise CheckpointError(f"{path} is not a Keras HDF5 weights file of MesoNet ({err}).") from err
    return {kind: [arrays for _, arrays in sorted(layers, key=lambda t: t[0])] for kind, layers in kinds.items()}


def _assign(module: nn.Module, arrays: list[np.ndarray]) -> None:
    tensors = [torch.from_numpy(np.ascontiguousarray(a)).float() for a in arrays]
    if isinstance(module, nn.Conv2d):
        module.weight.data.copy_(tensors[0].permute(3, 2, 0, 1))  # (kh, kw, in, out) → (out, in, kh, kw)
        module.bias.data.copy_(tensors[1])
    elif isinstance(module, nn.BatchNorm2d):
        gamma, beta, mean, var = tensors
        module.weight.data.copy_(gamma)
        module.bias.data.copy_(beta)
        module.running_mean.copy_(mean)
        module.running_var.copy_(var)
    else:
        module.weight.data.copy_(tensors[0].T)
        module.bias.data.copy_(tensors[1])


def load_mesonet(path: str | os.PathLike[str]) -> nn.Module:
    """The MesoNet variant in ``path`` (``Meso4_*.h5`` or ``MesoInception_*.h5``), in eval mode.

    The model maps ``(B, 3, 256, 256)`` RGB in ``[0, 1]`` to ``P(fake)`` ``(B,)``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"MesoNet weights not found: {path}")
    layers = _keras_layers(path)
    model: nn.Module = MesoInception4() if path.name.startswith("MesoInception") else Meso4()
    if isinstance(model, MesoInception4):
        convs = [*model.inception1.convs, *model.inception2.convs, *model.convs]
    else:
        convs = list(model.convs)
    targets = {
        "conv2d": convs,
        "batch_normalization": list(model.bns),
        "dense": [model.classifier.dense1, model.classifier.dense2],
    }
    for kind, modules in targets.items():
        found = layers.get(kind, [])
        if len(found) != len(modules):
            raise CheckpointError(
                f"{path} holds {len(found)} {kind} layers, {type(model).__name__} has {len(modules)}: "
                "not a MesoNet weights file of this variant."
            )
        for module, arrays in zip(modules, found, strict=True):
            _assign(module, arrays)
    return model.eval()
