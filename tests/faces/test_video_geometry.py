"""Decoding and crop geometry, from first principles and on real video."""

from __future__ import annotations

import numpy as np
import pytest

from noisetrace.core.errors import VideoDecodeError
from noisetrace.core.io import file_sha256
from noisetrace.faces.geometry import box_iou, crop_and_resize, enlarge_box
from noisetrace.faces.tracking import select_subject
from noisetrace.faces.video import iter_frames, probe_video, read_frames


def test_decoding_stops_after_requested_frames(shared_data):
    path = shared_data / "samples" / "ffpp_c23_original_000.mp4"
    info = probe_video(path)
    assert info.frame_count > 120
    frames = read_frames(path, max_frames=120)
    assert len(frames) == 120
    assert frames[0].shape == (info.height, info.width, 3) and frames[0].dtype == np.uint8


def test_all_frames_when_fewer_than_requested(tmp_path, video_writer):
    path = video_writer(tmp_path / "short.mp4", [np.full((32, 48, 3), i * 20, np.uint8) for i in range(7)])
    assert [index for index, _ in iter_frames(path, 120)] == list(range(7))


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.mp4", b""), ("notes.mp4", b"this is a text file, not a video\n" * 20)],
)
def test_unreadable_files_raise_a_clear_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VideoDecodeError, match=name):
        read_frames(path, 5)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(VideoDecodeError, match=r"nowhere\.mp4"):
        probe_video(tmp_path / "nowhere.mp4")


def test_truncated_file_yields_the_frames_before_the_damage(tmp_path, shared_data):
    data = (shared_data / "samples" / "ffpp_c23_original_000.mp4").read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 3])
    try:
        frames = read_frames(path, 120)
    except VideoDecodeError:
        return  # some truncations destroy the index entirely: a clear error is also right
    assert 0 < len(frames) < 120


def test_sha256_matches_catalog(shared_data):
    import csv

    with open(shared_data / "catalog.csv", newline="") as handle:
        rows = {r["file"]: r["sha256"] for r in csv.DictReader(handle)}
    name = "samples/ffpp_c23_original_000.mp4"
    assert file_sha256(shared_data / name) == rows[name]


def test_enlarge_box_scales_about_centre():
    box = enlarge_box(np.array([10, 20, 110, 220]), 1.2)
    np.testing.assert_allclose(box, [0, 0, 120, 240])


def test_crop_pads_outside_the_frame_with_black():
    frame = np.full((100, 100, 3), 200, np.uint8)
    crop = crop_and_resize(frame, np.array([-50, 0, 50, 100]), size=100)
    assert crop.shape == (100, 100, 3)
    assert crop[:, :45].max() == 0 and crop[:, 55:].min() == 200


def test_box_iou():
    assert box_iou(np.array([0, 0, 10, 10]), np.array([0, 0, 10, 10])) == 1.0
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)
    assert box_iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0


def test_subject_is_the_persistent_large_face_not_a_brief_larger_one():
    big_left = np.array([10, 10, 110, 110], np.float32)
    small_right = np.array([300, 10, 340, 50], np.float32)
    huge_flash = np.array([150, 150, 350, 350], np.float32)
    boxes, scores = [], []
    for f in range(20):
        frame_boxes = [small_right, big_left + f] if f != 5 else [small_right, big_left + f, huge_flash]
        boxes.append(np.array(frame_boxes))
        scores.append(np.full(len(frame_boxes), 0.99))
    boxes[7], scores[7] = np.zeros((0, 4)), np.zeros(0)  # a frame without faces
    subject = select_subject(boxes, scores)
    assert set(subject) == set(range(20)) - {7}
    assert all(subject[f] == 1 for f in subject)


def test_rotation_metadata_turns_frames_upright(tmp_path, video_writer):
    """A phone-style file: pixels stored landscape, the track header says "display rotated 90° clockwise"."""
    import struct

    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :32] = 255  # left half white
    path = video_writer(tmp_path / "stored.mp4", [image] * 3)
    data = bytearray(path.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 40  # the 3×3 display matrix inside the track header box
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    rotated = tmp_path / "rotated.mp4"
    rotated.write_bytes(bytes(data))
    frame = read_frames(rotated, 1)[0]
    assert frame.shape == (64, 32, 3)  # portrait, as a player shows it
    assert frame[:24].min() > 200 and frame[40:].max() < 50  # the left half turned to the top
