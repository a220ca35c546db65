"""Face extraction: manifest → face cache, as the paper made its inputs.

Paper, §3.2: "For each video, the first 120 frames are extracted, and the MTCNN face detector is used to
crop the subject's face in each frame. [...] The resulting crop is enlarged by 20% in both height and
width [...] then resized to 224 × 224."

How it runs, and why:

- Decoding stops after the first ``frames`` frames (:func:`noisetrace.faces.video.iter_frames`).
- The full MTCNN cascade runs on key frames only, and faces are tracked between them with R-Net and
  O-Net (:mod:`noisetrace.faces.detection`; ``detection="every_frame"`` is the paper's literal
  per-frame detection). Frames are decoded in a background thread while faces are found.
- MTCNN proposes faces (P-Net, R-Net) on frames down-scaled so their longer side is at most
  ``detect_max_side`` pixels, and places the final box and landmarks (O-Net) on the full-resolution
  frame. The cascade's cost is dominated by P-Net on the finest pyramid levels, which scale with the
  frame's area, and the subject of a talking-face video is large enough to be proposed from a
  640-pixel frame. Crops are cut from the full-resolution frame, so they lose nothing.
  ``benchmarks/extract.py`` measures the speed and the IoU against full-resolution detection;
  ``detect_max_side=None`` runs the whole cascade at full resolution.
- Every detected face is cropped as frames stream by (cheap: a resize of a small patch), so a video is
  decoded once; the subject is chosen after the clip is seen whole (:mod:`noisetrace.faces.tracking`).
- A frame without the subject is recorded with the reason, never dropped silently; a video that yields
  no crop at all, or cannot be read, gets a status file and the run continues.
- Each video folder is written atomically: a killed run leaves no half-written video, and a rerun skips
  finished videos and redoes the rest. ``shard=(i, n)`` processes every n-th video for array jobs.
  ``extract_report.csv`` is rewritten (atomically) after every video, so it is there after a kill too.
- An output that cannot be written (disk full, permission denied, ...) is not a problem of the video:
  the run stops with one :class:`~noisetrace.core.errors.OutputError` line naming the file; the finished
  videos stay, and the half-written one is removed.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch

from noisetrace import __version__
from noisetrace.core.device import torch_threads
from noisetrace.core.errors import NoisetraceError, VideoDecodeError
from noisetrace.core.io import atomic_directory, file_sha256, write_json_atomic, write_text_atomic, writing
from noisetrace.faces.cache import (
    META_FILE,
    OVERVIEW_FILE,
    REPORT_FILE,
    STATUS_DIR,
    FrameRecord,
    VideoFaces,
    crop_filename,
    write_crop,
    write_image,
)
from noisetrace.faces.detection import DEFAULT_INTERVAL, DETECTION_MODES, FaceFinder
from noisetrace.faces.geometry import PAPER_CROP_SIZE, PAPER_ENLARGEMENT, crop_and_resize, enlarge_box
from noisetrace.faces.mtcnn import MTCNN, FaceDetection
from noisetrace.faces.tracking import select_subject
from noisetrace.faces.video import decode_ahead, iter_frames, probe_video

REPORT_COLUMNS = ("uid", "status", "frames", "faces", "message", "path")
FAILED_STATUSES = ("no_face", "decode_error")  # no crops at all: recorded in <cache>/_status
OVERVIEW_MAX_SIDE = 480
CROP_WRITERS = 2  # threads encoding and writing a video's crops


@dataclass(frozen=True)
class ExtractSettings:
    """Every knob of extraction; recorded in each video's ``meta.json``."""

    frames: int = 120
    crop_size: int = PAPER_CROP_SIZE
    enlargement: float = PAPER_ENLARGEMENT
    detect_max_side: int | None = 640
    detection: str = "track"  # or "every_frame": the full cascade on every frame, as the paper did
    keyframe_interval: int = DEFAULT_INTERVAL  # frames between full detections when tracking
    frame_stride: int = 1  # keep every n-th of the first `frames` frames (1: all, as the paper)
    min_face_size: int = 20  # pixels of the (down-scaled) frame that P-Net sees
    batch_size: int = 16
    image_format: str = "png"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise NoisetraceError(f"frames must be at least 1, got {self.frames}.")
        if self.image_format not in ("png", "jpg"):
            raise NoisetraceError(
                f"image_format must be 'png' (lossless, default) or 'jpg', got {self.image_format!r}."
            )
        if self.detection not in DETECTION_MODES:
            raise NoisetraceError(f"detection must be one of {', '.join(DETECTION_MODES)}, got {self.detection!r}.")
        if self.frame_stride < 1:
            raise NoisetraceError(f"frame_stride must be at least 1, got {self.frame_stride}.")
        if self.keyframe_interval < 1:
            raise NoisetraceError(f"keyframe_interval must be at least 1 frame, got {self.keyframe_interval}.")
        if self.detect_max_side is not None and self.detect_max_side < 64:
            raise NoisetraceError(f"detect_max_side must be at least 64 pixels, got {self.detect_max_side}.")


@dataclass
class VideoResult:
    """Outcome of one video, one row of ``extract_report.csv``."""

    uid: str
    status: str  # ok | partial | truncated | no_face | decode_error | skipped | pending
    frames: int = 0
    faces: int = 0
    message: str = ""
    path: str = ""
    seconds: float = field(default=0.0, compare=False)


@dataclass
class _Candidate:
    """A detected face, already cropped from its full-resolution frame."""

    detection: FaceDetection  # in full-resolution frame pixels
    crop_box: np.ndarray
    crop: np.ndarray


@dataclass
class _Frame:
    """The faces of one decoded frame, and whether the full cascade found them or tracking did."""

    index: int  # in the video
    candidates: list[_Candidate]
    how: str  # "detected" | "tracked"


def _detection_scale(height: int, width: int, max_side: int | None) -> float:
    if max_side is None or max(height, width) <= max_side:
        return 1.0
    return max_side / max(height, width)


def _overview(frame: np.ndarray, candidates: list[_Candidate], subject: int | None) -> np.ndarray:
    """A small copy of the frame with every face drawn: the subject green, other faces red."""
    scale = _detection_scale(*frame.shape[:2], OVERVIEW_MAX_SIDE)
    image = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame.copy()
    for number, candidate in enumerate(candidates):
        colour = (0, 200, 0) if number == subject else (220, 0, 0)
        x1, y1, x2, y2 = (round(v * scale) for v in candidate.crop_box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
        for x, y in candidate.detection.landmarks * scale:
            cv2.circle(image, (round(x), round(y)), 2, colour, -1)
    return image


class FaceExtractor:
    """Runs the detector over one video at a time and writes its folder in the face cache."""

    def __init__(self, settings: ExtractSettings, detector: MTCNN | None = None) -> None:
        self.settings = settings
        self.detector = detector if detector is not None else MTCNN(device=settings.device)
        self.finder = FaceFinder(
            self.detector,
            mode=settings.detection,
            interval=settings.keyframe_interval,
            min_face_size=settings.min_face_size,
            proposal_max_side=settings.detect_max_side,
            batch_size=settings.batch_size,
        )

    def _candidates(self, path: Path) -> tuple[list[_Frame], np.ndarray | None]:
        """Decode, find and crop faces; return every frame's faces and the first frame (for review)."""
        settings = self.settings
        per_frame: list[_Frame] = []
        first_frame: np.ndarray | None = None
        frames = decode_ahead(iter_frames(path, settings.frames, stride=settings.frame_stride))
        # MTCNN's thin layers gain little from many threads, while decoding (its own thread) and PNG
        # writes need a core: on 2 cores one torch thread is 15% faster end to end than two.
        with torch_threads(torch.get_num_threads() - 1):
            for found in self.finder.faces(frames):  # streamed: only crops are kept, not frames
                if first_frame is None:
                    first_frame = found.rgb
                faces = []
                for det in found.faces:
                    crop_box = enlarge_box(det.box, settings.enlargement)
                    crop = crop_and_resize(found.rgb, crop_box, settings.crop_size)
                    faces.append(_Candidate(det, crop_box, crop))
                per_frame.append(_Frame(found.index, faces, found.how))
        return per_frame, first_frame

    def process(self, uid: str, video_path: str | os.PathLike[str], cache_root: Path) -> VideoResult:
        """Extract one video into ``cache_root/uid``.

        A problem of the video (unreadable, no face) becomes a status, never an exception. An output
        that cannot be written (disk full, permission denied, ...) raises
        :class:`~noisetrace.core.errors.OutputError` naming the file: it would fail every later video
        too, so the run stops there, and the video's half-written folder is removed.
        """
        start = time.perf_counter()
        path = Path(video_path)
        try:
            info = probe_video(path)
            per_frame, first_frame = self._candidates(path)
            source_sha256 = file_sha256(path)
        except VideoDecodeError as exc:
            return VideoResult(
                uid, "decode_error", message=str(exc), path=str(path), seconds=time.perf_counter() - start
            )
        except OSError as exc:  # the input vanished or became unreadable after decoding started
            return VideoResult(
                uid,
                "decode_error",
                message=f"Cannot read {path}: {exc.strerror or exc}",
                path=str(path),
                seconds=time.perf_counter() - start,
            )

        subject = select_subject(
            [np.array([c.detection.box for c in frame.candidates]).reshape(-1, 4) for frame in per_frame],
            [np.array([c.detection.score for c in frame.candidates]) for frame in per_frame],
        )
        decoded = len(per_frame)
        if not subject:
            return VideoResult(
                uid,
                "no_face",
                frames=decoded,
                message="no face detected in any decoded frame",
                path=str(path),
                seconds=time.perf_counter() - start,
            )

        stride = self.settings.frame_stride
        in_file = min(self.settings.frames, info.frame_count) if info.frame_count else 0
        expected = -(-in_file // stride) if in_file else decoded  # frames kept at this stride
        missing = decoded - len(subject)
        if decoded < expected:
            status, message = "truncated", f"decoded {decoded} of {expected} frames: the file ends early"
        elif missing:
            status, message = "partial", f"{missing} of {decoded} frames without the subject's face"
        else:
            status, message = "ok", ""

        first_position = min(subject)  # subject maps positions in per_frame to a face of that frame
        first_index = per_frame[first_position].index
        try:
            overview = _overview(
                _frame_at(path, first_index) if first_position > 0 or first_frame is None else first_frame,
                per_frame[first_position].candidates,
                subject[first_position],
            )
        except VideoDecodeError as exc:
            return VideoResult(
                uid, "decode_error", message=str(exc), path=str(path), seconds=time.perf_counter() - start
            )

        suffix = "." + self.settings.image_format
        records: list[FrameRecord] = []
        # Any write that fails (disk full, ...) raises OutputError naming the file; atomic_directory then
        # removes the partial folder, so the video is not left looking finished, and the run stops.
        with atomic_directory(cache_root / uid) as folder:
            writes: list[tuple[Path, np.ndarray]] = []
            for position, frame in enumerate(per_frame):
                index, chosen = frame.index, subject.get(position)
                if chosen is None:
                    reason = "lost_subject" if frame.candidates else "no_face"
                    records.append(FrameRecord(index, None, reason=reason, detection=frame.how))
                    continue
                candidate = frame.candidates[chosen]
                name = crop_filename(index, suffix)
                writes.append((folder / name, candidate.crop))
                records.append(
                    FrameRecord(
                        index=index,
                        file=name,
                        box=[round(float(v), 2) for v in candidate.detection.box],
                        crop_box=[round(float(v), 2) for v in candidate.crop_box],
                        landmarks=[[round(float(x), 2), round(float(y), 2)] for x, y in candidate.detection.landmarks],
                        score=round(float(candidate.detection.score), 5),
                        detection=frame.how,
                    )
                )
            # PNG encoding releases Python's lock: crops are written by a few threads at once. The first
            # failed write is raised here, after the others have finished.
            with ThreadPoolExecutor(CROP_WRITERS) as pool:
                for _ in pool.map(lambda job: write_crop(*job), writes):
                    pass
            write_image(folder / OVERVIEW_FILE, overview, [cv2.IMWRITE_JPEG_QUALITY, 85])
            meta = VideoFaces(
                uid=uid,
                source={
                    **info.to_json(),
                    "sha256": source_sha256,
                    "frames_decoded": decoded,
                    "frame_stride": stride,
                    "overview_frame": first_index,
                },
                detector={
                    "name": "mtcnn",
                    **self.detector.settings(),
                    "detect_max_side": self.settings.detect_max_side,
                    "frames": self.finder.settings(),
                    "frames_detected": sum(frame.how == "detected" for frame in per_frame),
                    "frames_tracked": sum(frame.how == "tracked" for frame in per_frame),
                    "min_face_size_at_detection": self.settings.min_face_size,
                    "subject": "IoU-linked track with the largest sum of area x score",
                },
                crop={
                    "enlargement": self.settings.enlargement,
                    "size": self.settings.crop_size,
                    "format": self.settings.image_format,
                    "padding": "constant black outside the frame",
                    "noisetrace_version": __version__,
                },
                frames=records,
                status=status,
                message=message,
            )
            with writing(folder / META_FILE):
                (folder / META_FILE).write_text(json.dumps(meta.to_json(), indent=1) + "\n", encoding="utf-8")
        return VideoResult(
            uid,
            status,
            frames=decoded,
            faces=len(subject),
            message=message,
            path=str(path),
            seconds=time.perf_counter() - start,
        )


def _frame_at(path: Path, index: int) -> np.ndarray:
    """Decode one frame again (only for the review overview when frame 0 has no subject)."""
    for frame_index, rgb in iter_frames(path, index + 1):
        if frame_index == index:
            return rgb
    raise VideoDecodeError(f"Frame {index} of {path} could not be decoded again.")


# ----------------------------------------------------------------------------------------- the run


def select_shard(uids: list[str], shard: tuple[int, int] | None) -> list[str]:
    """Every n-th uid of the sorted list, starting at i: disjoint shards that together cover all."""
    ordered = sorted(uids)
    if shard is None:
        return ordered
    index, count = shard
    return ordered[index::count]


def failed_uids(cache_root: Path) -> set[str]:
    """Videos recorded as failed (no face, unreadable) in ``<cache>/_status`` and without crops."""
    complete = {p.parent.name for p in Path(cache_root).glob(f"*/{META_FILE}")}
    return {p.stem for p in (Path(cache_root) / STATUS_DIR).glob("*.json")} - complete


def finished_uids(cache_root: Path, retry_failed: bool = False) -> set[str]:
    """Videos already done: a complete cache folder or a recorded failure (unless ``retry_failed``:
    then a failed video is still to do)."""
    done = {p.parent.name for p in Path(cache_root).glob(f"*/{META_FILE}")}
    if not retry_failed:
        done |= {p.stem for p in (Path(cache_root) / STATUS_DIR).glob("*.json")}
    return done


def _record_outcome(cache_root: Path, result: VideoResult) -> None:
    """A failure gets its status file; a success removes the stale one of an earlier failed attempt."""
    status = cache_root / STATUS_DIR / f"{result.uid}.json"
    if result.status in FAILED_STATUSES:
        write_json_atomic(status, asdict(result))
    else:
        status.unlink(missing_ok=True)


_worker_extractor: FaceExtractor | None = None


def _init_worker(settings: ExtractSettings, torch_threads: int) -> None:
    import torch

    torch.set_num_threads(torch_threads)
    global _worker_extractor
    _worker_extractor = FaceExtractor(settings)


def _work(job: tuple[str, str, str]) -> VideoResult:
    uid, video_path, cache_root = job
    assert _worker_extractor is not None, "worker not initialised"
    result = _worker_extractor.process(uid, video_path, Path(cache_root))
    _record_outcome(Path(cache_root), result)
    return result


def extract_manifest(
    manifest: pd.DataFrame,
    cache_root: str | os.PathLike[str],
    settings: ExtractSettings | None = None,
    workers: int = 1,
    shard: tuple[int, int] | None = None,
    retry_failed: bool = False,
    progress: Callable[[VideoResult], None] | None = None,
) -> list[VideoResult]:
    """Extract every video of ``manifest`` (or of one shard) into ``cache_root``; resumable.

    Finished videos are skipped; videos recorded as failed (``<cache>/_status/<uid>.json``) are skipped
    unless ``retry_failed``, which extracts those of this manifest (and shard) again: a success replaces
    the status file with the video's folder, a failure rewrites it. Failures of other videos are left
    alone, so shards can retry at the same time.
    ``progress`` is called once per processed video (the CLI drives its progress bar with it).
    ``extract_report.csv`` is written at the start, rewritten after every video, and rewritten from
    what is on disk at the end (which then includes the videos other shards finished meanwhile).
    Returns the results of the videos processed in this call.
    """
    settings = settings or ExtractSettings()
    cache_root = Path(cache_root)
    with writing(cache_root):
        cache_root.mkdir(parents=True, exist_ok=True)
    paths = dict(zip(manifest["uid"], manifest["path"], strict=True))
    done = finished_uids(cache_root, retry_failed)
    todo = [uid for uid in select_shard(list(paths), shard) if uid not in done]
    jobs = [(uid, str(paths[uid]), str(cache_root)) for uid in todo]
    results: list[VideoResult] = []
    # The report is on disk from the start and rewritten (atomically) after every video, so a run
    # killed at any moment (kill -9 included) leaves one that is at most one video behind.
    rows = {row.uid: row for row in collect_report(manifest, cache_root)}
    _write_report_rows(cache_root, rows.values())

    def collect(result: VideoResult) -> None:
        results.append(result)
        rows[result.uid] = VideoResult(
            result.uid, result.status, result.frames, result.faces, result.message, str(paths[result.uid])
        )
        _write_report_rows(cache_root, rows.values())
        if progress is not None:
            progress(result)

    if workers <= 1 or len(jobs) <= 1:
        extractor = FaceExtractor(settings)
        for uid, video_path, _ in jobs:
            result = extractor.process(uid, video_path, cache_root)
            _record_outcome(cache_root, result)
            collect(result)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")  # safe with torch threads and CUDA
        with context.Pool(workers, initializer=_init_worker, initargs=(settings, threads)) as pool:
            for result in pool.imap_unordered(_work, jobs):
                collect(result)
    write_report(manifest, cache_root)
    return results


def collect_report(manifest: pd.DataFrame, cache_root: str | os.PathLike[str]) -> list[VideoResult]:
    """The state of every manifest video in the cache: done, failed (and why), or pending."""
    cache_root = Path(cache_root)
    rows = []
    for uid, path in zip(manifest["uid"], manifest["path"], strict=True):
        meta_path = cache_root / uid / META_FILE
        status_path = cache_root / STATUS_DIR / f"{uid}.json"
        if meta_path.is_file():
            meta = VideoFaces.from_json(json.loads(meta_path.read_text(encoding="utf-8")))
            rows.append(
                VideoResult(
                    uid,
                    meta.status,
                    frames=len(meta.frames),
                    faces=len(meta.face_frames),
                    message=meta.message,
                    path=str(path),
                )
            )
        elif status_path.is_file():
            stored: dict[str, Any] = json.loads(status_path.read_text(encoding="utf-8"))
            rows.append(VideoResult(**{k: stored[k] for k in REPORT_COLUMNS}))
        else:
            rows.append(VideoResult(uid, "pending", path=str(path)))
    return rows


def write_report(manifest: pd.DataFrame, cache_root: str | os.PathLike[str]) -> Path:
    """Rewrite ``extract_report.csv`` (atomically) from what is on disk now."""
    return _write_report_rows(cache_root, collect_report(manifest, cache_root))


def _write_report_rows(cache_root: str | os.PathLike[str], rows: Iterable[VideoResult]) -> Path:
    target = Path(cache_root) / REPORT_FILE
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, column) for column in REPORT_COLUMNS])
    write_text_atomic(target, text.getvalue())
    return target
