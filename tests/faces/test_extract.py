"""Face extraction end to end on real and deliberately bad videos."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from noisetrace.core.errors import OutputError
from noisetrace.core.manifest import make_uid, validate_manifest, write_manifest
from noisetrace.faces.cache import META_FILE, OVERVIEW_FILE, FaceCache, read_crop
from noisetrace.faces.extract import ExtractSettings, FaceExtractor, extract_manifest, select_shard
from noisetrace.faces.video import read_frames


def folder_manifest(videos: dict[str, Path]) -> pd.DataFrame:
    """A manifest of real videos named by ``videos`` keys (dataset 'folder')."""
    rows = [
        dict(
            uid=make_uid("folder", "", "original", name),
            dataset="folder",
            method="original",
            label=0,
            video_id=name,
            target_id=name,
            source_id="",
            identity=name,
            compression="",
            split="",
            path=str(p),
        )
        for name, p in videos.items()
    ]
    return validate_manifest(pd.DataFrame(rows))


def uid_of(name: str) -> str:
    return make_uid("folder", "", "original", name)


def assert_crops_hold_the_face(cache: FaceCache, uid: str, expected_frames: int) -> None:
    meta = cache.read_meta(uid)
    assert len(meta.frames) == expected_frames
    faces = meta.face_frames
    assert len(faces) >= 0.9 * expected_frames
    for record in faces:
        crop = read_crop(cache.video_dir(uid) / record.file)
        assert crop.shape == (224, 224, 3)
        x1, y1, x2, y2 = record.crop_box
        landmarks = np.array(record.landmarks)
        assert ((landmarks[:, 0] > x1) & (landmarks[:, 0] < x2)).all()
        assert ((landmarks[:, 1] > y1) & (landmarks[:, 1] < y2)).all()
    for record in meta.frames:
        assert (record.file is None) == (record.reason is not None)


def two_face_frames(shared_data: Path, count: int) -> list[np.ndarray]:
    """A 640×360 clip: a large real face on the left (the subject), a smaller other person on the right."""
    subject = read_frames(shared_data / "real_videos" / "sadtalker_WDA_KatieHill_000.mp4", count)
    other = read_frames(shared_data / "real_videos" / "sadtalker_RD_Radio2_000.mp4", count)
    frames = []
    for a, b in zip(subject, other, strict=True):
        canvas = np.full((360, 640, 3), 90, np.uint8)
        canvas[:, :360] = cv2.resize(a, (360, 360), interpolation=cv2.INTER_AREA)
        canvas[100:300, 420:620] = cv2.resize(b, (200, 200), interpolation=cv2.INTER_AREA)
        frames.append(canvas)
    return frames


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, shared_data, video_writer):
    """Every kind of awkward input the issue names, made from real media where a face is needed."""
    write_test_video = video_writer
    folder = tmp_path_factory.mktemp("bad")
    real = shared_data / "samples" / "ffpp_c23_original_000.mp4"
    data = real.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (folder / "text.mp4").write_text("not a video\n" * 100)
    (folder / "empty.mp4").write_bytes(b"")
    rng = np.random.default_rng(0)
    write_test_video(
        folder / "noface.mp4", [rng.integers(0, 255, (240, 320, 3), np.uint8) for _ in range(10)]
    )
    faces = read_frames(real, 12)
    write_test_video(
        folder / "gray.mkv",
        [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in faces],
        codec="ffv1",
        pix_fmt="gray",
    )
    write_test_video(
        folder / "tiny.mp4", [cv2.resize(f, (16, 16), interpolation=cv2.INTER_AREA) for f in faces]
    )
    write_test_video(folder / "twofaces.mp4", two_face_frames(shared_data, 12))
    return {
        "truncated": folder / "truncated.mp4",
        "text": folder / "text.mp4",
        "empty": folder / "empty.mp4",
        "noface": folder / "noface.mp4",
        "gray": folder / "gray.mkv",
        "tiny": folder / "tiny.mp4",
        "twofaces": folder / "twofaces.mp4",
        "portrait": shared_data / "samples" / "dfdc_train_part_0" / "brtujopkby.mp4",
    }


@pytest.fixture(scope="module")
def extracted(bad_inputs, tmp_path_factory):
    cache_root = tmp_path_factory.mktemp("cache")
    manifest = folder_manifest(bad_inputs)
    results = extract_manifest(manifest, cache_root, ExtractSettings(frames=12))
    return cache_root, {r.uid: r for r in results}


@pytest.mark.parametrize("name", ["text", "empty"])
def test_unreadable_video_is_reported_and_run_continues(extracted, name):
    cache_root, results = extracted
    result = results[uid_of(name)]
    assert result.status == "decode_error"
    assert name in result.message
    assert not (cache_root / uid_of(name)).exists()
    assert (cache_root / "_status" / f"{uid_of(name)}.json").is_file()


def test_truncated_video_keeps_the_frames_it_has(extracted):
    cache_root, results = extracted
    result = results[uid_of("truncated")]
    # Half an mp4 whose index (moov) is at the end is unreadable; otherwise frames before the cut survive.
    assert result.status in ("decode_error", "truncated", "ok")
    if result.status != "decode_error":
        assert_crops_hold_the_face(FaceCache(cache_root), uid_of("truncated"), result.frames)


@pytest.mark.parametrize("name", ["noface", "tiny"])
def test_video_without_a_face_is_reported(extracted, name):
    cache_root, results = extracted
    assert results[uid_of(name)].status == "no_face"
    assert json.loads((cache_root / "_status" / f"{uid_of(name)}.json").read_text())["status"] == "no_face"


@pytest.mark.parametrize("name", ["gray", "portrait"])
def test_grayscale_and_portrait_videos_give_face_crops(extracted, name):
    cache_root, results = extracted
    assert results[uid_of(name)].status in ("ok", "partial")
    assert_crops_hold_the_face(FaceCache(cache_root), uid_of(name), 12)


def test_two_faces_subject_stays_the_same_person(extracted):
    cache_root, _results = extracted
    meta = FaceCache(cache_root).read_meta(uid_of("twofaces"))
    centres = np.array([[(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2] for f in meta.face_frames])
    assert len(centres) == 12
    # two_face_frames puts the larger (subject) face in the left half of a 640-wide frame
    assert (centres[:, 0] < 320).all()


def test_report_lists_every_video(extracted, bad_inputs):
    cache_root, _ = extracted
    report = pd.read_csv(cache_root / "extract_report.csv")
    assert sorted(report["uid"]) == sorted(uid_of(n) for n in bad_inputs)
    assert "pending" not in set(report["status"])


def test_rerun_skips_finished_and_failed_videos(extracted, bad_inputs):
    cache_root, _ = extracted
    assert extract_manifest(folder_manifest(bad_inputs), cache_root, ExtractSettings(frames=12)) == []


def test_kill_during_extract_then_rerun_completes(tmp_path, shared_data):
    """kill -9 mid-run: no half-written video is visible, and a rerun finishes the rest."""
    videos = {f"v{i}": shared_data / "samples" / "ffpp_c23_original_000.mp4" for i in range(6)}
    manifest_path = write_manifest(folder_manifest(videos), tmp_path / "manifest.csv")
    cache_root = tmp_path / "cache"
    command = [
        sys.executable,
        "-m",
        "noisetrace.cli",
        "extract",
        str(manifest_path),
        "-o",
        str(cache_root),
        "--frames",
        "40",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(cache_root.glob("*/meta.json")):
        time.sleep(0.2)
    time.sleep(0.5)  # let it get into the middle of the next video
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    cache = FaceCache(cache_root)
    done_before = cache.uids()
    assert 1 <= len(done_before) < len(videos), "the kill should land mid-run"
    for uid in done_before:  # every visible video is complete
        assert all(path.is_file() for _, path in cache.crop_paths(uid))
    # the report is there too, at most one video behind the cache (issue 12, item 7)
    report = pd.read_csv(cache_root / "extract_report.csv")
    assert sorted(report["uid"]) == sorted(uid_of(n) for n in videos)
    assert set(report.loc[report["status"] == "ok", "uid"]) <= set(done_before)
    assert len(report.loc[report["status"] == "ok"]) >= len(done_before) - 1

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert cache.uids() == sorted(uid_of(n) for n in videos)
    assert not list(cache_root.glob(".*.partial"))
    for uid in cache.uids():
        assert len(cache.crop_paths(uid)) == 40


def test_shards_are_disjoint_and_cover_every_video():
    uids = [f"u{i}" for i in range(10)]
    shards = [select_shard(uids, (i, 3)) for i in range(3)]
    assert sorted(uid for shard in shards for uid in shard) == sorted(uids)
    assert all(not set(shards[i]) & set(shards[j]) for i in range(3) for j in range(i + 1, 3))


def test_workers_and_shards_give_the_same_cache_as_one_process(tmp_path, shared_data):
    videos = {f"w{i}": shared_data / "samples" / "ffpp_c23_original_000.mp4" for i in range(3)}
    manifest, settings = folder_manifest(videos), ExtractSettings(frames=6)
    extract_manifest(manifest, tmp_path / "parallel", settings, workers=2)
    for shard in range(2):
        extract_manifest(manifest, tmp_path / "sharded", settings, shard=(shard, 2))
    parallel, sharded = FaceCache(tmp_path / "parallel"), FaceCache(tmp_path / "sharded")
    assert parallel.uids() == sharded.uids() == sorted(uid_of(n) for n in videos)
    for uid in parallel.uids():
        pairs = zip(parallel.crop_paths(uid), sharded.crop_paths(uid), strict=True)
        assert all(a.read_bytes() == b.read_bytes() for (_, a), (_, b) in pairs)
    report = pd.read_csv(tmp_path / "sharded" / "extract_report.csv")
    assert set(report["status"]) == {"ok"}


def refuse_writes(monkeypatch, should_fail, err: int = errno.ENOSPC) -> None:
    """The filesystem refuses the files ``should_fail(path)`` picks with ``err`` (ENOSPC: the disk is
    full), whichever way they are written: Python's file writes, or OpenCV's ``imwrite`` (``False``).
    Like a real full disk, the error names no file."""
    write_bytes, write_text, imwrite = Path.write_bytes, Path.write_text, cv2.imwrite

    def refused_bytes(self, data):
        if should_fail(self):
            raise OSError(err, os.strerror(err))
        return write_bytes(self, data)

    def refused_text(self, data, *args, **kwargs):
        if should_fail(self):
            raise OSError(err, os.strerror(err))
        return write_text(self, data, *args, **kwargs)

    def refused_imwrite(name, *args, **kwargs):
        return False if should_fail(Path(name)) else imwrite(name, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", refused_bytes)
    monkeypatch.setattr(Path, "write_text", refused_text)
    monkeypatch.setattr(cv2, "imwrite", refused_imwrite)


@pytest.mark.parametrize("refused", ["0001.png", OVERVIEW_FILE, META_FILE])
def test_a_full_disk_stops_the_run_with_one_line_and_no_half_written_video(tmp_path, shared_data, monkeypatch, refused):
    """Issue 12, item 1: a crop, the overview or meta.json that cannot be written (ENOSPC) is an
    OutputError naming the file and the cause; the video's folder is not left looking finished."""
    video = shared_data / "samples" / "ffpp_c23_original_000.mp4"
    manifest = folder_manifest({"first": video, "second": video})
    cache_root = tmp_path / "cache"
    second = uid_of("second")
    refuse_writes(monkeypatch, lambda path: path.name == refused and second in path.parent.name)

    with pytest.raises(OutputError) as caught:
        extract_manifest(manifest, cache_root, ExtractSettings(frames=3))
    message = str(caught.value)
    assert "\n" not in message and refused in message and "the disk is full" in message
    assert "Nothing finished was lost" in message
    cache = FaceCache(cache_root)
    assert cache.uids() == [uid_of("first")] and len(cache.crop_paths(uid_of("first"))) == 3  # kept
    assert not (cache_root / second).exists() and not list(cache_root.glob(".*.partial"))
    assert not (cache_root / "_status" / f"{second}.json").exists()  # not recorded as a failed video

    monkeypatch.undo()  # space again: a rerun finishes the rest
    assert [r.uid for r in extract_manifest(manifest, cache_root, ExtractSettings(frames=3))] == [second]
    assert cache.uids() == sorted([uid_of("first"), second])


@pytest.mark.parametrize(
    ("err", "cause"),
    [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only"), (errno.ENOTDIR, "not a folder")],
)
def test_other_write_failures_say_why(tmp_path, shared_data, monkeypatch, err, cause):
    manifest = folder_manifest({"only": shared_data / "samples" / "ffpp_c23_original_000.mp4"})
    refuse_writes(monkeypatch, lambda path: path.name == META_FILE, err)
    with pytest.raises(OutputError, match=cause):
        extract_manifest(manifest, tmp_path / "cache", ExtractSettings(frames=2))


# Extraction in a child process that dies like kill -9 (os._exit: no cleanup, no finally) as it starts
# the second video.
_DIES_ON_THE_SECOND_VIDEO = """
import os, sys
from noisetrace.core.manifest import read_manifest
from noisetrace.faces import extract

original, calls = extract.FaceExtractor.process, []

def process(self, uid, video_path, cache_root):
    calls.append(uid)
    if len(calls) == 2:
        os._exit(137)
    return original(self, uid, video_path, cache_root)

extract.FaceExtractor.process = process
extract.extract_manifest(read_manifest(sys.argv[1]), sys.argv[2], extract.ExtractSettings(frames=2))
"""


def test_a_killed_run_leaves_a_report_of_what_it_finished(tmp_path, shared_data):
    """Issue 12, item 7: extract_report.csv is on disk from the start and after every video."""
    videos = {f"k{i}": shared_data / "samples" / "ffpp_c23_original_000.mp4" for i in range(3)}
    manifest_path = write_manifest(folder_manifest(videos), tmp_path / "manifest.csv")
    cache_root = tmp_path / "cache"
    died = subprocess.run(
        [sys.executable, "-c", _DIES_ON_THE_SECOND_VIDEO, str(manifest_path), str(cache_root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert died.returncode == 137, died.stderr[-2000:]
    report = pd.read_csv(cache_root / "extract_report.csv", keep_default_na=False).set_index("uid")
    assert FaceCache(cache_root).uids() == [uid_of("k0")]
    assert dict(report["status"]) == {uid_of("k0"): "ok", uid_of("k1"): "pending", uid_of("k2"): "pending"}
    assert report.loc[uid_of("k0"), "faces"] == 2


def test_a_video_stream_without_a_decoder_is_a_decode_error(tmp_path, shared_data):
    """Found by benchmarks/fuzz.py: a damaged codec entry (the MP4 sample entry's four-character code)
    left PyAV a stream without a codec context, and probing raised AttributeError."""
    data = bytearray((shared_data / "samples" / "ffpp_c23_original_000.mp4").read_bytes())
    entry = data.find(b"stsd") + 16  # box type, version and flags, entry count, entry size: the codec's name
    assert data[entry : entry + 4] == b"avc1"
    data[entry : entry + 4] = b"zzzz"
    video = tmp_path / "nocodec.mp4"
    video.write_bytes(data)
    result = FaceExtractor(ExtractSettings(frames=2)).process("nocodec", video, tmp_path / "cache")
    assert result.status == "decode_error" and "No decoder for the video stream" in result.message
