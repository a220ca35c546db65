"""How detectors do on real deepfakes made by other people, beside a published peer (MesoNet).

    python benchmarks/wild.py --checkpoint shipped
    python benchmarks/wild.py --checkpoint runs/wild/checkpoints/best.json --checkpoint runs/rgb/... \\
        --crf 23,32,40

``--checkpoint`` takes any noisetrace checkpoint, or ``shipped`` for the model inside the package.
The wild set (``../shared/data/wild_dev`` by default) is a ``folder`` dataset of real videos and real
deepfakes from several generator families; its ``catalog.csv`` names each fake's family. It is an
*evaluation* set: nothing here trains on it or picks a threshold from it; thresholds come from each
checkpoint (its calibrated validation threshold when it has one, else 0.5).

For every detector it prints one table: video AUC over all videos with a 95% bootstrap CI over
videos, AUC of each family's fakes against all reals (with its CI), and accuracy at the detector's
threshold. Video scores are the mean of the frame scores over the first ``--frames`` frames, faces
cropped exactly as in training (MTCNN, ×1.2 box, 224²). MesoNet (Afchar et al., WIFS 2018; the four
published weight files in ``../shared/peers/mesonet``) scores the same crops, resized to its 256².

``--crf 23,32,40`` repeats everything on copies of the wild videos re-encoded with H.264 at those
CRFs, and on a copy at half resolution (CRF 23): how much of each score survives recompression.

Extracted faces and predictions are kept under ``--work`` (default ``wild-bench/``), so a rerun
with another checkpoint only scores.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import torch

from noisetrace.core.io import write_text_atomic
from noisetrace.data import index_split
from noisetrace.data.inference import predict_split
from noisetrace.datasets import index_dataset
from noisetrace.evaluation.bootstrap import bootstrap_ci
from noisetrace.evaluation.calibration import calibrate
from noisetrace.evaluation.metrics import MetricError, accuracy, aggregate_by_video, roc_auc
from noisetrace.faces.cache import FaceCache, read_crop
from noisetrace.faces.extract import ExtractSettings, extract_manifest
from noisetrace.faces.video import iter_frames
from noisetrace.models.checkpoint import read_checkpoint_info
from noisetrace.models.mesonet import MESONET_INPUT_SIZE, load_mesonet
from noisetrace.pretrained import shipped_checkpoint

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_WILD = PROJECT.parent / "shared" / "data" / "wild_dev"
DEFAULT_MESONET = PROJECT.parent / "shared" / "peers" / "mesonet"
MESONET_FILES = ("Meso4_DF.h5", "Meso4_F2F.h5", "MesoInception_DF.h5", "MesoInception_F2F.h5")


@dataclass
class VideoScores:
    """One detector's score per video of one variant of the wild set."""

    detector: str
    uids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    threshold: float


def wild_manifest(root: Path) -> pd.DataFrame:
    """The wild set as manifest rows (all in split ``test``) with each video's family."""
    manifest = index_dataset("folder", root)
    manifest["split"] = "test"
    families: dict[str, str] = {}
    catalog = root / "catalog.csv"
    if catalog.is_file():
        with catalog.open(newline="", encoding="utf-8") as handle:
            families = {row["file"]: row["family"] for row in csv.DictReader(handle)}
    manifest["family"] = [
        families.get(Path(p).relative_to(root).as_posix(), method if label else "real")
        for p, method, label in zip(manifest["path"], manifest["method"], manifest["label"], strict=True)
    ]
    return manifest


def reencode(source: Path, target: Path, crf: int, scale: float) -> None:
    """``source`` re-encoded with H.264 (libx264, ``crf``), optionally scaled, first 10 s at most."""
    if target.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.stem + ".tmp.mp4")
    with av.open(str(source)) as probe:
        rate = probe.streams.video[0].average_rate or Fraction(25)
    with av.open(str(tmp), "w") as out:
        stream = None
        for _, rgb in iter_frames(source, max_frames=int(10 * rate)):
            if scale != 1.0:
                height, width = rgb.shape[:2]
                size = (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            else:  # libx264 with yuv420p needs even sides
                rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
            if stream is None:
                stream = out.add_stream("libx264", rate=rate)
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "faster"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                out.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)
    tmp.rename(target)


def variant_manifest(manifest: pd.DataFrame, root: Path, work: Path, crf: int, scale: float) -> pd.DataFrame:
    """The wild set re-encoded (files under ``work``), same uids and labels."""
    copy = manifest.copy()
    paths = []
    for path in manifest["path"]:
        target = work / Path(path).relative_to(root).with_suffix(".mp4")
        reencode(Path(path), target, crf, scale)
        paths.append(str(target))
    copy["path"] = paths
    return copy


def _video_scores(name: str, frame: pd.DataFrame, manifest: pd.DataFrame, threshold: float) -> VideoScores:
    uids, labels, scores = aggregate_by_video(frame["uid"], frame["label"], frame["score"], rule="mean")
    scored = set(uids)
    missing = [uid for uid in manifest["uid"] if uid not in scored]
    if missing:
        print(f"  {name}: {len(missing)} video(s) without faces are left out: {missing}")
    return VideoScores(name, uids, labels, scores, threshold)


def score_checkpoint(
    name: str, checkpoint: Path, manifest: pd.DataFrame, cache: Path, out: Path, device: str
) -> VideoScores:
    predictions = predict_split(checkpoint, manifest, cache, out, split="test", device=device)
    frame = pd.read_csv(predictions)
    calibration = read_checkpoint_info(checkpoint).get("calibration") or {}
    frame["score"] = calibrate(frame["score"], calibration)  # before the video mean, as `noisetrace predict`
    return _video_scores(name, frame, manifest, float(calibration.get("threshold", 0.5)))


def score_mesonet(weights: Path, manifest: pd.DataFrame, cache: Path, out: Path) -> VideoScores:
    """MesoNet's P(fake) on the same crops (224² resized to 256², as its pipeline feeds it).

    Its frame scores do not depend on the detectors under test, so they are kept in ``out`` and reused.
    """
    name = f"MesoNet {weights.stem}"
    if out.is_file():
        return _video_scores(name, pd.read_csv(out), manifest, 0.5)
    model = load_mesonet(weights)
    index = index_split(manifest, FaceCache(cache), "test")
    rows = []
    with torch.inference_mode():
        for start in range(0, len(index.items), 64):
            batch = index.items[start : start + 64]
            pixels = np.stack(
                [
                    cv2.resize(read_crop(item.path), (MESONET_INPUT_SIZE,) * 2, interpolation=cv2.INTER_CUBIC)
                    for item in batch
                ]
            )
            x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(255)
            rows.extend((item.uid, item.label, float(s)) for item, s in zip(batch, model(x), strict=True))
    frame = pd.DataFrame(rows, columns=["uid", "label", "score"])
    write_text_atomic(out, frame.to_csv(index=False))
    return _video_scores(name, frame, manifest, 0.5)


def _ci(labels: np.ndarray, scores: np.ndarray, uids: np.ndarray, resamples: int) -> str:
    try:
        interval = bootstrap_ci(roc_auc, uids, labels, scores, n_resamples=resamples, seed=0)
        return f"{interval.point:.3f} [{interval.low:.2f}, {interval.high:.2f}]"
    except MetricError:
        return "n/a"


def table(results: list[VideoScores], families: dict[str, str], resamples: int) -> tuple[str, list[dict]]:
    """A Markdown table (one row per detector) and the same numbers as records."""
    fake_families = sorted({f for f in families.values() if f != "real"})
    header = ["detector", "videos", "AUC all [95% CI]", *fake_families, "acc @thr", "thr"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    records = []
    for result in results:
        fam = np.array([families[uid] for uid in result.uids])
        cells = [result.detector, str(len(result.uids)), _ci(result.labels, result.scores, result.uids, resamples)]
        record = {"detector": result.detector, "videos": len(result.uids)}
        record["auc"] = roc_auc(result.labels, result.scores)
        for family in fake_families:
            keep = (fam == family) | (result.labels == 0)
            n_fake = int(((fam == family) & (result.labels == 1)).sum())
            cell = _ci(result.labels[keep], result.scores[keep], result.uids[keep], resamples)
            cells.append(f"{cell} (n={n_fake})")
            record[f"auc_{family}"] = roc_auc(result.labels[keep], result.scores[keep]) if n_fake else None
        acc = accuracy(result.labels, result.scores, result.threshold)
        cells += [f"{acc:.3f}", f"{result.threshold:.3f}"]
        record.update(accuracy=acc, threshold=result.threshold)
        record["per_video"] = [
            {"uid": str(u), "family": families[u], "label": int(y), "score": float(s)}
            for u, y, s in zip(result.uids, result.labels, result.scores, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        records.append(record)
    return "\n".join(lines), records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", action="append", default=[], help="checkpoint (.json/.safetensors) or 'shipped'; repeatable"
    )
    parser.add_argument("--wild", type=Path, default=DEFAULT_WILD, help="the wild set (folder layout + catalog.csv)")
    parser.add_argument("--mesonet", type=Path, default=DEFAULT_MESONET, help="folder of MesoNet's .h5 weights")
    parser.add_argument("--work", type=Path, default=Path("wild-bench"), help="faces, re-encodes and results")
    parser.add_argument("--frames", type=int, default=32, help="frames per video (first N)")
    parser.add_argument("--crf", default="", help="also re-encoded copies, e.g. 23,32,40 (+ half resolution)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not args.wild.is_dir():
        parser.error(f"wild set not found: {args.wild}")
    paths = [shipped_checkpoint() if c == "shipped" else Path(c) for c in args.checkpoint]
    # A run's checkpoint is best.json: name it by its run folder (RUN/checkpoints/best.json).
    names = [p.parent.parent.name if p.stem == "best" else p.stem for p in paths]
    manifest = wild_manifest(args.wild.resolve())
    families = dict(zip(manifest["uid"], manifest["family"], strict=True))
    variants = [("original", None, 1.0)]
    for crf in (int(c) for c in args.crf.split(",") if c.strip()):
        variants.append((f"h264-crf{crf}", crf, 1.0))
    if args.crf:
        variants.append(("h264-crf23-half", 23, 0.5))
    settings = ExtractSettings(frames=args.frames)
    report: dict[str, list[dict]] = {}
    output = []
    for variant, crf, scale in variants:
        rows = (
            manifest
            if crf is None
            else variant_manifest(manifest, args.wild.resolve(), args.work / variant, crf, scale)
        )
        cache = args.work / "faces" / variant
        extract_manifest(rows, cache, settings)
        results = [
            score_checkpoint(name, path, rows, cache, args.work / "predictions" / variant / f"{name}.csv", args.device)
            for name, path in zip(names, paths, strict=True)
        ]
        results += [
            score_mesonet(
                args.mesonet / f, rows, cache, args.work / "predictions" / variant / f"mesonet-{Path(f).stem}.csv"
            )
            for f in MESONET_FILES
            if (args.mesonet / f).is_file()
        ]
        text, records = table(results, families, args.resamples)
        n_real = int((manifest["label"] == 0).sum())
        title = f"### wild_dev, {variant}: {len(manifest) - n_real} fake / {n_real} real videos, {args.frames} frames"
        output.append(f"{title}\n\n{text}\n")
        print(f"\n{title}\n\n{text}\n", flush=True)
        report[variant] = records
    write_text_atomic(args.work / "wild.md", "\n".join(output))
    write_text_atomic(args.work / "wild.json", json.dumps(report, indent=2))
    print(f"tables: {args.work / 'wild.md'}, numbers: {args.work / 'wild.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
