"""Faces in every frame of a video: the full MTCNN cascade on key frames, tracking in between.

The paper runs MTCNN on every frame. Most of the cascade's time goes to P-Net's image pyramid, which
searches the whole frame for faces of every size, although a video's subject moves a few pixels from
one frame to the next. So, by default (``mode="track"``):

- **Key frames** get the full cascade: the first frame, every ``interval``-th frame after the last
  key frame, a frame where the picture changes abruptly (a shot change: the mean absolute difference
  of small grayscale thumbnails of consecutive frames above :data:`SHOT_CHANGE`), and the last frame.
- **Frames between two key frames** are *tracked*: each face is looked for
  (:meth:`~noisetrace.faces.mtcnn.MTCNN.track`: R-Net and O-Net only) at its box interpolated
  linearly from the left key frame to the right one. O-Net places the box and the landmarks exactly
  as in a full detection, on the full-resolution frame.
- **Key frames that disagree are reconciled**: when a face is in one key frame and not matched in the
  other (it entered, left, or moved too far), the middle frame gets the full cascade and each half
  is treated the same way, down to agreement.
- **A lost track falls back to detection**: when a face is not found again (O-Net rejects it, or what
  it finds overlaps the expected box by less than IoU 0.3), that frame gets the full cascade.
- **Key frames look for faces of the size already seen**: within a shot, a key frame's P-Net pyramid
  stops at half the smallest face of the previous key frame (:data:`KNOWN_FACE_FRACTION`) instead of
  the detector's ``min_face_size``. The finest pyramid levels, which search for the smallest faces,
  are most of the cascade's cost; a talking head's face fills a good part of the frame. The first
  frame, the first frame after a shot change, a key frame after one without faces, and a frame where
  a track was lost search for every size.

Faces that enter and leave between two key frames are missed, and so is a face less than half the
size of those already in the shot until the next shot change; the subject of a talking-face video is
in every key frame. ``mode="every_frame"`` runs the full cascade on every frame (the paper's literal
procedure). Every frame says which it got (``"detected"`` or ``"tracked"``); ``meta.json`` records it.
``benchmarks/extract.py`` measures the speed and the subject-box IoU against per-frame detection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from noisetrace.core.errors import NoisetraceError
from noisetrace.faces.geometry import box_iou
from noisetrace.faces.mtcnn import MTCNN, FaceDetection, proposal_scale

DETECTION_MODES = ("track", "every_frame")
DEFAULT_INTERVAL = 10  # frames from one key frame to the next (1/3 s at 30 fps)
SHOT_CHANGE = 30.0  # mean absolute difference (0-255) of consecutive 32×18 grayscale thumbnails
MATCH_IOU = 0.3  # boxes of two key frames overlapping this much are one face (or see _same_face_distance)
MATCH_SIZE_RATIO = 1.5
DUPLICATE_OVERLAP = 0.7  # two tracked boxes overlapping this much (of the smaller) are one face
THUMBNAIL_SIZE = (32, 18)
KNOWN_FACE_FRACTION = 0.5  # key frames of a shot look for faces down to this fraction of the smallest seen


@dataclass
class FrameFaces:
    """The faces found in one frame and how: ``"detected"`` (full cascade) or ``"tracked"``."""

    index: int
    rgb: np.ndarray
    faces: list[FaceDetection]
    how: str


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A 32×18 grayscale summary of the frame, from every 8th pixel (a full-frame resize costs more
    than tracking the face; a shot change shows at any resolution)."""
    sample = np.ascontiguousarray(rgb[::8, ::8])
    gray = cv2.cvtColor(sample, cv2.COLOR_RGB2GRAY) if sample.ndim == 3 and sample.shape[2] == 3 else sample
    return cv2.resize(gray, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def _overlap_of_smaller(a: np.ndarray, b: np.ndarray) -> float:
    low, high = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(high - low, 0, None)))
    smaller = min(float(np.prod(a[2:] - a[:2])), float(np.prod(b[2:] - b[:2])))
    return inter / smaller if smaller > 0 else 0.0


def _distinct(faces: list[FaceDetection]) -> list[FaceDetection]:
    """Faces by descending score, dropping one that covers a better one (two seeds found one face)."""
    kept: list[FaceDetection] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if all(_overlap_of_smaller(face.box, other.box) <= DUPLICATE_OVERLAP for other in kept):
            kept.append(face)
    return kept


def _same_face_distance(a: FaceDetection, b: FaceDetection) -> float | None:
    """How far apart two boxes of key frames are, in face sizes, if they can be one face, else None.

    One face if the boxes overlap (IoU ≥ :data:`MATCH_IOU`), or if their centres are within one face
    size of each other and their sizes within :data:`MATCH_SIZE_RATIO`: a subject who walks or turns
    quickly may move a whole face width between key frames.
    """
    size_a, size_b = float(np.mean(a.box[2:] - a.box[:2])), float(np.mean(b.box[2:] - b.box[:2]))
    if min(size_a, size_b) <= 0:
        return None
    centre_a, centre_b = (a.box[:2] + a.box[2:]) / 2, (b.box[:2] + b.box[2:]) / 2
    distance = float(np.linalg.norm(centre_a - centre_b)) / ((size_a + size_b) / 2)
    if box_iou(a.box, b.box) >= MATCH_IOU:
        return distance
    if distance <= 1.0 and max(size_a, size_b) / min(size_a, size_b) <= MATCH_SIZE_RATIO:
        return distance
    return None


def _match(left: list[FaceDetection], right: list[FaceDetection]) -> dict[int, int]:
    """Greedy matching of the faces of two key frames, nearest first: left index → right index."""
    pairs = sorted(
        (distance, i, j)
        for i, a in enumerate(left)
        for j, b in enumerate(right)
        if (distance := _same_face_distance(a, b)) is not None
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in pairs:
        if i not in matched and j not in used:
            matched[i] = j
            used.add(j)
    return matched


class FaceFinder:
    """Finds the faces of each frame of a stream, detecting on key frames and tracking in between.

    ``frames`` given to :meth:`faces` are ``(index, rgb)`` pairs in order; the finder keeps at most
    ``interval + 1`` of them in memory and yields a :class:`FrameFaces` for every one, in order.
    """

    def __init__(
        self,
        detector: MTCNN,
        mode: str = "track",
        interval: int = DEFAULT_INTERVAL,
        min_face_size: int | None = None,
        proposal_max_side: int | None = None,
        batch_size: int = 16,
    ) -> None:
        if mode not in DETECTION_MODES:
            raise NoisetraceError(f"detection mode must be one of {', '.join(DETECTION_MODES)}, got {mode!r}.")
        if interval < 1:
            raise NoisetraceError(f"the key-frame interval must be at least 1 frame, got {interval}.")
        self.detector = detector
        self.mode = mode
        self.interval = interval
        self.min_face_size = min_face_size
        self.proposal_max_side = proposal_max_side
        self.batch_size = batch_size

    def settings(self) -> dict:
        """How frames were searched, as JSON-able values for ``meta.json``."""
        if self.mode == "every_frame":
            return {"mode": "every_frame"}
        return {
            "mode": "track",
            "keyframe_interval": self.interval,
            "shot_change_threshold": SHOT_CHANGE,
            "tracking": "R-Net + O-Net around the box interpolated between key frames; lost -> full cascade",
            "keyframe_min_face": f"{KNOWN_FACE_FRACTION} x the smallest face of the shot's previous key frame",
        }

    def _detect(self, frames: list[np.ndarray], min_face_size: int | None = None) -> list[list[FaceDetection]]:
        found: list[list[FaceDetection]] = []
        for start in range(0, len(frames), self.batch_size):
            found += self.detector.detect(
                frames[start : start + self.batch_size],
                min_face_size=self.min_face_size if min_face_size is None else min_face_size,
                proposal_max_side=self.proposal_max_side,
            )
        return found

    def _detect_known(self, rgb: np.ndarray, known: list[FaceDetection]) -> list[FaceDetection]:
        """The full cascade on one key frame of a shot whose faces ``known`` are already seen, looking for
        faces down to :data:`KNOWN_FACE_FRACTION` of the smallest of them (module docstring)."""
        if not known:
            return self._detect([rgb])[0]
        smallest = min(float(np.mean(face.box[2:] - face.box[:2])) for face in known)
        scale = proposal_scale(*rgb.shape[:2], self.proposal_max_side)  # min_face_size counts P-Net's pixels
        floor = self.min_face_size if self.min_face_size is not None else self.detector.min_face_size
        return self._detect([rgb], max(floor, int(smallest * scale * KNOWN_FACE_FRACTION)))[0]

    def faces(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[FrameFaces]:
        """The faces of every frame of ``frames``, in order (module docstring for how they are found)."""
        if self.mode == "every_frame":
            yield from self._every_frame(frames)
            return
        key: FrameFaces | None = None
        between: list[tuple[int, np.ndarray]] = []
        previous_thumbnail: np.ndarray | None = None
        for index, rgb in frames:
            thumbnail = _thumbnail(rgb)
            cut = previous_thumbnail is not None and float(np.abs(thumbnail - previous_thumbnail).mean()) > SHOT_CHANGE
            previous_thumbnail = thumbnail
            if key is None or cut or len(between) + 1 >= self.interval:
                known = [] if key is None or cut else key.faces
                right = FrameFaces(index, rgb, self._detect_known(rgb, known), "detected")
                if key is not None:
                    yield from self._between(key, between, right, same_shot=not cut)
                yield right
                key, between = right, []
            else:
                between.append((index, rgb))
        if key is not None and between:  # the last frame is a key frame, so the tail is bracketed too
            index, rgb = between.pop()
            right = FrameFaces(index, rgb, self._detect_known(rgb, key.faces), "detected")
            yield from self._between(key, between, right, same_shot=True)
            yield right

    def _every_frame(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[FrameFaces]:
        chunk: list[tuple[int, np.ndarray]] = []
        for item in frames:
            chunk.append(item)
            if len(chunk) == self.batch_size:
                yield from self._detected(chunk)
                chunk = []
        yield from self._detected(chunk)

    def _detected(self, chunk: list[tuple[int, np.ndarray]]) -> Iterator[FrameFaces]:
        if chunk:
            for (index, rgb), faces in zip(chunk, self._detect([rgb for _, rgb in chunk]), strict=True):
                yield FrameFaces(index, rgb, faces, "detected")

    def _between(
        self, left: FrameFaces, frames: list[tuple[int, np.ndarray]], right: FrameFaces, same_shot: bool
    ) -> Iterator[FrameFaces]:
        """Track the frames strictly between two key frames.

        Key frames of one shot that disagree (a face in one and not in the other: it entered, left, or
        moved too far to match) are reconciled by detecting the middle frame and treating each half
        the same way; after a shot change the faces of the left key frame are followed alone. A frame
        where a followed face is not found again gets the full cascade.
        """
        if not frames:
            return
        matched = _match(left.faces, right.faces) if same_shot else {}
        if same_shot and (len(matched) < len(left.faces) or len(matched) < len(right.faces)):
            middle = len(frames) // 2
            index, rgb = frames[middle]
            found = FrameFaces(index, rgb, self._detect_known(rgb, left.faces + right.faces), "detected")
            yield from self._between(left, frames[:middle], found, same_shot=True)
            yield found
            yield from self._between(found, frames[middle + 1 :], right, same_shot=True)
            return
        expected = []  # per frame, one expected box per face of the left key frame
        for index, _ in frames:
            t = (index - left.index) / (right.index - left.index) if same_shot else 0.0
            boxes = [
                (1 - t) * face.box + t * right.faces[matched[i]].box if same_shot else face.box
                for i, face in enumerate(left.faces)
            ]
            expected.append(np.array(boxes, dtype=np.float32).reshape(-1, 4))
        found = self.detector.track([rgb for _, rgb in frames], expected, proposal_max_side=self.proposal_max_side)
        lost = [number for number, answers in enumerate(found) if any(answer is None for answer in answers)]
        redone = dict(zip(lost, self._detect([frames[n][1] for n in lost]), strict=True))
        for number, (index, rgb) in enumerate(frames):
            if number in redone:
                yield FrameFaces(index, rgb, redone[number], "detected")
            else:
                yield FrameFaces(index, rgb, _distinct([f for f in found[number] if f is not None]), "tracked")
