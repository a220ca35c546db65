"""Frozen warm-up in the SRM domain: what the head sees while the backbone is frozen (issue #10, item 7).

The paper trains the head (or the LSTM) for three epochs on a frozen ImageNet XceptionNet, for RGB and
SRM inputs alike (§3.3). A frozen backbone in eval mode (``optim.frozen_batchnorm=eval``) normalizes
with the running statistics it came with, which describe normalized colour images; SRM residuals are
far smaller than that. This script measures the two things that decide the SRM columns' setting:

1. **Input scale** (no weights involved): per-channel standard deviation of what reaches the backbone's
   first convolution, for normalized RGB (``legacy_xception``: mean = std = 0.5; and ImageNet
   mean/std for comparison) and for the SRM residuals (``srm_placement`` before_norm, the default, and
   after_norm). Residual statistics skip the two-pixel border, where the zero padding answers the
   image edge.
2. **The head's input** (the 2048 pooled backbone features) under each warm-up option, on a stand-in
   for the pretrained trunk: ImageNet weights cannot be downloaded here, so the trunk is a random-init
   ``legacy_xception`` whose BatchNorm running statistics are re-estimated on RGB face crops (the
   role ImageNet statistics play: they describe normalized colour images, not residuals). Options:

   ``rgb eval``       the paper's RGB setting, the reference
   ``srm eval``       residuals through the RGB statistics (``frozen_batchnorm=eval``)
   ``srm train``      batch statistics while frozen (``frozen_batchnorm=train``), batches of 32
   ``srm x k eval``   residuals multiplied by one constant k (their std brought to normalized RGB's)
   ``srm eval, re-estimated``  eval mode after ``train`` has re-estimated the running statistics on
                      residuals: what validation sees during and after a ``train`` warm-up

   Columns: the std of the backbone's input (whole map, border included); the per-channel std and
   |mean| of every BatchNorm layer's output over the measured images (std 1 and mean 0 when the
   statistics it normalizes with match its input; first, median and last of the 40 layers); mean and
   between-image spread (per-feature std across images, averaged over features) of the head input, the
   spread relative to ``rgb eval``; and the real/fake separation |mu_fake - mu_real| / sigma averaged
   over features (scale-free: the information left, whatever the scale).

   Limitation: random filters are not frequency-selective, ImageNet's first-layer filters are (many
   are smooth colour detectors that residuals barely excite), so with the real weights one global
   ``k`` restores less than it does here; per-channel statistics (``train``) do not depend on that.

Data: a face cache and manifest (``noisetrace index`` + ``noisetrace extract``, e.g. of
``../shared/data/real_faces``), real crops of the train split for the statistics and of the val split
for the measurement; with ``--blend online`` (default) half the measured items are the fakes the wild
recipe makes from them (self-blend, swap, resample), each real crop paired with its own fake.

    python benchmarks/srm_warmup.py --manifest M --cache C          # ~2 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from noisetrace.data.blending import BlendSettings, parse_blend_methods
from noisetrace.data.datamodule import FaceDataModule
from noisetrace.data.transforms import to_unit_float
from noisetrace.models import create_detector
from noisetrace.models.layers import SRMConv2d

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--blend", choices=("online", "none"), default="online")
    parser.add_argument("--calib", type=int, default=128, help="train items for the running statistics")
    parser.add_argument("--items", type=int, default=128, help="val items measured")
    parser.add_argument("--batch-size", type=int, default=32, help="the paper's image batch")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def paired_subset(dataset: Dataset, count: int, reals: int | None) -> Subset:
    """``count`` items spread over the dataset; with online blending, real crops and their own fakes."""
    if reals is None:
        return Subset(dataset, np.linspace(0, len(dataset) - 1, count).round().astype(int).tolist())
    chosen = np.linspace(0, reals - 1, count // 2).round().astype(int)
    return Subset(dataset, [*chosen.tolist(), *(reals + chosen).tolist()])


def load_images(dataset: Dataset, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every item as float pixels in [0, 1], shuffled once (so that batches mix real and fake)."""
    xs, ys = zip(*(dataset[i] for i in range(len(dataset))), strict=True)
    x, y = to_unit_float(torch.stack(xs)), torch.tensor(ys)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    return x[order], y[order]


def channel_std(t: torch.Tensor, border: int = 0) -> list[float]:
    if border:
        t = t[..., border:-border, border:-border]
    return t.transpose(0, 1).flatten(1).std(dim=1).tolist()


def batches(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    return list(torch.split(x, size))


@torch.no_grad()
def estimate_statistics(backbone: nn.Module, inputs: list[torch.Tensor]) -> None:
    """Running statistics = the exact mean/variance over ``inputs`` (cumulative average, momentum None)."""
    norms = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    backbone.train()
    for batch in inputs:
        backbone(batch)
    for m in norms:
        m.momentum = 0.1
    backbone.eval()


class NormStatistics:
    """Per-channel mean and std, over every measured image, of each BatchNorm layer's output.

    A stand-in trunk keeps BatchNorm's initial affine (weight 1, bias 0), so the output *is* the
    normalized input: std 1 and mean 0 per channel when the statistics used match the input.
    """

    def __init__(self, backbone: nn.Module) -> None:
        self.sums: dict[str, list[torch.Tensor]] = {}
        self.order: list[str] = []
        self.handles = []
        for name, module in backbone.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                self.order.append(name)
                self.handles.append(module.register_forward_hook(self._hook(name)))

    def _hook(self, name: str) -> Callable:
        def hook(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
            t = out.detach().double()  # read now: the ReLU that follows works in place
            parts = [t.sum((0, 2, 3)), (t * t).sum((0, 2, 3)), torch.tensor(t.numel() / t.shape[1])]
            if name not in self.sums:
                self.sums[name] = parts
            else:
                for a, b in zip(self.sums[name], parts, strict=True):
                    a += b

        return hook

    def layer(self, name: str) -> tuple[float, float]:
        """(mean over channels of the std, mean over channels of |mean|)."""
        total, squares, n = self.sums[name]
        mean = total / n
        std = (squares / n - mean * mean).clamp_min(0).sqrt()
        return float(std.mean()), float(mean.abs().mean())

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


@torch.no_grad()
def measure(backbone: nn.Module, inputs: list[torch.Tensor], labels: torch.Tensor, bn_train: bool) -> dict:
    backbone = copy.deepcopy(backbone)  # train mode would update the running statistics
    backbone.train(bn_train)
    norms = NormStatistics(backbone)
    features = torch.cat([backbone(batch) for batch in inputs])
    norms.close()
    layers = [norms.layer(name) for name in norms.order]
    spread = features.std(dim=0)
    real, fake = features[labels == 0], features[labels == 1]
    pooled = ((real.var(dim=0) + fake.var(dim=0)) / 2).sqrt()
    live = pooled > 1e-12
    separation = ((fake.mean(0) - real.mean(0)).abs()[live] / pooled[live]).mean() if live.any() else torch.tensor(0)
    return {
        "input_std": float(torch.cat(inputs).std()),
        "bn_first": layers[0][0],
        "bn_median": float(np.median([std for std, _ in layers])),
        "bn_last": layers[-1][0],
        "bn_shift": float(np.median([shift for _, shift in layers])),
        "bn_layers": len(layers),
        "mean": float(features.mean()),
        "spread": float(spread.mean()),
        "separation": float(separation),
    }


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    blend = None
    if args.blend == "online":
        blend = BlendSettings(0.5, parse_blend_methods("selfblend:0.6,swap:0.2,resample:0.2"))
    data = FaceDataModule(args.manifest, args.cache, image_size=args.image_size, num_workers=0, blend=blend)
    data.setup()
    assert data.train_index is not None and data.val_index is not None

    def split_images(index, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        dataset = data._dataset(index, 0.0)  # deterministic: validation-style fakes, no augmentation
        reals = sum(1 for label in index.labels if label == 0) if blend is not None else None
        return load_images(paired_subset(dataset, count, reals), args.seed)

    calib_x, _ = split_images(data.train_index, args.calib)
    val_x, val_y = split_images(data.val_index, args.items)
    print(f"{len(calib_x)} train crops for the statistics, {len(val_x)} val crops measured "
          f"({int(val_y.sum())} fake), {args.image_size}²\n")  # fmt: skip

    # 1. input scale, no weights involved
    srm = SRMConv2d()
    legacy = (val_x - 0.5) / 0.5
    imagenet = (val_x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        before, after = srm(val_x), srm(legacy)
    reference = float(np.mean(channel_std(legacy)))
    print("| backbone input | std R | std G | std B | mean std | vs normalized RGB |")
    print("|---|---|---|---|---|---|")
    for name, t, border in (
        ("RGB, (x - 0.5) / 0.5 (legacy_xception)", legacy, 0),
        ("RGB, ImageNet mean/std", imagenet, 0),
        ("SRM before_norm (default)", before, 2),
        ("SRM after_norm", after, 2),
    ):
        stds = channel_std(t, border)
        mean = float(np.mean(stds))
        print(f"| {name} | {' | '.join(f'{s:.4f}' for s in stds)} | {mean:.4f} | 1/{reference / mean:.1f} |")
    print("(SRM channels are the KB, KV and second-order kernels, not colours)\n")

    # 2. the head's input under each warm-up option, on a stand-in for the pretrained trunk
    torch.manual_seed(args.seed)
    rgb_model = create_detector("xception", domain="rgb", pretrained=None).eval()
    srm_model = create_detector("xception", domain="srm", pretrained=None).eval()
    srm_model.backbone.load_state_dict(rgb_model.backbone.state_dict())

    def stage(model: nn.Module, x: torch.Tensor, scale: float = 1.0) -> list[torch.Tensor]:
        with torch.no_grad():
            return [model.input_stage(b) * scale for b in batches(x, args.batch_size)]

    estimate_statistics(rgb_model.backbone, stage(rgb_model, calib_x))
    trunk = rgb_model.backbone  # statistics of normalized RGB, as ImageNet's are
    srm_calib = stage(srm_model, calib_x)
    k = float(torch.cat(stage(rgb_model, calib_x)).std() / torch.cat(srm_calib).std())
    resampled = copy.deepcopy(trunk)
    estimate_statistics(resampled, srm_calib)

    rgb_in, srm_in = stage(rgb_model, val_x), stage(srm_model, val_x)
    options: list[tuple[str, Callable[[], dict]]] = [
        ("rgb, BN eval (the paper's RGB setting)", lambda: measure(trunk, rgb_in, val_y, False)),
        ("srm, BN eval (frozen_batchnorm=eval)", lambda: measure(trunk, srm_in, val_y, False)),
        ("srm, BN train (frozen_batchnorm=train)", lambda: measure(trunk, srm_in, val_y, True)),
        (f"srm x {k:.1f}, BN eval", lambda: measure(trunk, stage(srm_model, val_x, k), val_y, False)),
        ("srm, BN eval, statistics re-estimated by train", lambda: measure(resampled, srm_in, val_y, False)),
    ]
    rows = [(name, run()) for name, run in options]
    print(f"| warm-up option | input std | BN output std: first / median / last of {rows[0][1]['bn_layers']} "
          "| BN output mean, median abs | head input mean | head input spread | spread vs rgb "
          "| real/fake separation |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0][1]["spread"]
    for name, r in rows:
        print(f"| {name} | {r['input_std']:.4f} | {r['bn_first']:.3f} / {r['bn_median']:.3f} / {r['bn_last']:.3f} "
              f"| {r['bn_shift']:.3f} | {r['mean']:.4f} | {r['spread']:.5f} | {r['spread'] / base:.3f} "
              f"| {r['separation']:.3f} |")  # fmt: skip
    print("\nStand-in trunk: random-init legacy_xception, BatchNorm statistics estimated on RGB train crops "
          "(no ImageNet weights here); see the module docstring.")  # fmt: skip


if __name__ == "__main__":
    main()
