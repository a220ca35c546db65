"""The wild recipe on real media: faces from ../shared/data, fakes blended while training.

A ``folder`` tree of real photos and videos (photos are one-frame videos there) is indexed and
cropped with MTCNN, then:

- every fake the online blending makes has its blending mask inside the face (the MTCNN box);
- a real crop reaches the model exactly as cached, but for the augmentation fakes get too (the same
  augmentation object sees both classes);
- validation fakes are the same images every time (seeded by position);
- sequence models get windows made fakes as one clip, augmented alike in every frame;
- ``noisetrace train -c wild`` trains a few steps and writes a fusion checkpoint that loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from noisetrace.core.manifest import read_manifest, write_manifest
from noisetrace.data import index_split
from noisetrace.data.blending import (
    BlendedFrameDataset,
    BlendedSequenceDataset,
    BlendSettings,
    parse_blend_methods,
    robust_augmentation,
)
from noisetrace.data.datasets import SequenceItem
from noisetrace.datasets import build_manifest
from noisetrace.faces.cache import FaceCache, read_crop
from noisetrace.faces.extract import ExtractSettings, extract_manifest
from noisetrace.faces.geometry import points_in_crop
from noisetrace.training import fit, load_checkpoint, load_config

PHOTOS = [
    "neuralchen__SimSwap__crop224_2.jpg",
    "neuralchen__SimSwap__crop224_cage.jpg",
    "neuralchen__SimSwap__crop224_ds.jpg",
    "neuralchen__SimSwap__crop224_james.jpg",
    "neuralchen__SimSwap__crop224_trump.jpg",
    "neuralchen__SimSwap__crop224_wlh.jpg",
    "KwaiVGI__LivePortrait__Tom_Hanks_54745.png",
    "ali-vilab__dreamtalk__f30.png",
    "neuralchen__SimSwap__DST_01.jpg",
    "neuralchen__SimSwap__specific1.png",
    "tencent-ailab__V-Express__short_case_AOC_ref.jpg",
    "neuralchen__SimSwap__zhoujielun.jpg",
]
VIDEOS = ["KwaiVGI__LivePortrait__d0.mp4", "KwaiVGI__LivePortrait__d10.mp4"]


@pytest.fixture(scope="module")
def real_faces(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(manifest, face cache) of a small real-only folder dataset."""
    root = tmp_path_factory.mktemp("wild")
    real = root / "tree" / "real"
    real.mkdir(parents=True)
    for name in PHOTOS:
        (real / name).symlink_to(shared_data / "images" / name)
    for name in VIDEOS:
        (real / name).symlink_to(shared_data / "real_videos" / name)
    manifest, _ = build_manifest(root / "tree", "folder", seed=0)
    # Enough people in validation to score both classes, the rest for training.
    manifest["split"] = ["val" if i % 4 == 0 else "train" for i in range(len(manifest))]
    write_manifest(manifest, root / "manifest.parquet")
    extract_manifest(manifest, root / "cache", ExtractSettings(frames=4))
    return root / "manifest.parquet", root / "cache"


def _items(real_faces: tuple[Path, Path], split: str = "train", seq_len: int | None = None):
    manifest, cache = real_faces
    return index_split(read_manifest(manifest), FaceCache(cache), split, seq_len).items


def _boxes(real_faces: tuple[Path, Path]) -> dict[tuple[str, int], np.ndarray]:
    """The MTCNN face box of every crop, in crop pixels."""
    _, cache_root = real_faces
    cache = FaceCache(cache_root)
    boxes = {}
    for uid in cache.uids():
        meta = cache.read_meta(uid)
        for record in meta.face_frames:
            corners = np.array([record.box[:2], record.box[2:]])
            boxes[(uid, record.index)] = points_in_crop(corners, record.crop_box, 224).ravel()
    return boxes


def test_photos_index_as_one_frame_videos(real_faces: tuple[Path, Path]) -> None:
    manifest = read_manifest(real_faces[0])
    assert len(manifest) == len(PHOTOS) + len(VIDEOS)
    items = _items(real_faces) + _items(real_faces, "val")
    per_video = {}
    for item in items:
        per_video[item.uid] = per_video.get(item.uid, 0) + 1
        assert item.landmarks is not None and len(item.landmarks) == 5
    photos = [uid for uid in per_video if not uid.endswith(("d0", "d10"))]
    assert photos and all(per_video[uid] == 1 for uid in photos)


def test_blended_fakes_stay_inside_the_face_box(real_faces: tuple[Path, Path]) -> None:
    items = _items(real_faces)
    boxes = _boxes(real_faces)
    dataset = BlendedFrameDataset(items, 224, BlendSettings(probability=0.9), seed=0)
    torch.manual_seed(0)
    methods = set()
    fakes = 0
    for index in range(60):
        sample = dataset.sample(index % len(dataset))
        item = dataset.item_at(index % len(dataset))
        if sample.label == 0:
            assert sample.alpha is None
            continue
        fakes += 1
        methods.add(sample.method)
        x1, y1, x2, y2 = boxes[(item.uid, item.frame)]
        # The template's face ellipse reaches brows to chin; MTCNN's box often ends at the chin line,
        # so a tenth of the box is allowed beyond it (the crop itself extends a further tenth).
        margin_x, margin_y = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
        ys, xs = np.nonzero(sample.alpha > 0)
        assert len(xs) > 0.05 * 224 * 224, "a blended fake must change a face-sized region"
        assert xs.min() >= x1 - margin_x and xs.max() <= x2 + margin_x
        assert ys.min() >= y1 - margin_y and ys.max() <= y2 + margin_y
        # Pixels outside the mask are the real crop's own, byte for byte.
        untouched = sample.alpha == 0
        assert np.array_equal(sample.image[untouched], read_crop(item.path)[untouched])
    assert fakes > 30
    assert methods == {"selfblend", "swap", "resample"}


def test_reals_pass_unaltered_but_for_the_augmentation_fakes_share(real_faces: tuple[Path, Path]) -> None:
    items = _items(real_faces)
    seen: dict[int, int] = {0: 0, 1: 0}
    augment = robust_augmentation()

    class Spy:
        """Counts the images the augmentation sees, then applies it."""

        def __init__(self) -> None:
            self.images: list[np.ndarray] = []

        def __call__(self, image: np.ndarray) -> dict:
            self.images.append(image)
            return augment(image=image)

    spy = Spy()
    dataset = BlendedFrameDataset(items, 224, BlendSettings(), augment=spy)
    plain = BlendedFrameDataset(items, 224, BlendSettings())
    torch.manual_seed(1)
    for index in range(40):
        _, label = dataset[index % len(dataset)]
        seen[label] += 1
    assert seen[0] > 5 and seen[1] > 5
    assert len(spy.images) == 40, "every item, real or fake, goes through the same augmentation"
    torch.manual_seed(2)
    for index in range(20):
        x, label = plain[index % len(plain)]
        if label == 0:
            crop = read_crop(plain.item_at(index % len(plain)).path)
            assert torch.equal(x, torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))))


def test_validation_fakes_are_the_same_every_time(real_faces: tuple[Path, Path]) -> None:
    items = _items(real_faces, "val")
    first = BlendedFrameDataset(items, 96, BlendSettings(), deterministic=True, seed=3)
    second = BlendedFrameDataset(items, 96, BlendSettings(), deterministic=True, seed=3)
    assert len(first) == 2 * len(items)
    labels = [first[i][1] for i in range(len(first))]
    assert labels.count(1) >= len(items) - 1  # a mask that misses its crop leaves that item real
    for index in range(len(first)):
        assert torch.equal(first[index][0], second[index][0])


def test_blend_methods_parse_and_reject_unknown_names() -> None:
    assert parse_blend_methods("selfblend:3,swap:1") == (("selfblend", 0.75), ("swap", 0.25))
    with pytest.raises(Exception, match="unknown method"):
        parse_blend_methods("faceswap:1")


def test_the_wild_recipe_trains_a_fusion_detector(real_faces: tuple[Path, Path], tmp_path: Path) -> None:
    manifest, cache = real_faces
    cfg = load_config(
        "wild",
        [
            "model.backbone=resnet10t",
            "data.image_size=64",
            "data.batch_size=2",
            "data.num_workers=0",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=3",
            "trainer.enable_progress_bar=false",
        ],
        {"data.manifest": str(manifest), "data.cache": str(cache)},
    )
    result = fit(cfg, tmp_path / "run")
    assert result["global_step"] == 3
    model, info = load_checkpoint(result["best_checkpoint"])
    assert model.domain == "fusion" and info["training"]["data"]["blend"] == "online"
    with torch.inference_mode():
        logits = model(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()


def test_a_bad_blend_setting_fails_when_the_config_is_read() -> None:
    from noisetrace.core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown method 'faceswap'"):
        load_config("wild", ["data.blend_methods=faceswap:1"])
    with pytest.raises(ConfigError, match="blend_probability"):
        load_config("wild", ["data.blend_probability=1.5"])


def test_blended_sequences_are_one_fake_per_window_inside_the_face_boxes(real_faces: tuple[Path, Path]) -> None:
    windows = _items(real_faces, "train", seq_len=2) + _items(real_faces, "val", seq_len=2)
    assert windows and all(len(w.landmarks) == 2 for w in windows)
    boxes = _boxes(real_faces)
    methods = parse_blend_methods("selfblend:1,swap:1,flicker:1,reenact:1")
    dataset = BlendedSequenceDataset(windows, 224, BlendSettings(0.9, methods), seed=0)
    torch.manual_seed(0)
    seen = set()
    for index in range(24):
        sample = dataset.sample(index % len(dataset))
        window = dataset.item_at(index % len(dataset))
        assert sample.image.shape == (2, 224, 224, 3)
        if sample.label == 0:
            assert sample.alpha is None
            continue
        seen.add(sample.method)
        assert sample.alpha.shape == (2, 224, 224)
        for position, frame in enumerate(window.frames):
            x1, y1, x2, y2 = boxes[(window.uid, frame)]
            margin_x, margin_y = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
            ys, xs = np.nonzero(sample.alpha[position] > 0)
            if len(xs):  # reenact changes the mouth only, and may leave a frame's weights at zero
                assert xs.min() >= x1 - margin_x and xs.max() <= x2 + margin_x
                assert ys.min() >= y1 - margin_y and ys.max() <= y2 + margin_y
            untouched = sample.alpha[position] == 0
            real = read_crop(window.paths[position])
            assert np.array_equal(sample.image[position][untouched], real[untouched])
    assert {"selfblend", "flicker"} <= seen


def test_a_window_is_augmented_alike_in_every_frame(real_faces: tuple[Path, Path]) -> None:
    """Compression, resizing and noise drawn once per window: a still scene stays still."""
    item = _items(real_faces)[0]
    still = SequenceItem(item.uid, 0, (0, 1, 2), (item.path,) * 3, (item.landmarks,) * 3)
    dataset = BlendedSequenceDataset([still], 96, BlendSettings(0.01), augment=robust_augmentation())
    torch.manual_seed(0)
    plain, _ = BlendedSequenceDataset([still], 96, BlendSettings(0.01))[0]
    changed = 0
    for _ in range(12):
        x, label = dataset[0]
        assert x.shape == (3, 3, 96, 96) and x.dtype == torch.uint8
        if label == 0:
            assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
            changed += int(not torch.equal(x, plain))
    assert changed > 0, "the augmentation ran"


def test_the_wild_recipe_trains_a_sequence_model_from_a_frame_trunk(
    real_faces: tuple[Path, Path], tmp_path: Path
) -> None:
    """The paper's sequence architecture on blended windows, its trunk from the wild frame model."""
    manifest, cache = real_faces
    frame = read_manifest(manifest)
    # Windows need videos: one in each split (photos make no windows).
    frame.loc[frame["uid"].str.endswith("d0"), "split"] = "val"
    frame.loc[frame["uid"].str.endswith("d10"), "split"] = "train"
    write_manifest(frame, tmp_path / "manifest.parquet")
    overrides = {"data.manifest": str(tmp_path / "manifest.parquet"), "data.cache": str(cache)}
    small = ["model.backbone=resnet10t", "data.image_size=64", "data.batch_size=2", "data.num_workers=0"]
    small += ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.enable_progress_bar=false"]
    frame_run = fit(load_config("wild", small, overrides), tmp_path / "frames")
    cfg = load_config(
        "wild",
        [
            *small,
            "model.name=xception_lstm",
            "data.seq_len=2",
            "data.batch_size=1",  # the training video gives two windows: two steps
            f"model.init_from={frame_run['best_checkpoint']}",
            "data.blend_methods=selfblend:1,flicker:1",
        ],
        overrides,
    )
    result = fit(cfg, tmp_path / "sequences")
    assert result["global_step"] == 2
    model, info = load_checkpoint(result["best_checkpoint"])
    assert model.is_sequence and info["input"]["seq_len"] == 2
    assert info["pretrained_weights"]["init_from"]["path"].endswith("best.json")
    with torch.inference_mode():
        logits = model(torch.rand(1, 2, 3, 64, 64))
    assert logits.shape == (1, 2) and torch.isfinite(logits).all()
