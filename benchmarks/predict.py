"""Time ``noisetrace predict`` on 1080p video, split into decode / detect / model.

The model is the paper's frame classifier (XceptionNet, timm ``legacy_xception``, 224² crops) with
random weights (``pretrained=None``): its speed does not depend on what it learned; ``--checkpoint
shipped`` (or any checkpoint) times that model instead, e.g. the shipped ResNet-18 at 160². The timings are the
ones every prediction records in its JSON (``seconds``): *decode* is decoding plus cropping and writing
the lossless crops, *detect* finding the faces (MTCNN on key frames, tracking between), *model* reading
the crops and the forward passes, *evidence* the HTML page (Grad-CAM, SRM views, timeline) that an
analyst opens; ``--no-html`` leaves it out.

    python benchmarks/predict.py                       # 10 s of 1080p: the DFDC sample (300 frames)
    python benchmarks/predict.py --frames 60 --device cuda
    python benchmarks/predict.py --threads 1             # on a CPU shared with other jobs
    python benchmarks/predict.py --checkpoint shipped    # what `noisetrace predict clip.mp4` runs
    python benchmarks/predict.py --videos a.mp4 b.mp4
    python benchmarks/predict.py --checkpoint shipped --frame-stride 2 --detection every_frame
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from noisetrace.core.device import cpu_name
from noisetrace.faces.video import probe_video
from noisetrace.models import create_detector
from noisetrace.models.checkpoint import input_description, save_checkpoint
from noisetrace.predict import PredictSettings, predict_videos
from noisetrace.pretrained import shipped_checkpoint

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_VIDEOS = [
    SHARED / "samples" / "dfdc_train_part_0" / "brtujopkby.mp4",  # 1080×1920 (portrait), 300 frames = 10.0 s
    SHARED / "real_videos" / "facenet-pytorch_video.mp4",  # 1920×1080, 105 frames = 4.2 s, several faces
]
IMAGE_SIZE = 224


def random_checkpoint(folder: Path) -> Path:
    """An XceptionNet checkpoint with random weights, written as `noisetrace train` writes one."""
    model = create_detector("xception", pretrained=None)
    return save_checkpoint(model, folder / "xception", {"input": input_description(model, IMAGE_SIZE, None)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", type=Path, default=DEFAULT_VIDEOS)
    parser.add_argument("--frames", type=int, default=300, help="frames analysed per video (10 s at 30 fps)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--checkpoint", default=None, help="a checkpoint, or 'shipped' (default: random XceptionNet)")
    parser.add_argument("--no-html", action="store_true", help="leave out the evidence page")
    parser.add_argument("--frame-stride", type=int, default=1)
    parser.add_argument("--detection", default="track", choices=("track", "every_frame"))
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    settings = PredictSettings(
        frames=args.frames,
        device=args.device,
        batch_size=args.batch_size,
        html=not args.no_html,
        frame_stride=args.frame_stride,
        detection=args.detection,
    )
    with tempfile.TemporaryDirectory() as scratch:
        if args.checkpoint is None:
            checkpoint, described = random_checkpoint(Path(scratch)), "XceptionNet 224² (random weights)"
        else:
            checkpoint = shipped_checkpoint() if args.checkpoint == "shipped" else Path(args.checkpoint)
            described = str(checkpoint.name)
        results = predict_videos(args.videos, checkpoint, Path(scratch) / "out", settings=settings)

    print(
        f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), device {args.device}; {described}, batch {args.batch_size}; "
        f"detection {args.detection}, frame stride {args.frame_stride}, "
        f"evidence page {'no' if args.no_html else 'yes'}\n"
    )
    print(
        "| video | size | frames analysed | decode s | detect s | model s | evidence s | total s | ms / frame "
        "| s per 10 s of video |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
    )
    for path, result in zip(args.videos, results, strict=True):
        info = probe_video(path)
        seconds, frames = result["seconds"], result["frames_decoded"]
        span = frames * args.frame_stride  # frames of the video the analysed ones cover
        per_10s = seconds["total"] / (span / info.fps) * 10 if info.fps else float("nan")
        print(
            f"| {path.name} | {info.width}×{info.height} | {frames} | {seconds['decode']:.1f} | "
            f"{seconds['detect']:.1f} | {seconds.get('model', 0.0):.1f} | {seconds.get('evidence', 0.0):.1f} | "
            f"{seconds['total']:.1f} | "
            f"{seconds['total'] / frames * 1000:.0f} | {per_10s:.0f} |"
        )


if __name__ == "__main__":
    main()
