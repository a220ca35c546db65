"""It learns: real face crops versus the same crops with a simulated blending manipulation.

Each identity (a real face photo from ../shared/data) becomes one real "video" of 16 frames (small
shifts and sensor-like noise per frame) and one fake video: the same frames with the central face
region replaced, through a feathered ellipse, by a resampled (down- then up-scaled) and slightly
colour-shifted copy of itself, which is what a face swap's paste-and-blend step leaves behind. Train
and validation identities are disjoint. Both architectures in both domains train from scratch on
64² crops with a tiny timm backbone, and the best checkpoint, reloaded from disk, must reach a
validation AUC of at least 0.9.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from noisetrace.core.manifest import write_manifest
from noisetrace.data.datamodule import FaceDataModule
from noisetrace.models.checkpoint import load_checkpoint
from noisetrace.models.scoring import fake_scores
from noisetrace.training import fit, load_config

# Tight face crops of 23 different people (some photos in ../shared/data show the same person twice;
# these do not), so an identity-disjoint split is a real one.
FACES = [f"neuralchen__SimSwap__crop224_{n}.jpg" for n in (
    "1_source", "2", "6", "cage", "ds", "gdg", "james", "jl", "mouth_open", "mtdm", "trump", "wlh", "zrf"
)] + [
    "KwaiVGI__LivePortrait__Tom_Hanks_54745.png",
    "ali-vilab__dreamtalk__f30.png",
    "neuralchen__SimSwap__DST_01.jpg",
    "neuralchen__SimSwap__DST_02.jpg",
    "neuralchen__SimSwap__Iron_man.jpg",
    "neuralchen__SimSwap__specific1.png",
    "neuralchen__SimSwap__specific2.png",
    "neuralchen__SimSwap__zhoujielun.jpg",
    "tencent-ailab__V-Express__short_case_AOC_ref.jpg",
    "tencent-ailab__V-Express__short_case_tys_ref.jpg",
]  # fmt: skip
SIZE = 64
FRAMES = 16
SEQ_LEN = 4


def centre_square(path: Path, side: int) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    height, width = bgr.shape[:2]
    s = min(height, width)
    y, x = (height - s) // 2, (width - s) // 2
    square = cv2.resize(bgr[y : y + s, x : x + s], (side, side), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(square, cv2.COLOR_BGR2RGB)


def blend_manipulation(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paste a resampled, colour-shifted copy of the face region back through a feathered ellipse."""
    height, width = frame.shape[:2]
    pixels = frame.astype(np.float32)
    scale = rng.uniform(0.55, 0.75)  # the generator's lower resolution
    small = cv2.resize(pixels, (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA)
    swapped = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    swapped = swapped * rng.uniform(0.95, 1.05, size=3) + rng.uniform(-6, 6, size=3)  # colour mismatch
    mask = np.zeros((height, width), np.float32)
    centre = (int(width / 2 + rng.uniform(-2, 2)), int(height / 2 + rng.uniform(-2, 2)))
    cv2.ellipse(mask, centre, (int(width * 0.3), int(height * 0.38)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), height * 0.04)[..., None]
    return np.clip(pixels * (1 - mask) + swapped * mask, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def blended_faces(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, cache_writer) -> tuple[Path, Path]:
    """(manifest, cache): 16 training and 7 validation identities, one real and one fake video each."""
    root = tmp_path_factory.mktemp("blended")
    rng = np.random.default_rng(0)
    rows = []
    for number, name in enumerate(FACES):
        base = centre_square(shared_data / "images" / name, SIZE + 8)
        real = []
        for _ in range(FRAMES):
            dy, dx = rng.integers(0, 9, size=2)  # the head moves a little between frames
            frame = base[dy : dy + SIZE, dx : dx + SIZE].astype(np.float32) + rng.normal(0, 3, (SIZE, SIZE, 3))
            real.append(np.clip(frame, 0, 255).astype(np.uint8))
        fake = [blend_manipulation(frame, rng) for frame in real]
        split = "val" if number % 3 == 2 else "train"
        for label, frames in ((0, real), (1, fake)):
            uid = f"id{number:02d}-{'blend' if label else 'original'}"
            cache_writer(root / "cache", uid, frames)
            rows.append(
                {"uid": uid, "dataset": "folder", "method": "blend" if label else "original", "label": label,
                 "video_id": uid, "target_id": f"id{number:02d}", "source_id": "", "identity": f"id{number:02d}",
                 "compression": "", "split": split, "path": ""}
            )  # fmt: skip
    manifest = write_manifest(pd.DataFrame(rows), root / "manifest.csv")
    return manifest, root / "cache"


def validation_auc(checkpoint: str, manifest: Path, cache: Path) -> float:
    """Score the validation split with the checkpoint as saved on disk (not the in-memory model)."""
    model, info = load_checkpoint(checkpoint)
    seq_len = info["input"]["seq_len"]
    data = FaceDataModule(manifest, cache, seq_len=seq_len, image_size=SIZE, batch_size=64, num_workers=0)
    scores, labels = [], []
    with torch.no_grad():
        for batch in data.val_dataloader():
            x, y = data.on_after_batch_transfer(batch, 0)
            scores.append(fake_scores(model(x)))
            labels.append(y)
    return float(roc_auc_score(torch.cat(labels).numpy(), torch.cat(scores).numpy()))


@pytest.mark.parametrize("domain", ["rgb", "srm"])
@pytest.mark.parametrize(("preset", "batch_size"), [("paper-image", 32), ("paper-sequence", 8)])
def test_detects_blended_faces(blended_faces, tmp_path, preset, batch_size, domain, record_property):
    manifest, cache = blended_faces
    overrides = [
        f"model.domain={domain}",
        "model.backbone=test_resnet",
        "model.pretrained=null",
        f"data.image_size={SIZE}",
        f"data.seq_len={SEQ_LEN}",
        f"data.batch_size={batch_size}",  # 32 frames per step in both architectures
        "data.num_workers=0",
        "optim.lr=0.003",
        "optim.frozen_epochs=1",
        "trainer.max_epochs=6",
        "trainer.enable_progress_bar=false",
        "checkpoint.every_n_steps=0",
    ]
    cfg = load_config(preset, overrides, {"data.manifest": str(manifest), "data.cache": str(cache)})
    result = fit(cfg, tmp_path / "run")
    auc = validation_auc(result["best_checkpoint"], manifest, cache)
    record_property("val_auc", auc)
    print(f"{cfg.model.name} {domain}: best val/auc {result['best_score']:.4f} (step {result['best_step']}), "
          f"reloaded checkpoint AUC {auc:.4f}")  # fmt: skip
    assert auc == pytest.approx(result["best_score"], abs=1e-4)
    assert auc >= 0.9
