"""Train-step throughput: rgb vs srm, frame vs sequence model, and the data-loading rate alone.

What it measures is one optimizer step of the recipe as ``noisetrace train`` runs it: the detector's
forward pass (its own normalization or SRM layer included), the class-weighted loss, backward and
Adam, on batches already in memory; and, separately, how fast the data module turns cached PNG crops
into batches. Rgb and srm are timed in alternating rounds and each reports its fastest round: other
processes on a shared machine can only add time, so the minimum is the least disturbed measurement.

Targets (the issue): srm costs at most 3% more than rgb; data loading runs at least 5× the model's
step rate (so the loader never starves the model).

    python benchmarks/train_step.py                     # CPU: XceptionNet at 224², batch 8 / 2×5
    python benchmarks/train_step.py --device cuda       # GPU: bf16 autocast + channels_last, paper batches

Face crops come from ``../shared/data/images`` (real 224² crops) when present, else from synthetic
images; ``--media`` points elsewhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from noisetrace.core.io import atomic_directory, write_json_atomic
from noisetrace.core.manifest import write_manifest
from noisetrace.data.datamodule import FaceDataModule
from noisetrace.faces.cache import META_FILE, FrameRecord, VideoFaces, crop_filename, write_crop
from noisetrace.models import create_detector
from noisetrace.training import DetectorTask, weighted_bce

DEFAULT_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--backbone", default="legacy_xception", help="timm trunk (the paper: legacy_xception)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch", type=int, help="frames per image-model step (default: cpu 8, cuda 32)")
    parser.add_argument("--seq-batch", type=int, help="sequences per sequence-model step (default: cpu 2, cuda 16)")
    parser.add_argument("--seq-len", type=int, default=5)
    parser.add_argument("--steps", type=int, help="timed steps per round (default: cpu 1, cuda 20)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rgb/srm rounds; the fastest is reported")
    parser.add_argument("--workers", type=int, help="data-loader workers (default: cpu 2, cuda the cores, ≤ 16)")
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help="folder with images/ of face crops")
    return parser.parse_args()


# --- a face cache of real crops ---------------------------------------------------------------------


def face_crops(media: Path, size: int) -> list[np.ndarray]:
    """Real 224² face crops (SimSwap's), or smooth synthetic images with noise when they are absent."""
    paths = sorted((media / "images").glob("neuralchen__SimSwap__crop224_*.jpg"))
    crops = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    if not crops:
        print(f"note: no face crops under {media}/images; using synthetic images", file=sys.stderr)
        rng = np.random.default_rng(0)
        crops = [cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (0, 0), 8) for _ in range(8)]
    return [cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) if c.shape[0] != size else c for c in crops]


def write_cache(root: Path, crops: list[np.ndarray], frames: int) -> Path:
    """One 'video' per crop with per-frame sensor-like noise (PNG size and decode cost of real video);
    the last two videos (one real, one fake) form the validation split the data module requires."""
    rng = np.random.default_rng(0)
    rows = []
    for number, crop in enumerate(crops):
        uid = f"bench{number:02d}"
        records = []
        with atomic_directory(root / "cache" / uid) as folder:
            for index in range(frames):
                noisy = np.clip(crop + rng.normal(0, 2, crop.shape), 0, 255).astype(np.uint8)
                write_crop(folder / crop_filename(index), noisy)
                records.append(FrameRecord(index=index, file=crop_filename(index)))
            write_json_atomic(folder / META_FILE, VideoFaces(uid, {}, {}, {}, records).to_json())
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "m", "label": number % 2, "video_id": uid,
             "target_id": uid, "source_id": "", "identity": uid, "compression": "", "path": "",
             "split": "val" if number >= len(crops) - 2 else "train"}
        )  # fmt: skip
    return write_manifest(pd.DataFrame(rows), root / "manifest.csv")


def loading_rate(
    manifest: Path, cache: Path, seq_len: int | None, size: int, batch: int, workers: int, device: str
) -> float:
    """Images per second the training loader delivers as float batches on ``device``, as training sees
    them: decoding, uint8 batches, the copy to the device and the conversion there (first batch excluded:
    worker start-up)."""
    data = FaceDataModule(manifest, cache, seq_len=seq_len, image_size=size, batch_size=batch, num_workers=workers)
    images, start = 0, None
    for x, y in data.train_dataloader():
        x, _ = data.on_after_batch_transfer((x.to(device, non_blocking=True), y), 0)
        if start is None:
            start = time.perf_counter()
            continue
        images += x.shape[0] * (x.shape[1] if x.ndim == 5 else 1)
    if device == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


# --- the train step ----------------------------------------------------------------------------------


class Step:
    """One model in one domain with its optimizer, ready to time optimizer steps on a fixed batch."""

    def __init__(self, name: str, domain: str, args: argparse.Namespace, shape: tuple[int, ...]) -> None:
        torch.manual_seed(0)
        cuda = args.device == "cuda"
        model = create_detector(name, domain=domain, backbone=args.backbone, pretrained=None)
        self.task = DetectorTask(model, class_weights=(1.5, 0.75), channels_last=cuda).to(args.device)
        self.task.train()
        self.optimizer = self.task.configure_optimizers()["optimizer"]
        self.x = torch.rand(shape, device=args.device)
        self.y = (torch.arange(shape[0], device=args.device) % 2).long()
        self.images = shape[0] * (shape[1] if len(shape) == 5 else 1)
        self.device = args.device
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()

    def run(self, steps: int) -> float:
        """Seconds per step over ``steps`` steps."""
        if self.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            with self.autocast:
                loss = weighted_bce(self.task(self.x), self.y, self.task.class_weights)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        if self.device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps


def time_pair(name: str, shape: tuple[int, ...], args: argparse.Namespace, steps: int) -> dict[str, float]:
    """Seconds per step for rgb and srm: the fastest of alternating rounds, after a warm-up."""
    models = {domain: Step(name, domain, args, shape) for domain in ("rgb", "srm")}
    for model in models.values():
        model.run(2 if args.device == "cuda" else 1)  # allocator, cuDNN autotuning, oneDNN primitives
    rounds: dict[str, list[float]] = {"rgb": [], "srm": []}
    for r in range(args.rounds):
        order = ("rgb", "srm") if r % 2 == 0 else ("srm", "rgb")
        for domain in order:
            rounds[domain].append(models[domain].run(steps))
    images = models["rgb"].images
    del models
    if args.device == "cuda":
        torch.cuda.empty_cache()
    return {domain: min(times) for domain, times in rounds.items()} | {"images": images}


def main() -> None:
    args = parse_args()
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("error: --device cuda but torch sees no CUDA device")
    if cuda and not torch.cuda.is_bf16_supported():
        sys.exit("error: this GPU has no bf16 support; the benchmark measures bf16 autocast")
    batch = args.batch or (32 if cuda else 8)
    seq_batch = args.seq_batch or (16 if cuda else 2)
    steps = args.steps or (20 if cuda else 1)
    cores = len(os.sched_getaffinity(0))
    workers = args.workers if args.workers is not None else (min(16, cores) if cuda else min(2, cores))
    if cuda:
        torch.backends.cudnn.benchmark = True
    size, seq_len = args.image_size, args.seq_len
    device_name = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    precision = "bf16 autocast + channels_last" if cuda else "float32"
    print(f"# train step, {args.backbone} {size}², {device_name}, {precision}, torch {torch.__version__}\n")

    results = []
    for name, shape in (
        ("xception", (batch, 3, size, size)),
        ("xception_lstm", (seq_batch, seq_len, 3, size, size)),
    ):
        timing = time_pair(name, shape, args, steps)
        for domain in ("rgb", "srm"):
            results.append((name, domain, timing["images"], timing[domain]))

    with tempfile.TemporaryDirectory(prefix="noisetrace-bench-") as tmp:
        manifest = write_cache(Path(tmp), face_crops(args.media, size), frames=max(64, 8 * batch))
        cache = Path(tmp) / "cache"
        frames_rate = loading_rate(manifest, cache, None, size, batch, workers, args.device)
        seq_rate = loading_rate(manifest, cache, seq_len, size, seq_batch, workers, args.device)

    print("| model | domain | images/step | ms/step | images/s | srm vs rgb |")
    print("|---|---|---:|---:|---:|---:|")
    step_rate = {}
    for name, domain, images, seconds in results:
        rate = images / seconds
        step_rate[(name, domain)] = rate
        rgb = next(s for n, d, _, s in results if n == name and d == "rgb")
        extra = "" if domain == "rgb" else f"{100 * (seconds / rgb - 1):+.1f}%"
        print(f"| {name} | {domain} | {images} | {1000 * seconds:.1f} | {rate:.1f} | {extra} |")
    print(
        f"\n| data loading (PNG → {args.device} floats, {workers} workers) | images/s | per worker | × fastest step |"
    )
    print("|---|---:|---:|---:|")
    fastest_frames = max(step_rate[("xception", d)] for d in ("rgb", "srm"))
    fastest_seq = max(step_rate[("xception_lstm", d)] for d in ("rgb", "srm"))
    for label, rate, step in (
        (f"frames, batch {batch}", frames_rate, fastest_frames),
        (f"sequences, {seq_batch}×{seq_len}", seq_rate, fastest_seq),
    ):
        print(f"| {label} | {rate:.0f} | {rate / max(1, workers):.0f} | {rate / step:.1f}× |")

    print("\ntargets:")
    for name in ("xception", "xception_lstm"):
        cost = step_rate[(name, "rgb")] / step_rate[(name, "srm")] - 1
        print(f"- {name}: srm costs {100 * cost:+.1f}% vs rgb (target ≤ +3%): {'met' if cost <= 0.03 else 'MISSED'}")
    for label, rate, step in (("frames", frames_rate, fastest_frames), ("sequences", seq_rate, fastest_seq)):
        ratio = rate / step
        print(f"- data loading, {label}: {ratio:.1f}× the step rate (target ≥ 5×): {'met' if ratio >= 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
