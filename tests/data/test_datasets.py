"""Frame and sequence datasets over the face cache: which items exist, what they hold, class weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from noisetrace.core.errors import NoisetraceError
from noisetrace.data import (
    FrameDataset,
    SequenceDataset,
    class_weights,
    index_split,
    sequence_windows,
)
from noisetrace.data.datamodule import FaceDataModule
from noisetrace.faces.cache import (
    EXCLUSIONS_FILE,
    FaceCache,
    FrameRecord,
    VideoFaces,
    crop_filename,
    read_crop,
)


def manifest_rows(specs: list[tuple[str, int, str]]) -> pd.DataFrame:
    rows = [
        {
            "uid": uid,
            "dataset": "folder",
            "method": "blend" if label else "original",
            "label": label,
            "video_id": uid,
            "target_id": uid,
            "source_id": "",
            "identity": uid,
            "compression": "",
            "split": split,
            "path": f"{uid}.mp4",
        }
        for uid, label, split in specs
    ]
    return pd.DataFrame(rows)


def coded_frame(video: int, frame: int, size: int = 16) -> np.ndarray:
    """A crop whose pixels say which video and frame it is (R = video, G = frame)."""
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = video, frame, 128
    return rgb


@pytest.fixture
def small_cache(tmp_path: Path, cache_writer) -> tuple[pd.DataFrame, Path]:
    """train: 2 real + 2 fake, one real with frames 3 and 4 faceless; val: 1 + 1; test: 1 + 1;
    an excluded train video and a train video that has no crops."""
    cache = tmp_path / "faces"
    specs = [
        ("tr-real-0", 0, "train"),
        ("tr-real-1", 0, "train"),
        ("tr-fake-0", 1, "train"),
        ("tr-fake-1", 1, "train"),
        ("tr-fake-excluded", 1, "train"),
        ("tr-fake-missing", 1, "train"),
        ("va-real", 0, "val"),
        ("va-fake", 1, "val"),
        ("te-real", 0, "test"),
        ("te-fake", 1, "test"),
    ]
    for number, (uid, _, _) in enumerate(specs):
        if uid == "tr-fake-missing":
            continue
        frames: list[np.ndarray | None] = [coded_frame(number, f) for f in range(12)]
        if uid == "tr-real-1":
            frames[3] = frames[4] = None
        cache_writer(cache, uid, frames, score=0.99)
    (cache / EXCLUSIONS_FILE).write_text("# rejected in review\ntr-fake-excluded\n")
    return manifest_rows(specs), cache


def test_frame_index_counts_every_crop_and_reports_what_it_left_out(small_cache):
    manifest, cache = small_cache
    index = index_split(manifest, FaceCache(cache), "train")
    assert index.videos == 4
    assert len(index.items) == 12 * 4 - 2
    assert index.excluded == ["tr-fake-excluded"]
    assert index.missing == ["tr-fake-missing"]
    assert {item.uid for item in index.items} == {"tr-real-0", "tr-real-1", "tr-fake-0", "tr-fake-1"}
    assert [i.frame for i in index.items if i.uid == "tr-real-1"] == [0, 1, 2, *range(5, 12)]
    assert "1 videos excluded" in index.describe() and "no face crops" in index.describe()


def test_sequence_windows_are_non_overlapping_consecutive_and_skip_faceless_gaps():
    full = VideoFaces(uid="v", source={}, detector={}, crop={})
    full.frames = [FrameRecord(index=i, file=crop_filename(i)) for i in range(120)]
    windows, skipped = sequence_windows(full, 5)
    assert len(windows) == 24 and skipped == 0  # the paper: 120 frames, L = 5
    assert windows[0] == (0, 1, 2, 3, 4) and windows[-1] == (115, 116, 117, 118, 119)

    full.frames[7] = FrameRecord(index=7, file=None, reason="no_face")
    windows, skipped = sequence_windows(full, 5)
    assert len(windows) == 23 and skipped == 1
    assert (5, 6, 7, 8, 9) not in windows and (10, 11, 12, 13, 14) in windows

    full.frames = [FrameRecord(index=i, file=crop_filename(i)) for i in range(12)]
    # 12 frames, L = 5: two windows; frames 10-11 are no sequence, and not a skipped one either
    assert sequence_windows(full, 5) == ([(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)], 0)


def test_sequence_index_uses_only_windows_with_faces(small_cache):
    manifest, cache = small_cache
    index = index_split(manifest, FaceCache(cache), "train", seq_len=4)
    per_video = {uid: [i.frames for i in index.items if i.uid == uid] for uid in ("tr-real-0", "tr-real-1")}
    assert per_video["tr-real-0"] == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11)]
    assert per_video["tr-real-1"] == [(8, 9, 10, 11)]  # frames 3 and 4 lack a face
    assert index.skipped_windows == 2


def test_class_weights_follow_the_formula():
    labels = [0] * 10 + [1] * 50  # FF++-like imbalance: five fakes per real
    w_real, w_fake = class_weights(labels)
    assert w_real == pytest.approx(60 / (2 * 10)) and w_fake == pytest.approx(60 / (2 * 50))
    assert (10 * w_real + 50 * w_fake) / 60 == pytest.approx(1.0)  # average weight 1: loss scale kept
    assert 10 * w_real == pytest.approx(50 * w_fake)  # each class carries half the loss
    with pytest.raises(NoisetraceError, match="real and fake"):
        class_weights([1, 1, 1])


def test_frames_load_losslessly_as_unit_float_tensors(shared_data, tmp_path, cache_writer):
    crop = read_crop(shared_data / "images" / "neuralchen__SimSwap__crop224_cage.jpg")
    cache_writer(tmp_path, "v", [crop], score=0.99)
    index = index_split(manifest_rows([("v", 0, "train")]), FaceCache(tmp_path), "train")
    x, label = FrameDataset(index.items, image_size=224)[0]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and label == 0
    assert torch.equal(x, torch.from_numpy(crop).permute(2, 0, 1).float() / 255)  # PNG: bit-exact
    small, _ = FrameDataset(index.items, image_size=64)[0]
    assert small.shape == (3, 64, 64) and float(small.min()) >= 0.0 and float(small.max()) <= 1.0


def test_a_flipped_sequence_flips_every_frame_alike(small_cache):
    manifest, cache = small_cache
    index = index_split(manifest, FaceCache(cache), "val", seq_len=3)
    plain, _ = SequenceDataset(index.items, image_size=16)[0]
    flipped, _ = SequenceDataset(index.items, image_size=16, hflip=1.0)[0]
    assert plain.shape == (3, 3, 16, 16)
    assert torch.equal(flipped, plain.flip(-1))


def test_datamodule_indexes_train_and_val_never_test(small_cache):
    manifest, cache = small_cache
    data = FaceDataModule(manifest, cache, seq_len=None, image_size=16, batch_size=4, num_workers=0)
    data.setup("fit")
    seen = {i.uid for i in data.train_index.items} | {i.uid for i in data.val_index.items}
    assert not seen & {"te-real", "te-fake"}
    assert data.class_weights() == class_weights(data.train_index.labels)
    x, y = next(iter(data.val_dataloader()))
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.uint8 and y.dtype == torch.int64  # a quarter of the bytes
    unit, _ = data.on_after_batch_transfer((x, y), 0)  # on the device, Lightning calls this
    expected = torch.stack([FrameDataset(data.val_index.items, image_size=16)[i][0] for i in range(4)])
    assert torch.equal(unit, expected)  # the same floats as loading them as floats


def test_datamodule_needs_both_classes_in_validation(small_cache):
    manifest, cache = small_cache
    manifest = manifest[manifest["uid"] != "va-fake"]
    data = FaceDataModule(manifest, cache, image_size=16, batch_size=4, num_workers=0)
    with pytest.raises(NoisetraceError, match="validation split needs real and fake"):
        data.setup("fit")


def test_datamodule_names_a_missing_cache(tmp_path):
    with pytest.raises(NoisetraceError, match="noisetrace extract"):
        FaceDataModule(manifest_rows([("v", 0, "train")]), tmp_path / "nowhere")
