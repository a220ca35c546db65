"""Face-extraction speed and accuracy: ours (detect on key frames, track between) vs per-frame MTCNN.

For each video, on the same decoded frames:

- *decode*: PyAV to RGB (what any pipeline pays);
- *find faces*: ours (:class:`noisetrace.faces.detection.FaceFinder`: full cascade on key frames, on
  frames down-scaled to 640 px for proposals, R-Net/O-Net tracking between) vs the reference, the
  full-resolution MTCNN cascade on every frame (the paper's literal procedure);
- *crop + write*: cutting and writing the lossless 224² crops;
- *end to end*: :meth:`FaceExtractor.process`, what ``noisetrace extract`` runs per video (decoding in
  a background thread, meta.json and overview included), ours vs the reference settings;
- the subject box of ours against the reference's in every frame (IoU median and 5th percentile),
  beside the reference against *itself* on the same frames shifted by 3 pixels (MTCNN's own jitter:
  a faster path within it loses nothing the detector has), and subject switches (frames where the
  two subjects do not overlap at all).

Then the command itself: ``noisetrace extract`` on the four 1280×720 videos of ../shared/data/real_videos
(start-up and PNG writes included), against decoding the same frames in the same run, with plain PyAV
and with noisetrace's threaded decoder.

    python benchmarks/extract.py                     # the default videos, 120 frames each
    python benchmarks/extract.py --frames 60 --device cuda
    python benchmarks/extract.py --skip-command a.mp4 b.mp4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from noisetrace.core.device import cpu_name
from noisetrace.faces.cache import FaceCache, crop_filename, write_crop
from noisetrace.faces.detection import FaceFinder
from noisetrace.faces.extract import ExtractSettings, FaceExtractor
from noisetrace.faces.geometry import box_iou, crop_and_resize, enlarge_box
from noisetrace.faces.mtcnn import MTCNN
from noisetrace.faces.video import iter_frames, probe_video, read_frames

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_VIDEOS = SHARED / "real_videos"
DEFAULT_VIDEOS = [
    REAL_VIDEOS / "KwaiVGI__LivePortrait__s18.mp4",  # 1280×720
    REAL_VIDEOS / "facenet-pytorch_video.mp4",  # 1920×1080, several people, camera pans
    SHARED / "samples" / "dfdc_train_part_0" / "brtujopkby.mp4",  # 1080×1920 portrait (DFDC)
]
COMMAND_VIDEOS = [  # the four 1280×720 (or 720×1280) videos
    REAL_VIDEOS / "KwaiVGI__LivePortrait__d13.mp4",
    REAL_VIDEOS / "KwaiVGI__LivePortrait__s18.mp4",
    REAL_VIDEOS / "KwaiVGI__LivePortrait__s32.mp4",
    REAL_VIDEOS / "ai-forever__ghost__nggyup.mp4",
]
JITTER_SHIFT = 3


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def reference_jitter(detector: MTCNN, frames: list[np.ndarray], batch: int) -> list[float]:
    """IoU of full-resolution MTCNN with itself when the frame moves by :data:`JITTER_SHIFT` pixels."""
    shift = JITTER_SHIFT
    moved = [
        np.ascontiguousarray(np.pad(f, ((shift, 0), (shift, 0), (0, 0)), mode="edge")[:-shift, :-shift]) for f in frames
    ]
    original, shifted = (
        [d for start in range(0, len(fs), batch) for d in detector.detect(fs[start : start + batch])]
        for fs in (frames, moved)
    )
    ious = []
    for faces, faces_moved in zip(original, shifted, strict=True):
        for face in faces_moved:
            if face.score > 0.9 and faces:
                ious.append(max(box_iou(face.box - shift, other.box) for other in faces))
    return ious


def subject_boxes(cache_root: str, uid: str) -> dict[int, np.ndarray]:
    return {f.index: np.array(f.box) for f in FaceCache(cache_root).read_meta(uid).face_frames}


def bench_video(path: Path, frames: int, device: str, batch: int) -> tuple[list[tuple], dict]:
    info = probe_video(path)
    detector = MTCNN(device=device)
    t_decode, decoded = timed(lambda: read_frames(path, frames))
    n = len(decoded)
    ours = FaceFinder(detector, proposal_max_side=ExtractSettings.detect_max_side, batch_size=batch)
    reference = FaceFinder(detector, mode="every_frame", proposal_max_side=None, batch_size=batch)
    list(ours.faces(enumerate(decoded[:8])))  # warm-up
    t_find_ours, found = timed(lambda: list(ours.faces(enumerate(decoded))))
    t_find_ref, _ = timed(lambda: list(reference.faces(enumerate(decoded))))

    def crop_and_write() -> None:
        with tempfile.TemporaryDirectory() as folder:
            for frame in found:
                if frame.faces:
                    box = enlarge_box(frame.faces[0].box)
                    write_crop(Path(folder) / crop_filename(frame.index), crop_and_resize(frame.rgb, box))

    t_crop, _ = timed(crop_and_write)
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as ref_dir:
        ours_settings = ExtractSettings(frames=frames, batch_size=batch, device=device)
        ref_settings = ExtractSettings(
            frames=frames, batch_size=batch, device=device, detect_max_side=None, detection="every_frame"
        )
        t_e2e_ours, _ = timed(lambda: FaceExtractor(ours_settings, detector).process("v", path, Path(ours_dir)))
        t_e2e_ref, _ = timed(lambda: FaceExtractor(ref_settings, detector).process("v", path, Path(ref_dir)))
        a, b = subject_boxes(ours_dir, "v"), subject_boxes(ref_dir, "v")
        meta = FaceCache(ours_dir).read_meta("v")
    common = sorted(set(a) & set(b))
    ious = np.array([box_iou(a[i], b[i]) for i in common])
    jitter = np.array(reference_jitter(detector, decoded[:32], batch))
    tracked = sum(f.detection == "tracked" for f in meta.frames)
    name = f"{path.name} ({info.width}×{info.height})"
    rows = [
        (name, "decode", rate(n, t_decode), rate(n, t_decode)),
        (name, "find faces", rate(n, t_find_ours), rate(n, t_find_ref)),
        (name, "crop + write", rate(n, t_crop), rate(n, t_crop)),
        (name, "**end to end**", rate(n, t_e2e_ours), rate(n, t_e2e_ref)),
    ]
    accuracy = {
        "video": name,
        "tracked": f"{tracked}/{len(meta.frames)}",
        "subject frames": f"{len(a)} / {len(b)}",
        "iou": (float(np.median(ious)), float(np.percentile(ious, 5))) if len(ious) else (float("nan"),) * 2,
        "jitter": (float(np.median(jitter)), float(np.percentile(jitter, 5))) if len(jitter) else (float("nan"),) * 2,
        "switches": int((ious == 0).sum()),
    }
    return rows, accuracy


def plain_pyav_frames(video: Path, frames: int) -> int:
    """Decode to RGB as a script would: ``av.open``, ``decode``, ``to_ndarray``, PyAV's default threading."""
    count = 0
    with av.open(str(video)) as container:
        for count, frame in enumerate(container.decode(video=0), start=1):
            frame.to_ndarray(format="rgb24")
            if count == frames:
                break
    return count


def bench_command(videos: list[Path], frames: int) -> tuple[float, float, float, int]:
    """``noisetrace extract`` on ``videos`` (indexed first, not timed) against decoding the same frames:
    with plain PyAV, and with noisetrace's decoder (FFmpeg threads on every core)."""
    cli = Path(sys.executable).with_name("noisetrace")
    command = [str(cli)] if cli.is_file() else [sys.executable, "-m", "noisetrace.cli"]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "videos"
        (root / "real").mkdir(parents=True)
        for video in videos:
            os.symlink(video.resolve(), root / "real" / video.name)
        manifest = Path(scratch) / "manifest.parquet"
        subprocess.run(
            [*command, "index", str(root), "-d", "folder", "-o", str(manifest)], check=True, capture_output=True
        )
        start = time.perf_counter()
        subprocess.run(
            [*command, "extract", str(manifest), "-o", str(Path(scratch) / "faces"), "--frames", str(frames)],
            check=True,
            capture_output=True,
        )
        t_command = time.perf_counter() - start
    t_plain, count = timed(lambda: sum(plain_pyav_frames(video, frames) for video in videos))
    t_ours, _ = timed(lambda: sum(1 for video in videos for _ in iter_frames(video, frames)))
    return rate(count, t_command), rate(count, t_plain), rate(count, t_ours), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, default=DEFAULT_VIDEOS)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--skip-command", action="store_true", help="skip timing the `noisetrace extract` command")
    args = parser.parse_args()
    print(
        f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"device {args.device}, {args.frames} frames per video\n"
    )
    rows, accuracy = [], []
    for video in args.videos:
        video_rows, video_accuracy = bench_video(video, args.frames, args.device, args.batch_size)
        rows += video_rows
        accuracy.append(video_accuracy)
    print("| video | stage | ours frames/s | per-frame full-res MTCNN frames/s | speed-up |\n|---|---|--:|--:|--:|")
    for name, stage, ours, ref in rows:
        print(f"| {name} | {stage} | {ours:.1f} | {ref:.1f} | {ours / ref:.2f}× |")
    print(
        f"\n| video | frames tracked | subject in (ours / ref) | subject IoU ours vs ref: median, 5th pct | "
        f"ref vs itself shifted {JITTER_SHIFT} px (32 frames): median, 5th pct | subject switches |\n"
        "|---|--:|--:|--:|--:|--:|"
    )
    for row in accuracy:
        print(
            f"| {row['video']} | {row['tracked']} | {row['subject frames']} | {row['iou'][0]:.3f}, {row['iou'][1]:.3f} "
            f"| {row['jitter'][0]:.3f}, {row['jitter'][1]:.3f} | {row['switches']} |"
        )
    if not args.skip_command:
        videos = [v for v in COMMAND_VIDEOS if v.is_file()]
        command_rate, plain_rate, ours_rate, count = bench_command(videos, args.frames)
        print(
            f"\n`noisetrace extract` on {len(videos)} 720p videos × {args.frames} frames ({count} frames, index "
            f"excluded, start-up included): {command_rate:.1f} frames/s. Decoding the same frames: plain PyAV "
            f"{plain_rate:.1f} frames/s (ratio {command_rate / plain_rate:.2f}×), noisetrace's threaded decoder "
            f"{ours_rate:.1f} frames/s (ratio {command_rate / ours_rate:.2f}×)"
        )


if __name__ == "__main__":
    main()
