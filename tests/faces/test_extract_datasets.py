"""The issue's end-to-end check: FF++, DeeperForensics-1.0 and DFDC trees → index → 120 crops per video."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from noisetrace.datasets import build_joint_manifest
from noisetrace.faces.cache import FaceCache, read_crop
from noisetrace.faces.extract import ExtractSettings, extract_manifest


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


@pytest.fixture(scope="module")
def trees(tmp_path_factory, shared_data) -> dict[str, Path]:
    """Official layouts made of symlinks to the genuine dataset samples in ../shared/data/samples."""
    root, samples = tmp_path_factory.mktemp("datasets"), shared_data / "samples"
    ffpp, dfo, dfdc = root / "FaceForensics++", root / "DeeperForensics-1.0", root / "DFDC"
    _link(samples / "ffpp_c23_original_000.mp4", ffpp / "original_sequences/youtube/c23/videos/000.mp4")
    _link(samples / "ffpp_c23_Deepfakes_000_003.mp4",
          ffpp / "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4")
    _link(samples / "dfo_end_to_end_target000.mp4", dfo / "manipulated_videos/end_to_end/000_W101.mp4")
    _link(samples / "dfdc_train_part_0/metadata.json", dfdc / "dfdc_train_part_0/metadata.json")
    _link(samples / "dfdc_train_part_0/brtujopkby.mp4", dfdc / "dfdc_train_part_0/brtujopkby.mp4")
    return {"ffpp": ffpp, "dfo": dfo, "dfdc": dfdc}


@pytest.fixture(scope="module")
def manifest(trees):
    with pytest.warns(UserWarning):  # DFDC's metadata lists originals that the sample folder lacks
        frame, _ = build_joint_manifest(list(trees.items()), split="paper", seed=0)
    return frame


def test_index_reads_methods_labels_and_ids(manifest):
    rows = {(r.dataset, r.method, r.video_id): r for r in manifest.itertuples()}
    assert set(rows) == {
        ("ffpp", "original", "000"),
        ("ffpp", "Deepfakes", "000_003"),
        ("dfo", "end_to_end", "000_W101"),
        ("dfdc", "DFDC", "brtujopkby"),
    }
    original, deepfake = rows["ffpp", "original", "000"], rows["ffpp", "Deepfakes", "000_003"]
    assert (original.label, deepfake.label) == (0, 1)
    assert (deepfake.target_id, deepfake.source_id, deepfake.identity) == ("000", "003", "000")
    dfo = rows["dfo", "end_to_end", "000_W101"]
    assert (dfo.label, dfo.target_id, dfo.identity) == (1, "000", "000")
    assert rows["dfdc", "DFDC", "brtujopkby"].label == 1
    # one identity, one split: 000's real video, its Deepfakes and its DF-1.0 fake stay together
    assert original.split == deepfake.split == dfo.split != ""


def test_extract_writes_120_face_crops_per_video(manifest, tmp_path):
    results = extract_manifest(manifest, tmp_path / "faces", ExtractSettings(frames=120))
    assert {r.status for r in results} <= {"ok", "partial"}, [(r.uid, r.status, r.message) for r in results]
    cache = FaceCache(tmp_path / "faces")
    assert cache.uids() == sorted(manifest["uid"])
    for uid in cache.uids():
        meta = cache.read_meta(uid)
        assert [f.index for f in meta.frames] == list(range(120))
        assert len(meta.face_frames) >= 118, f"{uid}: {meta.message}"
        for record in meta.face_frames[::7]:
            crop = read_crop(cache.video_dir(uid) / record.file)
            assert crop.shape == (224, 224, 3)
            landmarks = np.array(record.landmarks)
            x1, y1, x2, y2 = record.crop_box
            assert (landmarks[:, 0] > x1).all() and (landmarks[:, 0] < x2).all()
            assert (landmarks[:, 1] > y1).all() and (landmarks[:, 1] < y2).all()
