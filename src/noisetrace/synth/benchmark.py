"""Build a FaceForensics++-shaped benchmark of simulated manipulations from real face videos.

Layout written under ``out`` (what ``noisetrace index OUT --dataset ffpp`` reads)::

    original_sequences/youtube/c23/videos/<id>.mp4                 real videos, re-encoded
    manipulated_sequences/<method>/c23/videos/<target>_<source>.mp4  fakes
    manipulated_sequences/<method>/c23/videos/<target>_<source>.json what was done, frame by frame
    previews/<method>.png, previews/overview.png                     contact sheets (``preview=True``)
    synth.json                                                       settings, versions, ids, report

Why the pieces are the way they are:

- **Ids and pairs as in FF++.** Real videos get 3-digit ids in sorted file-name order. Fakes are
  named ``<target>_<source>`` over FF++-like pairs: ids are shuffled (seeded) and coupled, and each
  couple gives ``a_b`` and ``b_a``; an odd id out joins the last couple as a 3-cycle. Every method
  uses the same pairs. For the self-manipulations the source is recorded but none of its pixels is
  used. A split that keeps each couple together (FF++'s official split does, by pairs) therefore
  never shows a person's face in one split and that person's real video in another.
- **Same encoding for real and fake.** Both go through libx264 at ``crf``/``preset``; in FF++ the
  originals are c23 too, so compression history is no label.
- **Faces as extraction finds them.** :class:`noisetrace.faces.detection.FaceFinder`: the full MTCNN
  cascade on every ``detect_every``-th frame (proposals on frames down-scaled to ``detect_side``),
  R-Net/O-Net tracking between; the subject as :func:`noisetrace.faces.tracking.select_subject`
  picks it. Frames without the subject are left unmodified (recorded). Detection runs once per real
  video; every method reuses the track.
- **Deterministic.** One generator per (seed, method, fake id); detection single-threaded;
  libx264 single-threaded. The same settings give the same bytes regardless of ``workers``.
- **Parallel by video.** ``workers`` processes: first each real video (decode, detect, encode the
  original), then each target (decode once, every method, encode each fake).
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

import noisetrace
from noisetrace.core.device import torch_threads
from noisetrace.core.errors import ConfigError, DatasetLayoutError, VideoDecodeError
from noisetrace.core.io import write_json_atomic, write_text_atomic
from noisetrace.synth import masks
from noisetrace.synth.methods import Clip, FaceTrack, FakeResult, get_method, list_methods, make_rng
from noisetrace.synth.preview import PreviewRow, contact_sheet, preview_row, write_png
from noisetrace.synth.video_io import read_video, write_video

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
REAL_DIR = Path("original_sequences") / "youtube"
FAKE_DIR = Path("manipulated_sequences")
SUMMARY_FILE = "synth.json"
FORMAT_VERSION = 1
PREVIEW_ROWS = 4
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class SynthSettings:
    """Every choice that changes the benchmark's bytes (recorded in ``synth.json``)."""

    methods: tuple[str, ...]
    pairs: int | None = None  # fakes per method; None: one per usable real video
    frames: int = 120
    crf: int = 23
    preset: str = "faster"
    seed: int = 0
    max_side: int | None = 720
    detect_every: int = 4
    detect_side: int = 400
    min_face_fraction: float = 0.5

    @property
    def compression(self) -> str:
        """FF++ folder name of the quality level: ``c23`` / ``c40`` are CRF 23 / 40, ``raw`` is CRF 0."""
        return "raw" if self.crf == 0 else f"c{self.crf}"

    def validate(self) -> None:
        unknown = [m for m in self.methods if m not in list_methods()]
        if unknown or not self.methods:
            raise ConfigError(f"Unknown synth methods {unknown}; choose from {', '.join(list_methods())}.")
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"Methods listed twice: {list(self.methods)}.")
        checks = {
            f"--preset must be one of {', '.join(X264_PRESETS)}": self.preset in X264_PRESETS,
            "--frames must be at least 1": self.frames >= 1,
            "--crf must be in 0..51": 0 <= self.crf <= 51,
            "--pairs must be at least 1": self.pairs is None or self.pairs >= 1,
            "--max-side must be at least 32": self.max_side is None or self.max_side >= 32,
            "--detect-every must be at least 1": self.detect_every >= 1,
            "--detect-side must be at least 64": self.detect_side >= 64,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ConfigError("; ".join(failed) + ".")


@dataclass
class RealVideo:
    """A real video after phase 1: its id, what decoding found, and its face track."""

    video_id: str
    path: str
    status: str  # ok | few_faces | no_face | unreadable
    message: str = ""
    frames: int = 0
    frames_with_face: int = 0
    size: tuple[int, int] = (0, 0)
    source_size: tuple[int, int] = (0, 0)
    fps: str = ""
    landmarks: np.ndarray | None = field(default=None, repr=False)
    valid: np.ndarray | None = field(default=None, repr=False)

    def report(self) -> dict[str, Any]:
        """The JSON-safe part of this record (no arrays), as ``synth.json`` lists it."""
        return {
            "video_id": self.video_id,
            "file": Path(self.path).name,
            "status": self.status,
            "message": self.message,
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "size": list(self.size),
            "source_size": list(self.source_size),
            "fps": self.fps,
        }

    def track(self) -> FaceTrack:
        if self.landmarks is None or self.valid is None:
            raise ValueError(f"video {self.video_id} has no face track")
        return FaceTrack(self.landmarks, self.valid)


@dataclass
class FakeJob:
    """One target video and every fake to make from it (all share its pair's source)."""

    target: RealVideo
    source: RealVideo
    methods: tuple[str, ...]
    preview: bool


def list_real_videos(real_dir: str | os.PathLike[str]) -> list[Path]:
    """Video files directly inside ``real_dir``, sorted by file name (this order fixes the ids)."""
    real_dir = Path(real_dir)
    if not real_dir.is_dir():
        raise DatasetLayoutError(f"Real-video folder not found: {real_dir}.")
    files = sorted(p for p in real_dir.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise DatasetLayoutError(f"No videos ({', '.join(VIDEO_SUFFIXES)}) in {real_dir}.")
    return files


def assign_ids(files: list[Path]) -> list[str]:
    """``000``, ``001``, … (wider when there are more than 1000 videos), in the given order."""
    width = max(3, len(str(len(files) - 1)))
    return [f"{i:0{width}d}" for i in range(len(files))]


def make_pairs(ids: list[str], seed: int) -> list[tuple[str, str]]:
    """FF++-like ``(target, source)`` pairs: seeded couples ``a_b``/``b_a``, a 3-cycle if odd.

    Each id is a target exactly once and a source exactly once, and the pairs fall into closed
    groups (couples, at most one triple) that a pair-aware split keeps together.
    """
    if len(ids) < 2:
        raise ConfigError("Need at least two real videos with faces to pair targets with sources.")
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=[zlib.crc32(b"pairs")]))
    order = [ids[i] for i in rng.permutation(len(ids))]
    groups = [order[i : i + 2] for i in range(0, len(order) - 1, 2)]
    if len(order) % 2:
        groups[-1].append(order[-1])
    pairs: list[tuple[str, str]] = []
    for group in groups:
        pairs.extend((group[k], group[(k + 1) % len(group)]) for k in range(len(group)))
    return pairs


# --- phase 1: real videos ------------------------------------------------------------------------

_DETECTOR: Any = None


def _detector() -> Any:
    """One MTCNN per process, created on first use (torch is imported only when faces are needed)."""
    global _DETECTOR
    if _DETECTOR is None:
        from noisetrace.faces.mtcnn import MTCNN

        _DETECTOR = MTCNN(device="cpu")
    return _DETECTOR


def track_faces(frames: np.ndarray, detector: Any, every: int, detect_side: int) -> FaceTrack:
    """Landmarks of the subject on every frame, found as ``noisetrace extract`` finds them.

    :class:`~noisetrace.faces.detection.FaceFinder` runs the full cascade on every ``every``-th frame
    (and on shot changes), on frames down-scaled to ``detect_side`` for proposals, and tracks the faces
    in between; :func:`~noisetrace.faces.tracking.select_subject` then picks the subject over the
    clip. A frame without the subject has no landmarks (``valid`` False): no fake is drawn there.
    ``detector`` is an :class:`~noisetrace.faces.mtcnn.MTCNN` (imported here: torch loads only when
    faces are needed).
    """
    from noisetrace.faces.detection import FaceFinder
    from noisetrace.faces.tracking import select_subject

    finder = FaceFinder(detector, interval=every, proposal_max_side=detect_side)
    with torch_threads(1):  # results then do not depend on the worker count
        found = list(finder.faces(enumerate(frames)))
    subject = select_subject(
        [np.array([face.box for face in frame.faces], dtype=np.float64).reshape(-1, 4) for frame in found],
        [np.array([face.score for face in frame.faces]) for frame in found],
    )
    landmarks = np.zeros((len(frames), 5, 2), dtype=np.float32)
    valid = np.zeros(len(frames), dtype=bool)
    for position, choice in subject.items():
        landmarks[position], valid[position] = found[position].faces[choice].landmarks, True
    return FaceTrack(landmarks, valid)


def _video_paths(out: Path, compression: str, method: str | None, name: str) -> Path:
    base = out / REAL_DIR if method is None else out / FAKE_DIR / method
    return base / compression / "videos" / f"{name}.mp4"


def _prepare_real(video_id: str, path: str, settings: SynthSettings, out: str, overwrite: bool) -> RealVideo:
    """Phase 1 for one real video: decode, track the face, encode the original."""
    real = RealVideo(video_id=video_id, path=path, status="ok")
    try:
        decoded = read_video(path, settings.frames, settings.max_side)
    except VideoDecodeError as exc:
        real.status, real.message = "unreadable", str(exc)
        return real
    real.frames = len(decoded.frames)
    real.size, real.source_size, real.fps = decoded.size, decoded.source_size, str(decoded.fps)
    target = _video_paths(Path(out), settings.compression, None, video_id)
    if overwrite or not target.is_file():
        write_video(target, decoded.frames, decoded.fps, settings.crf, settings.preset)
    track = track_faces(decoded.frames, _detector(), settings.detect_every, settings.detect_side)
    real.landmarks, real.valid = track.landmarks, track.valid
    real.frames_with_face = int(track.valid.sum())
    if real.frames_with_face == 0:
        real.status, real.message = "no_face", "no face found: used as a real video only"
    elif real.frames_with_face < settings.min_face_fraction * real.frames:
        real.status = "few_faces"
        real.message = f"face in {real.frames_with_face}/{real.frames} frames: used as a real video only"
    return real


# --- phase 2: fakes --------------------------------------------------------------------------------


def _fake_record(
    method: str,
    video_id: str,
    target: RealVideo,
    source: RealVideo,
    settings: SynthSettings,
    spawn_key: list[int],
    result: FakeResult,
    uses_source: bool,
) -> dict[str, Any]:
    per_frame = result.per_frame
    return {
        "format": "noisetrace-synth-fake",
        "version": FORMAT_VERSION,
        "method": method,
        "video_id": video_id,
        "target_id": target.video_id,
        "source_id": source.video_id,
        "target_file": Path(target.path).name,
        "source_file": Path(source.path).name,
        "source_used": uses_source,
        "seed": settings.seed,
        "rng": {"entropy": settings.seed, "spawn_key": spawn_key},
        "params": result.params,
        "frames": len(per_frame),
        "size": list(target.size),
        "fps": target.fps,
        "frames_without_face": [r["frame"] for r in per_frame if not r["face"]],
        "mask": {
            "polygons": "convex polygons in pixels of the encoded frames, 1/8 px grid",
            "weights": "opacity * smoothstep(clip(distance inside the polygon / feather, 0, 1)); 0 outside",
            "reader": "noisetrace.synth.masks.weights_from_record",
        },
        "per_frame": per_frame,
    }


def _make_fakes(job: FakeJob, settings: SynthSettings, out: str, overwrite: bool) -> dict[str, Any]:
    """Phase 2 for one target: every method's fake, its JSON, and preview rows when asked.

    A fake whose video and JSON both exist is kept as is (resume); it is still recomputed, not
    rewritten, when its preview row is wanted.
    """
    video_id = f"{job.target.video_id}_{job.source.video_id}"
    paths = {m: _video_paths(Path(out), settings.compression, m, video_id) for m in job.methods}
    done = {m for m, p in paths.items() if not overwrite and p.is_file() and p.with_suffix(".json").is_file()}
    made: dict[str, Any] = {"video_id": video_id, "written": [], "kept": sorted(done), "previews": {}}
    todo = [m for m in job.methods if m not in done or job.preview]
    if not todo:
        return made
    decoded = read_video(job.target.path, settings.frames, settings.max_side)
    target = Clip(decoded.frames, job.target.track())
    source: Clip | None = None
    for name in todo:
        method = get_method(name)
        if method.uses_source and source is None:
            source = Clip(read_video(job.source.path, settings.frames, settings.max_side).frames, job.source.track())
        rng, spawn_key = make_rng(settings.seed, name, video_id)
        result = method.apply(target, rng, source if method.uses_source else None)
        if name not in done:
            write_video(paths[name], result.frames, decoded.fps, settings.crf, settings.preset)
            record = _fake_record(
                name, video_id, job.target, job.source, settings, spawn_key, result, method.uses_source
            )
            write_text_atomic(paths[name].with_suffix(".json"), json.dumps(record, separators=(",", ":")) + "\n")
            made["written"].append(name)
        if job.preview:
            valid = target.track.valid_indices
            frame = int(valid[len(valid) // 2])
            alpha = masks.weights_from_record(result.per_frame[frame], decoded.frames.shape[1:])
            made["previews"][name] = preview_row(
                video_id, target.frames[frame], result.frames[frame], alpha, target.track.landmarks[frame]
            )
    return made


# --- driver ----------------------------------------------------------------------------------------


def _init_worker() -> None:
    """Worker processes share the CPU with each other: keep each library on one thread."""
    cv2.setNumThreads(1)
    import torch

    torch.set_num_threads(1)


class _Runner:
    """Runs jobs in this process (``workers <= 1``) or in one pool of spawned processes.

    One pool serves both phases, so each worker pays the import of torch and OpenCV once.
    Results come back in job order.
    """

    def __init__(self, workers: int) -> None:
        self.pool = (
            ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker)
            if workers > 1
            else None
        )

    def map(self, fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        if self.pool is None:
            for job in jobs:
                yield fn(*job)
            return
        futures = [self.pool.submit(fn, *job) for job in jobs]
        for future in futures:
            yield future.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _versions() -> dict[str, str]:
    import torch

    return {
        "noisetrace": noisetrace.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "av": av.__version__,
        "torch": torch.__version__,
    }


def _check_previous(out: Path, settings_json: dict[str, Any], overwrite: bool) -> None:
    summary = out / SUMMARY_FILE
    if overwrite or not summary.is_file():
        return
    try:
        previous = json.loads(summary.read_text(encoding="utf-8")).get("settings")
    except (OSError, json.JSONDecodeError):
        previous = None
    if previous != settings_json:
        raise ConfigError(
            f"{out} holds a benchmark built with other settings ({summary}); choose a new folder or "
            "pass --overwrite to rebuild it."
        )


def _choose_pairs(reals: list[RealVideo], settings: SynthSettings) -> list[tuple[str, str]]:
    """FF++-like pairs over the videos with faces, cut to ``settings.pairs`` (couples stay whole)."""
    all_pairs = make_pairs([r.video_id for r in reals if r.status == "ok"], settings.seed)
    if settings.pairs is None:
        return all_pairs
    if settings.pairs > len(all_pairs):
        raise ConfigError(
            f"--pairs {settings.pairs} exceeds the {len(all_pairs)} real videos with faces "
            "(each is a target once, as in FF++)."
        )
    return all_pairs[: settings.pairs]


def _write_previews(out: Path, rows_by_method: dict[str, list[PreviewRow]]) -> list[str]:
    """One contact sheet per method, and an overview with each method's first row."""
    written = []
    for name, rows in rows_by_method.items():
        if rows:
            write_png(out / "previews" / f"{name}.png", contact_sheet(name, rows))
            written.append(f"previews/{name}.png")
    firsts = [replace(rows[0], label=name) for name, rows in rows_by_method.items() if rows]
    if firsts:
        write_png(out / "previews" / "overview.png", contact_sheet("method", firsts))
        written.append("previews/overview.png")
    return written


def build_benchmark(
    real_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    methods: Iterable[str] | None = None,
    pairs: int | None = None,
    frames: int = 120,
    crf: int = 23,
    seed: int = 0,
    preview: bool = False,
    *,
    preset: str = "faster",
    max_side: int | None = 720,
    detect_every: int = 4,
    detect_side: int = 400,
    workers: int | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the benchmark under ``out`` and return its summary (also saved as ``out/synth.json``).

    A second call with the same settings resumes: files already written are kept (``overwrite``
    rewrites them). ``workers`` defaults to the number of CPUs; ``1`` runs in this process.
    """
    started = time.perf_counter()
    settings = SynthSettings(
        methods=tuple(methods) if methods is not None else tuple(list_methods()),
        pairs=pairs,
        frames=frames,
        crf=crf,
        preset=preset,
        seed=seed,
        max_side=max_side,
        detect_every=detect_every,
        detect_side=detect_side,
    )
    settings.validate()
    say = log or (lambda _message: None)
    out_path = Path(out)
    settings_json = {**asdict(settings), "methods": list(settings.methods)}
    files = list_real_videos(real_dir)
    _check_previous(out_path, settings_json, overwrite)
    header = {"format": "noisetrace-synth", "version": FORMAT_VERSION, "settings": settings_json}
    # Written first, so a run killed half-way is resumed only with the same settings.
    write_json_atomic(out_path / SUMMARY_FILE, {**header, "status": "incomplete"})
    ids = assign_ids(files)
    runner = _Runner((os.cpu_count() or 1) if workers is None else workers)
    try:
        say(f"phase 1: {len(files)} real videos (decode {settings.frames} frames, detect faces, encode)")
        reals: list[RealVideo] = []
        jobs = [(vid, str(path), settings, str(out_path), overwrite) for vid, path in zip(ids, files, strict=True)]
        for real in runner.map(_prepare_real, jobs):
            reals.append(real)
            faces = f"{real.frames_with_face}/{real.frames}"
            say(f"  {real.video_id} {Path(real.path).name}: {real.status}, face in {faces} frames")
        phase1 = time.perf_counter() - started

        chosen = _choose_pairs(reals, settings)
        by_id = {r.video_id: r for r in reals}
        say(f"phase 2: {len(chosen)} pairs x {len(settings.methods)} methods")
        fake_jobs = [
            (
                FakeJob(by_id[t], by_id[s], settings.methods, preview and k < PREVIEW_ROWS),
                settings,
                str(out_path),
                overwrite,
            )
            for k, (t, s) in enumerate(chosen)
        ]
        preview_rows: dict[str, list[PreviewRow]] = {m: [] for m in settings.methods}
        fakes: dict[str, list[str]] = {m: [] for m in settings.methods}
        written = kept = 0
        for made in runner.map(_make_fakes, fake_jobs):
            for name in settings.methods:
                fakes[name].append(made["video_id"])
                if name in made["previews"]:
                    preview_rows[name].append(made["previews"][name])
            written += len(made["written"])
            kept += len(made["kept"])
            say(f"  {made['video_id']}: wrote {', '.join(made['written']) or 'nothing'}")
    finally:
        runner.close()
    preview_files = _write_previews(out_path, preview_rows) if preview else []

    summary = {
        **header,
        "status": "complete",
        "versions": _versions(),
        "real_dir": str(Path(real_dir).resolve()),
        "layout": {
            "real": str(REAL_DIR / settings.compression / "videos"),
            "fake": str(FAKE_DIR / "<method>" / settings.compression / "videos"),
            "fake_record": "<target>_<source>.json beside each fake video",
        },
        "ids": {r.video_id: Path(r.path).name for r in reals},
        "videos": [r.report() for r in reals],
        "skipped_for_fakes": {r.video_id: r.message for r in reals if r.status != "ok"},
        "pairs": [f"{t}_{s}" for t, s in chosen],
        "fakes": fakes,
        "previews": preview_files,
        "files": {"written": written, "kept": kept},
        "timing_s": {"phase1": round(phase1, 2), "total": round(time.perf_counter() - started, 2)},
    }
    write_json_atomic(out_path / SUMMARY_FILE, summary)
    return summary
