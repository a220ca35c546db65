"""Agreement of our PyTorch MTCNN with the ``mtcnn`` 1.0.0 TensorFlow cascade it was ported from.

Both run on the same images at full resolution with the same settings (ours' defaults). Faces are
paired per image by maximum-IoU assignment (Hungarian); a pair with IoU ≥ ``--match-iou`` is the same
face. The check passes when the paired faces are at least ``--min-share`` of all distinct faces found
by either side and every pair overlaps with IoU ≥ ``--min-iou``; otherwise it exits 1.

    # reference detections made here, in the reference's own environment (see mtcnn_reference.py)
    python benchmarks/mtcnn_agreement.py --images ../shared/data/images --reference-python .venv-ref/bin/python
    # or from a JSON written earlier by mtcnn_reference.py with the same settings
    python benchmarks/mtcnn_agreement.py --images ../shared/data/images --reference-json ref.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from noisetrace.faces.mtcnn import MTCNN, FaceDetection

REFERENCE_SCRIPT = Path(__file__).resolve().with_name("mtcnn_reference.py")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
COMPARED_SETTINGS = ("min_face_size", "scale_factor", "thresholds", "nms_thresholds")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of images (not recursive)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--reference-json", type=Path, help="output of mtcnn_reference.py")
    source.add_argument("--reference-python", type=Path, help="python of an env with tensorflow + mtcnn==1.0.0")
    parser.add_argument("--save-reference", type=Path, help="keep the reference JSON made with --reference-python")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--match-iou", type=float, default=0.5, help="IoU from which two boxes are one face")
    parser.add_argument("--min-share", type=float, default=0.95, help="target: paired / distinct faces")
    parser.add_argument("--min-iou", type=float, default=0.9, help="target: IoU of every pair")
    return parser.parse_args()


@dataclass
class Tally:
    """Counts and per-pair measurements over all images."""

    images: int = 0
    ours: int = 0
    reference: int = 0
    ious: list[float] = field(default_factory=list)
    landmark_px: list[float] = field(default_factory=list)  # mean over the 5 points, per pair
    landmark_rel: list[float] = field(default_factory=list)  # same, / sqrt(reference box area)
    score_diff: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # faces one side only, pairs under IoU 0.9

    @property
    def matched(self) -> int:
        return len(self.ious)

    @property
    def distinct(self) -> int:
        return self.ours + self.reference - self.matched

    @property
    def share(self) -> float:
        return self.matched / self.distinct if self.distinct else 1.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes (n, 4) and (m, 4) given as x1, y1, x2, y2."""
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(high - low, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def load_rgb(path: Path) -> np.ndarray | None:
    """Decode like the reference script (OpenCV, 3 channels) so both sides see the same pixels."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def run_reference(python: Path, images: Path, settings: dict, output: Path) -> None:
    command = [
        str(python), str(REFERENCE_SCRIPT), "--images", str(images), "-o", str(output),
        "--min-face-size", str(settings["min_face_size"]),
        "--scale-factor", str(settings["scale_factor"]),
        "--thresholds", *map(str, settings["thresholds"]),
        "--nms-thresholds", *map(str, settings["nms_thresholds"]),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"reference run failed ({done.returncode}):\n{done.stderr[-4000:]}")


def compare_image(name: str, ours: list[FaceDetection], reference: list[dict], match_iou: float, tally: Tally) -> None:
    tally.images += 1
    tally.ours += len(ours)
    tally.reference += len(reference)
    mine = np.array([d.box for d in ours], dtype=np.float64).reshape(-1, 4)
    theirs = np.array([f["box"] for f in reference], dtype=np.float64).reshape(-1, 4)
    paired_ours: set[int] = set()
    paired_ref: set[int] = set()
    if len(mine) and len(theirs):
        ious = iou_matrix(mine, theirs)
        for i, j in zip(*linear_sum_assignment(ious, maximize=True), strict=True):
            if ious[i, j] < match_iou:
                continue
            paired_ours.add(i)
            paired_ref.add(j)
            tally.ious.append(float(ious[i, j]))
            error = np.linalg.norm(ours[i].landmarks - np.array(reference[j]["landmarks"]), axis=1).mean()
            size = np.sqrt((theirs[j, 2:] - theirs[j, :2]).prod())
            tally.landmark_px.append(float(error))
            tally.landmark_rel.append(float(error / size))
            tally.score_diff.append(abs(ours[i].score - reference[j]["score"]))
            if ious[i, j] < 0.9:
                tally.notes.append(f"{name}: paired with IoU {ious[i, j]:.3f} only: ours {mine[i].round(1)}")
    for i in sorted(set(range(len(mine))) - paired_ours):
        tally.notes.append(f"{name}: only ours    box {mine[i].round(1)} score {ours[i].score:.3f}")
    for j in sorted(set(range(len(theirs))) - paired_ref):
        tally.notes.append(f"{name}: only the ref box {theirs[j].round(1)} score {reference[j]['score']:.3f}")


def main() -> int:
    args = parse_args()
    detector = MTCNN(device=args.device)
    settings = detector.settings()
    with tempfile.TemporaryDirectory() as scratch:
        if args.reference_python is not None:
            reference_path = args.save_reference or Path(scratch) / "reference.json"
            start = time.perf_counter()
            run_reference(args.reference_python, args.images, settings, reference_path)
            print(f"reference run: {time.perf_counter() - start:.1f} s (incl. TensorFlow start-up)")
        else:
            reference_path = args.reference_json
        reference = json.loads(reference_path.read_text(encoding="utf-8"))
    differing = [k for k in COMPARED_SETTINGS if reference["settings"][k] != settings[k]]
    if differing:
        print(f"settings differ ({', '.join(differing)}): ours {settings}, reference {reference['settings']}")
        return 2

    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    tally = Tally()
    seconds = 0.0
    for path in paths:
        expected = reference["images"].get(path.name)
        rgb = load_rgb(path)
        if expected is None or rgb is None:
            print(f"skipped {path.name}: {'no reference entry' if rgb is not None else 'unreadable'}")
            continue
        if hashlib.sha256(rgb.tobytes()).hexdigest() != expected["pixels_sha256"]:
            print(f"warning: {path.name} decodes to different pixels here than in the reference environment")
        start = time.perf_counter()
        found = detector.detect([rgb])[0]
        seconds += time.perf_counter() - start
        compare_image(path.name, found, expected["faces"], args.match_iou, tally)

    ious = np.array(tally.ious) if tally.ious else np.array([np.nan])
    rows = [
        ("reference", reference["reference"]),
        ("images", f"{tally.images}"),
        ("faces found (ours / reference)", f"{tally.ours} / {tally.reference}"),
        ("same faces found", f"{tally.matched} of {tally.distinct} distinct ({100 * tally.share:.1f}%)"),
        ("IoU over pairs (min / mean)", f"{np.nanmin(ious):.3f} / {np.nanmean(ious):.3f}"),
        (
            "landmark error (mean / max)",
            f"{np.mean(tally.landmark_px or [np.nan]):.2f} / {np.max(tally.landmark_px or [np.nan]):.2f} px "
            f"({100 * np.mean(tally.landmark_rel or [np.nan]):.2f}% / "
            f"{100 * np.max(tally.landmark_rel or [np.nan]):.2f}% of face size)",
        ),
        ("score |difference| (mean / max)", f"{np.mean(tally.score_diff or [np.nan]):.4f} / "
         f"{np.max(tally.score_diff or [np.nan]):.4f}"),
        ("our detection time", f"{seconds:.1f} s ({args.device}, one image at a time)"),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for line in tally.notes:
        print("  " + line)
    ok = tally.share >= args.min_share and (not tally.ious or min(tally.ious) >= args.min_iou)
    print(
        f"{'PASS' if ok else 'FAIL'}: targets same faces ≥ {100 * args.min_share:.0f}%, "
        f"IoU ≥ {args.min_iou} on every pair"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
