"""Detect-then-track: key frames get the full cascade, frames between are tracked, lost tracks redone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from noisetrace.core.errors import NoisetraceError, VideoDecodeError
from noisetrace.faces.detection import FaceFinder, FrameFaces
from noisetrace.faces.extract import ExtractSettings, FaceExtractor
from noisetrace.faces.geometry import box_iou
from noisetrace.faces.mtcnn import MTCNN
from noisetrace.faces.video import decode_ahead, iter_frames, read_frames

TALKING_HEAD = "real_videos/KwaiVGI__LivePortrait__s18.mp4"  # 1280×720, one face
SEVERAL_FACES = "real_videos/facenet-pytorch_video.mp4"  # 1920×1080, several people, a moving subject


@pytest.fixture(scope="module")
def detector() -> MTCNN:
    return MTCNN()


@pytest.fixture(scope="module")
def talking_head(shared_data) -> list[np.ndarray]:
    return read_frames(shared_data / TALKING_HEAD, 40)


def _largest(faces):
    return max(faces, key=lambda f: float(np.prod(f.box[2:] - f.box[:2])))


def test_key_frames_every_interval_and_tracked_boxes_match_full_detection(detector, talking_head):
    finder = FaceFinder(detector, interval=10, proposal_max_side=640)
    found = list(finder.faces(enumerate(talking_head)))
    assert [f.index for f in found] == list(range(len(talking_head)))
    detected = [f.index for f in found if f.how == "detected"]
    assert detected[:4] == [0, 10, 20, 30] and detected[-1] == len(talking_head) - 1
    assert sum(f.how == "tracked" for f in found) >= 30
    reference = detector.detect(talking_head, proposal_max_side=640)
    ious = [box_iou(_largest(f.faces).box, _largest(r).box) for f, r in zip(found, reference, strict=True)]
    assert all(f.faces for f in found)
    assert np.median(ious) > 0.9 and min(ious) > 0.75


def test_every_frame_mode_runs_the_full_cascade_on_each_frame(detector, talking_head):
    found = list(FaceFinder(detector, mode="every_frame", proposal_max_side=640).faces(enumerate(talking_head[:5])))
    assert [f.how for f in found] == ["detected"] * 5


def test_a_shot_change_is_a_key_frame(detector, talking_head, shared_data):
    other = read_frames(shared_data / SEVERAL_FACES, 8)
    other = [np.ascontiguousarray(frame[180:900, 320:1600]) for frame in other]  # same size as the first shot
    frames = talking_head[:6] + other
    found = list(FaceFinder(detector, interval=50, proposal_max_side=640).faces(enumerate(frames)))
    assert found[6].how == "detected"  # the first frame of the second shot
    assert all(f.how == "tracked" for f in found[1:5])


class _RecordingMTCNN(MTCNN):
    """MTCNN that notes the smallest face size each full detection searched for."""

    def __init__(self) -> None:
        super().__init__()
        self.searched: list[int] = []

    def detect(self, frames, min_face_size=None, proposal_max_side=None):
        self.searched.append(self.min_face_size if min_face_size is None else min_face_size)
        return super().detect(frames, min_face_size=min_face_size, proposal_max_side=proposal_max_side)


def test_key_frames_of_a_shot_look_for_faces_of_the_size_already_seen(talking_head, shared_data):
    other = read_frames(shared_data / SEVERAL_FACES, 4)
    other = [np.ascontiguousarray(frame[180:900, 320:1600]) for frame in other]  # same size as the first shot
    detector = _RecordingMTCNN()
    found = list(FaceFinder(detector, interval=10, proposal_max_side=640).faces(enumerate(talking_head[:21] + other)))
    key_frames = [f for f in found if f.how == "detected"]
    assert [f.index for f in key_frames][:4] == [0, 10, 20, 21]  # 21: the shot change

    def half_in_proposal_pixels(key: FrameFaces) -> int:
        (face,) = key.faces
        return int(float(np.mean(face.box[2:] - face.box[:2])) * 640 / 1280 * 0.5)

    # The first frame and the first frame after the cut search every size; the others only faces
    # of at least half the size the previous key frame saw, and still find the face.
    assert detector.searched[0] == detector.searched[3] == detector.min_face_size
    assert detector.searched[1] == half_in_proposal_pixels(key_frames[0]) > 2 * detector.min_face_size
    assert detector.searched[2] == half_in_proposal_pixels(key_frames[1])
    assert all(f.faces for f in key_frames[:3])


def test_a_face_that_vanishes_between_key_frames_is_looked_for_again_by_detection(detector, talking_head):
    frames = [frame.copy() for frame in talking_head[:11]]
    frames[5][:] = 0  # the face is gone in one frame (a dropped frame, a hand in front of the lens)
    found = list(FaceFinder(detector, interval=10, proposal_max_side=640).faces(enumerate(frames)))
    assert found[5].how == "detected" and found[5].faces == []
    assert found[4].how == "tracked" and found[4].faces


def test_faces_of_disagreeing_key_frames_are_reconciled_by_detecting_between(detector, talking_head):
    frames = [frame.copy() for frame in talking_head[:11]]
    for frame in frames[6:]:
        frame[:] = frame.mean(axis=(0, 1), keepdims=True).astype(np.uint8)  # the face leaves after frame 5
    found = list(FaceFinder(detector, interval=10, proposal_max_side=640).faces(enumerate(frames)))
    assert all(f.faces for f in found[:6]) and not any(f.faces for f in found[6:])
    assert 1 < sum(f.how == "detected" for f in found) < len(frames)


def test_meta_records_which_frames_were_detected_and_which_tracked(tmp_path, shared_data, detector):
    extractor = FaceExtractor(ExtractSettings(frames=24, keyframe_interval=8), detector)
    result = extractor.process("v", shared_data / TALKING_HEAD, tmp_path)
    assert result.status == "ok" and result.faces == 24
    meta = json.loads((tmp_path / "v" / "meta.json").read_text())
    how = [frame["detection"] for frame in meta["frames"]]
    assert how[0] == how[8] == how[16] == how[23] == "detected" and how.count("tracked") >= 18
    assert meta["detector"]["frames"]["mode"] == "track"
    assert meta["detector"]["frames_detected"] + meta["detector"]["frames_tracked"] == 24


def test_the_several_faces_video_keeps_its_subject_when_tracked(tmp_path, shared_data, detector):
    """The camera pans across several people (faces move ~35 px a frame): tracking must choose the same
    subject as per-frame detection, in the same frames, at the same place."""
    path = shared_data / SEVERAL_FACES
    boxes = {}
    for mode in ("track", "every_frame"):
        extractor = FaceExtractor(ExtractSettings(frames=60, detection=mode), detector)
        extractor.process(mode, path, tmp_path)
        meta = json.loads((tmp_path / mode / "meta.json").read_text())
        boxes[mode] = {frame["index"]: np.array(frame["box"]) for frame in meta["frames"] if frame["box"]}
    assert boxes["track"].keys() == boxes["every_frame"].keys() and len(boxes["track"]) >= 30
    ious = [box_iou(boxes["track"][i], boxes["every_frame"][i]) for i in boxes["track"]]
    assert min(ious) > 0.6 and np.median(ious) > 0.85


def test_frame_stride_keeps_every_nth_frame(shared_data, tmp_path, detector):
    assert [i for i, _ in iter_frames(shared_data / TALKING_HEAD, 10, stride=3)] == [0, 3, 6, 9]
    extractor = FaceExtractor(ExtractSettings(frames=12, frame_stride=4), detector)
    result = extractor.process("s", shared_data / TALKING_HEAD, tmp_path)
    meta = json.loads((tmp_path / "s" / "meta.json").read_text())
    assert result.status == "ok" and [f["index"] for f in meta["frames"]] == [0, 4, 8]
    assert meta["source"]["frame_stride"] == 4
    with pytest.raises(NoisetraceError, match="stride"):
        ExtractSettings(frame_stride=0)


def test_decode_ahead_hands_over_frames_errors_and_stops_early(shared_data, tmp_path):
    path = shared_data / TALKING_HEAD
    assert [i for i, _ in decode_ahead(iter_frames(path, 12), depth=2)] == list(range(12))
    stream = decode_ahead(iter_frames(path, 200), depth=2)
    assert next(stream)[0] == 0
    stream.close()  # stops the decoding thread without reading the rest
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoDecodeError):
        list(decode_ahead(iter_frames(broken)))


def test_settings_are_checked():
    with pytest.raises(NoisetraceError, match="detection"):
        ExtractSettings(detection="sometimes")
    with pytest.raises(NoisetraceError, match="keyframe_interval"):
        ExtractSettings(keyframe_interval=0)
