"""One video → faces → scores → verdict, with the evidence behind it.

The steps are the training pipeline's own, so a video is judged on the input the model learned from:

1. **Faces**: :class:`noisetrace.faces.extract.FaceExtractor` decodes the first ``frames`` frames, runs
   MTCNN, tracks the subject and writes lossless crops (enlarged ×1.2) into a face cache, at the
   checkpoint's input size (``input.image_size`` of its description), so no second resize happens.
   With an output folder the cache is ``OUT/faces`` (kept as evidence, and readable by every stage that
   reads a face cache); without one it is a temporary folder removed at the end.
2. **Scores**: ``P(fake)`` (:func:`noisetrace.models.scoring.fake_scores`) for every frame with a face (frame
   models) or every window of ``L`` consecutive frames with a face (sequence models, the windows of
   :func:`noisetrace.data.sequence_windows`, as in evaluation).
3. **Verdict**: the scores aggregated by a rule of :data:`noisetrace.evaluation.metrics.AGGREGATION_RULES`
   (``mean`` by default); ``fake`` when the video score is at or above the threshold. A checkpoint
   that carries a ``calibration`` (the shipped model does: :mod:`noisetrace.evaluation.calibration`)
   has its frame scores temperature-scaled first, and without an explicit threshold its verdict is
   three-way: ``real`` below the validation band, ``fake`` above it, ``uncertain`` inside. The raw
   (uncalibrated) score stays in the result as ``raw_score``.
4. **Evidence** (optional): the HTML page (:mod:`noisetrace.report.predict_page`) and the annotated copy
   (:mod:`noisetrace.predict.annotate`).

A video that cannot be judged gets a status instead of a verdict and the run goes on: ``unreadable``
(not a video, corrupt, empty), ``no_face`` (no face in any analysed frame), ``too_short`` (a sequence
model found no ``L`` consecutive frames with a face). ``ok`` results may carry a ``message`` from
extraction (``partial``: some frames without the face; ``truncated``: the file ended early). Mistakes
of the call itself (missing input or checkpoint, a checkpoint that does not load) raise
:class:`noisetrace.core.errors.NoisetraceError`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from noisetrace.core.device import resolve_device
from noisetrace.core.errors import ConfigError, NoisetraceError
from noisetrace.core.io import check_output_folder, write_json_atomic, write_text_atomic
from noisetrace.data import load_face, sequence_windows, to_unit_float
from noisetrace.evaluation.calibration import calibrate
from noisetrace.evaluation.metrics import AGGREGATION_RULES, AggregationRule, aggregate_by_video
from noisetrace.faces.cache import FaceCache, VideoFaces
from noisetrace.faces.extract import ExtractSettings, FaceExtractor
from noisetrace.faces.mtcnn import MTCNN, FaceDetection
from noisetrace.models.checkpoint import checkpoint_input, load_checkpoint
from noisetrace.models.scoring import fake_scores
from noisetrace.predict.annotate import write_annotated_video
from noisetrace.predict.evidence import build_evidence
from noisetrace.predict.inputs import expand_inputs, item_ids
from noisetrace.report.predict_page import EvidenceGroup, render_predict_page

__all__ = ["PREDICTIONS_FILE", "PredictSettings", "Predictor", "predict_videos", "video_score"]

PREDICTIONS_FILE = "predictions.json"
FACES_DIR = "faces"


@dataclass(frozen=True)
class PredictSettings:
    """Every knob of ``noisetrace predict``; the defaults are the paper's (first 120 frames, mean, 0.5)."""

    frames: int = 120
    rule: str = "mean"
    threshold: float | None = None  # None: the checkpoint's calibrated band/threshold, else 0.5
    device: str = "cpu"
    batch_size: int = 32  # frames per forward pass (a sequence model gets batch_size // L sequences)
    html: bool = False
    annotate: bool = False
    evidence_frames: int = 10  # face crops shown on the HTML page
    detect_max_side: int | None = ExtractSettings.detect_max_side
    detection: str = ExtractSettings.detection  # "track" or "every_frame" (see noisetrace.faces.detection)
    keyframe_interval: int = ExtractSettings.keyframe_interval
    frame_stride: int = 1  # judge every n-th of the first `frames` frames: faster, fewer frames of evidence

    def __post_init__(self) -> None:
        if self.rule not in AGGREGATION_RULES:
            raise ConfigError(f"rule must be one of {list(AGGREGATION_RULES)}, got {self.rule!r}.")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold is a probability and must be in [0, 1], got {self.threshold}.")
        if self.frames < 1 or self.batch_size < 1 or self.evidence_frames < 1:
            raise ConfigError(
                "frames, batch_size and evidence_frames must be at least 1, got "
                f"{self.frames}, {self.batch_size} and {self.evidence_frames}."
            )


def video_score(scores: Sequence[float], rule: str) -> float:
    """One video's score from its item scores, by the same rule evaluation uses for video metrics."""
    count = len(scores)
    zeros = np.zeros(count, dtype=np.int64)
    _, _, aggregated = aggregate_by_video(
        zeros, zeros, np.asarray(scores, dtype=np.float64), rule=cast(AggregationRule, rule)
    )
    return float(aggregated[0])


class _TimedMTCNN(MTCNN):
    """MTCNN that adds up the seconds spent in :meth:`detect` and :meth:`track`, so extraction time
    splits into face finding and the rest (decoding, cropping, writing crops) without changing the
    extractor."""

    seconds: float = 0.0

    def detect(
        self,
        frames: Sequence[np.ndarray] | np.ndarray,
        min_face_size: int | None = None,
        proposal_max_side: int | None = None,
    ) -> list[list[FaceDetection]]:
        start = time.perf_counter()
        try:
            return super().detect(frames, min_face_size=min_face_size, proposal_max_side=proposal_max_side)
        finally:
            self.seconds += time.perf_counter() - start

    def track(
        self,
        frames: Sequence[np.ndarray],
        seeds: Sequence[np.ndarray],
        proposal_max_side: int | None = None,
        min_iou: float = 0.3,
    ) -> list[list[FaceDetection | None]]:
        start = time.perf_counter()
        try:
            return super().track(frames, seeds, proposal_max_side=proposal_max_side, min_iou=min_iou)
        finally:
            self.seconds += time.perf_counter() - start


class Predictor:
    """A loaded checkpoint and face detector that judge one item at a time (see :func:`predict_videos`)."""

    def __init__(self, checkpoint: str | os.PathLike[str], settings: PredictSettings) -> None:
        self.settings = settings
        self.checkpoint = Path(checkpoint)
        self.device = resolve_device(settings.device)
        self.model, info = load_checkpoint(self.checkpoint, map_location=self.device)
        self.image_size, self.seq_len = checkpoint_input(info, self.model.is_sequence, self.checkpoint)
        if self.seq_len and settings.frame_stride > 1:
            raise ConfigError(
                f"{self.checkpoint} is a sequence model: it scores {self.seq_len} consecutive frames, so it "
                f"cannot judge every {settings.frame_stride}th frame; use frame_stride 1 (or fewer frames)."
            )
        self.detector = _TimedMTCNN(device=self.device)
        self.extractor = FaceExtractor(
            ExtractSettings(
                frames=settings.frames,
                crop_size=self.image_size,
                detect_max_side=settings.detect_max_side,
                detection=settings.detection,
                keyframe_interval=settings.keyframe_interval,
                frame_stride=settings.frame_stride,
                device=self.device,
            ),
            detector=self.detector,
        )
        self.model_description: dict[str, Any] = {
            "name": self.model.spec.name,
            "domain": self.model.domain,
            "backbone": self.model.spec.backbone,
            "image_size": self.image_size,
            "seq_len": self.seq_len,
        }
        card = info.get("card")
        if isinstance(card, Mapping):
            self.model_description["card"] = {key: card.get(key) for key in ("name", "headline", "caveat")}
        calibration = info.get("calibration")
        self.calibration: dict[str, Any] | None = dict(calibration) if isinstance(calibration, Mapping) else None
        self.threshold, self.band = self._decision(settings.threshold)

    def _decision(self, threshold: float | None) -> tuple[float, tuple[float, float] | None]:
        """The two-way threshold, and the uncertainty band when the verdict is three-way."""
        if threshold is not None:
            return threshold, None
        if self.calibration is None:
            return 0.5, None
        try:
            cut = float(self.calibration["threshold"])
            low, high = float(self.calibration["uncertain_low"]), float(self.calibration["uncertain_high"])
            float(self.calibration["temperature"])
        except (KeyError, TypeError, ValueError) as exc:
            raise NoisetraceError(f"{self.checkpoint}: its 'calibration' entry is incomplete ({exc}).") from exc
        return cut, (low, high) if low < high else None

    def verdict(self, score: float) -> str:
        """``real``/``fake`` at the threshold, or ``uncertain`` inside a calibrated band."""
        if self.band is not None:
            low, high = self.band
            return "fake" if score >= high else "real" if score < low else "uncertain"
        return "fake" if score >= self.threshold else "real"

    def calibrate(self, scores: Sequence[float]) -> list[float]:
        """Calibrated ``P(fake)`` of raw item scores (unchanged when the checkpoint has no calibration)."""
        return calibrate(scores, self.calibration).tolist()

    @torch.inference_mode()
    def score(self, crops: Mapping[int, torch.Tensor], items: Sequence[tuple[int, ...]]) -> list[float]:
        """``P(fake)`` of every item (the frame indices of one frame or one sequence), in batches."""
        per_batch = max(1, self.settings.batch_size // (self.seq_len or 1))
        scores: list[float] = []
        for start in range(0, len(items), per_batch):
            chunk = items[start : start + per_batch]
            x = torch.stack([torch.stack([crops[index] for index in item]) for item in chunk])
            if not self.model.is_sequence:
                x = x[:, 0]
            scores.extend(fake_scores(self.model(to_unit_float(x.to(self.device)))).tolist())
        return scores

    def predict(self, path: Path, uid: str, cache_root: Path, out_dir: Path | None) -> dict[str, Any]:
        """Judge one video (or image) and, when asked, write its evidence into ``out_dir``."""
        settings = self.settings
        start = time.perf_counter()
        self.detector.seconds = 0.0
        extraction = self.extractor.process(uid, path, cache_root)
        extract_seconds = time.perf_counter() - start
        result: dict[str, Any] = {
            "path": str(path),
            "uid": uid,
            "status": "ok",
            "message": extraction.message,
            "extraction": extraction.status,
            "unit": "sequence" if self.seq_len else "frame",
            "frames_decoded": extraction.frames,
            "frames_with_face": extraction.faces,
            "score": None,
            "raw_score": None,
            "rule": settings.rule,
            # What was traded for time, so that two verdicts can be compared knowingly.
            "analysis": {
                "frames": settings.frames,
                "frame_stride": settings.frame_stride,
                "detection": settings.detection,
                "keyframe_interval": settings.keyframe_interval if settings.detection == "track" else None,
            },
            "threshold": self.threshold,
            "uncertain_band": list(self.band) if self.band is not None else None,
            "calibration": self.calibration,
            "verdict": None,
            "scores": [],
            "faces": [],
            "frames_without_face": [],
            "model": self.model_description,
            "checkpoint": str(self.checkpoint),
            "seconds": {"decode": extract_seconds - self.detector.seconds, "detect": self.detector.seconds},
            "files": {},
        }
        groups: list[EvidenceGroup] = []
        if extraction.status == "decode_error":
            result["status"] = "unreadable"
        elif extraction.status == "no_face":
            result["status"] = "no_face"
        else:
            groups = self._judge(result, path, cache_root / uid, out_dir)
        result["seconds"]["total"] = time.perf_counter() - start
        if out_dir is not None and settings.html:
            # Every item gets a page, a verdict or the reason why there is none; the page shows the
            # timings, so it is rendered last and its own rendering time is not counted.
            target = out_dir / f"{uid}.html"
            result["files"]["html"] = str(target)
            write_text_atomic(target, render_predict_page(_rounded(result), groups))
        return _rounded(result)

    def _judge(self, result: dict[str, Any], path: Path, folder: Path, out_dir: Path | None) -> list[EvidenceGroup]:
        """Score the crops in ``folder``, fill in ``result``'s scores and verdict; return the page's evidence."""
        settings, seconds = self.settings, result["seconds"]
        meta = FaceCache(folder.parent).read_meta(folder.name)
        result["faces"] = [
            {"frame": f.index, "box": f.box, "crop_box": f.crop_box, "detection_score": f.score}
            for f in meta.face_frames
        ]
        result["frames_without_face"] = [{"frame": f.index, "reason": f.reason} for f in meta.frames if f.file is None]
        if out_dir is not None:
            result["files"]["faces"] = str(folder)

        model_start = time.perf_counter()
        crops = {
            f.index: load_face(folder / f.file, self.image_size, dtype=torch.uint8)
            for f in meta.face_frames
            if f.file is not None
        }
        items = _items(meta, self.seq_len)
        raw_scores = self.score(crops, items)
        scores = self.calibrate(raw_scores)
        seconds["model"] = time.perf_counter() - model_start
        if not items:
            result["status"] = "too_short"
            result["message"] = (
                f"this sequence model scores windows of {self.seq_len} consecutive frames with a face, and the "
                f"{result['frames_decoded']} analysed frame(s) hold none; an image cannot be scored by it, "
                "a video may with more frames (--frames)"
            )
            return []

        result["scores"] = [
            {"frame_start": item[0], "frame_end": item[-1], "score": score, "raw_score": raw}
            for item, score, raw in zip(items, scores, raw_scores, strict=True)
        ]
        result["score"] = video_score(scores, settings.rule)
        result["raw_score"] = video_score(raw_scores, settings.rule)
        result["verdict"] = self.verdict(result["score"])
        if out_dir is None or not (settings.html or settings.annotate):
            return []

        evidence_start = time.perf_counter()
        groups: list[EvidenceGroup] = []
        if settings.annotate:
            target = out_dir / f"{result['uid']}.annotated.mp4"
            write_annotated_video(
                path,
                target,
                max_frames=settings.frames,
                boxes={f.index: f.box for f in meta.face_frames if f.box is not None},
                items=[(item[0], item[-1], score) for item, score in zip(items, scores, strict=True)],
                aggregate=lambda done: video_score(done, settings.rule),
                threshold=self.threshold,
            )
            result["files"]["annotated"] = str(target)
        if settings.html:
            groups = build_evidence(self.model, crops, items, scores, settings.evidence_frames, self.device)
        seconds["evidence"] = time.perf_counter() - evidence_start
        return groups


def _items(meta: VideoFaces, seq_len: int | None) -> list[tuple[int, ...]]:
    """The scored items: each frame with a face, or each window of ``seq_len`` consecutive such frames."""
    if seq_len is None:
        return [(f.index,) for f in meta.face_frames]
    windows, _ = sequence_windows(meta, seq_len)
    return windows


def _rounded(result: dict[str, Any]) -> dict[str, Any]:
    """Timings to the millisecond: more digits would only be noise between runs."""
    result["seconds"] = {name: round(value, 3) for name, value in result["seconds"].items()}
    return result


def predict_videos(
    inputs: Sequence[str | os.PathLike[str]],
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    settings: PredictSettings | None = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Judge every video and image named by ``inputs`` (files, folders, glob patterns).

    Returns one result per item, in input order (fields: ``docs/predict.md``). With ``out_dir`` the
    results are also written to ``out_dir/predictions.json`` (rewritten atomically after every item,
    so an interrupted run keeps what it finished), the face crops stay in ``out_dir/faces``, and the
    HTML pages and annotated copies (``settings.html``/``settings.annotate``, which need ``out_dir``)
    go to ``out_dir/<id>.html`` and ``out_dir/<id>.annotated.mp4``. ``progress(done, total, result)``
    is called after each item.
    """
    settings = settings or PredictSettings()
    if out_dir is None and (settings.html or settings.annotate):
        raise NoisetraceError("The HTML report and the annotated video are files: give an output folder (-o OUT).")
    if out_dir is not None:
        check_output_folder(out_dir)  # a file in its place fails now, not after the model and a video
    paths = expand_inputs(inputs)
    predictor = Predictor(checkpoint, settings)
    results: list[dict[str, Any]] = []
    out = Path(out_dir) if out_dir is not None else None
    # A temporary face cache only when there is no output folder to keep the crops in: a scratch folder
    # made "just in case" stays behind, empty, whenever the process is killed (SIGTERM, kill -9, timeout).
    with tempfile.TemporaryDirectory(prefix="noisetrace-predict-") if out is None else nullcontext(None) as scratch:
        cache_root = out / FACES_DIR if out is not None else Path(cast(str, scratch))
        for path, uid in zip(paths, item_ids(paths), strict=True):
            results.append(predictor.predict(path, uid, cache_root, out))
            if out is not None:
                write_json_atomic(out / PREDICTIONS_FILE, results)
            if progress is not None:
                progress(len(results), len(paths), results[-1])
    return results
