"""Evaluating a large predictions table: wall time and peak memory of ``evaluate_predictions``.

What it measures is ``noisetrace evaluate`` after inference: reading the predictions CSV (columns of
:mod:`noisetrace.core.predictions`), and frame- and video-level metrics with their video-bootstrap
CIs (``n_resamples`` resamples of whole videos for each of 7 metrics at both levels). The table is
synthetic: ``--videos`` videos × ``--frames`` frames (default 31,250 × 32 = 1,000,000 rows), half of
the videos fake, scores from two overlapping distributions (a per-video offset plus per-frame noise,
through a sigmoid), written to a temporary folder. Each run happens in a fresh child process, so
its peak resident memory (``VmHWM``, the high-water mark of the child alone) is that of the
evaluation and nothing else; a child that only imports ``noisetrace.evaluation`` gives the floor.

Target (the issue): peak memory below 500 MB for 1,000,000 rows and 1,000 resamples.

    python benchmarks/evaluate.py                                  # 1,000,000 rows, 1,000 resamples
    python benchmarks/evaluate.py --videos 700 --resamples 200     # a quick run
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_MB = 500.0

# Runs in the child: the step, then one JSON line with its wall time and the child's peak RSS.
CHILD = """
import json, resource, sys, time
start = time.perf_counter()
import noisetrace.evaluation
from noisetrace.evaluation.predictions import evaluate_predictions
imported = time.perf_counter()
args = json.loads(sys.argv[1])
if args["csv"]:
    evaluate_predictions(args["csv"], n_resamples=args["resamples"], out_path=args["out"])
done = time.perf_counter()
try:
    status = open("/proc/self/status", encoding="ascii").read()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_s": imported - start, "run_s": done - imported, "peak_kb": peak_kb}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=31_250)
    parser.add_argument("--frames", type=int, default=32, help="rows (frames) per video")
    parser.add_argument("--resamples", type=int, default=1000, help="video-bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic scores")
    return parser.parse_args()


def write_predictions(path: Path, videos: int, frames: int, seed: int) -> int:
    """A predictions CSV of ``videos × frames`` rows, one frame model's scores; returns the row count."""
    rng = np.random.default_rng(seed)
    fake = np.arange(videos) % 2 == 1
    uids = np.array([f"{'fake' if f else 'real'}_{i:06d}" for i, f in enumerate(fake)], dtype=object)
    offset = rng.normal(0.0, 1.0, videos) + np.where(fake, 1.0, -1.0)  # two overlapping distributions
    logits = np.repeat(offset, frames) + rng.normal(0.0, 1.0, videos * frames)
    frame = np.tile(np.arange(frames), videos)
    table = pd.DataFrame(
        {
            "uid": np.repeat(uids, frames),
            "label": np.repeat(fake.astype(np.int64), frames),
            "method": np.repeat(np.where(fake, "Deepfakes", "real"), frames),
            "frame_start": frame,
            "frame_end": frame,
            "score": (1.0 / (1.0 + np.exp(-logits))).astype(np.float32),  # as a model's float32 output
        }
    )
    table.to_csv(path, index=False)
    return len(table)


def run_child(csv: Path | None, out: Path | None, resamples: int) -> dict[str, float]:
    """Wall time and peak RSS of a fresh interpreter that evaluates ``csv`` (or only imports)."""
    payload = json.dumps({"csv": str(csv) if csv else "", "out": str(out) if out else "", "resamples": resamples})
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, payload], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: the child process failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result | {"wall_s": wall, "peak_mb": result["peak_kb"] / 1024}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "predictions.csv"
        start = time.perf_counter()
        rows = write_predictions(csv, args.videos, args.frames, args.seed)
        written = time.perf_counter() - start
        size_mb = csv.stat().st_size / 1e6
        bare = run_child(None, None, args.resamples)
        evaluated = run_child(csv, Path(folder) / "metrics.json", args.resamples)
        metrics = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
    children_max_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print(
        f"# evaluate_predictions, {rows:,} rows ({args.videos:,} videos × {args.frames} frames, "
        f"{size_mb:.0f} MB CSV, written in {written:.1f} s), {args.resamples:,} resamples, "
        f"numpy {np.__version__}, pandas {pd.__version__}\n"
    )
    print("| child process | import s | run s | wall s | rows/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| import noisetrace.evaluation | {bare['import_s']:.2f} | – | {bare['wall_s']:.2f} | – "
        f"| {bare['peak_mb']:.0f} |"
    )
    print(
        f"| evaluate_predictions | {evaluated['import_s']:.2f} | {evaluated['run_s']:.2f} | "
        f"{evaluated['wall_s']:.2f} | {rows / evaluated['run_s']:,.0f} | {evaluated['peak_mb']:.0f} |"
    )
    print(
        f"\nabove the bare import: {evaluated['peak_mb'] - bare['peak_mb']:.0f} MB "
        f"(largest child by getrusage(RUSAGE_CHILDREN): {children_max_mb:.0f} MB)"
    )
    frame, video = metrics["frame"]["metrics"], metrics["video"]["metrics"]
    print(
        f"frame AUC {frame['roc_auc']['value']:.4f} [{frame['roc_auc']['low']:.4f}, {frame['roc_auc']['high']:.4f}], "
        f"video AUC {video['roc_auc']['value']:.4f} [{video['roc_auc']['low']:.4f}, {video['roc_auc']['high']:.4f}]"
    )
    verdict = "PASS" if evaluated["peak_mb"] < TARGET_MB else "FAIL"
    print(f"\ntarget: peak RSS < {TARGET_MB:.0f} MB: {verdict} ({evaluated['peak_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
