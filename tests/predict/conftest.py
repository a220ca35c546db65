"""Checkpoints for the predict tests, trained here with the project's own ``fit`` on tiny synthetic data.

What the models learn does not matter to these tests (real videos are far from the synthetic crops);
what matters is that ``noisetrace predict`` reads checkpoints exactly as ``noisetrace train`` writes
them: a frame model and a sequence model (``L = 4``), ``test_resnet`` on 64² crops, in the SRM domain
for one and RGB for the other, so both input stages run through prediction and Grad-CAM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisetrace.core.manifest import write_manifest
from noisetrace.training import fit, load_config

SIZE = 64
SEQ_LEN = 4
SAMPLES = (
    "samples/ffpp_c23_original_000.mp4",  # FF++ c23 original 000
    "samples/ffpp_c23_Deepfakes_000_003.mp4",  # its Deepfakes fake
    "samples/dfo_end_to_end_target000.mp4",  # a DeeperForensics-1.0 fake
    "samples/dfdc_train_part_0/brtujopkby.mp4",  # a DFDC fake, portrait 1080×1920
)


def _texture(rng: np.random.Generator, bright_square: bool) -> np.ndarray:
    """A smooth random texture; fakes carry a bright square, so two epochs separate the classes."""
    small = rng.integers(40, 200, (8, 8, 3)).astype(np.float32)
    image = np.kron(small, np.ones((SIZE // 8, SIZE // 8, 1), np.float32)) + rng.normal(0, 4, (SIZE, SIZE, 3))
    if bright_square:
        y, x = rng.integers(0, SIZE - 16, size=2)
        image[y : y + 16, x : x + 16] = 240
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def synthetic_faces(tmp_path_factory: pytest.TempPathFactory, cache_writer) -> tuple[Path, Path]:
    """(manifest, cache): 4 real and 4 fake videos of 8 frames, half for training, half for validation."""
    root = tmp_path_factory.mktemp("predict-data")
    rng = np.random.default_rng(0)
    rows = []
    for number in range(8):
        label = number % 2
        uid = f"v{number}"
        cache_writer(root / "cache", uid, [_texture(rng, bool(label)) for _ in range(8)])
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "square" if label else "original", "label": label,
             "video_id": uid, "target_id": uid, "source_id": "", "identity": uid, "compression": "",
             "split": "train" if number < 4 else "val", "path": ""}
        )  # fmt: skip
    return write_manifest(pd.DataFrame(rows), root / "manifest.csv"), root / "cache"


def _train(preset: str, domain: str, data: tuple[Path, Path], run_dir: Path) -> Path:
    manifest, cache = data
    overrides = [
        f"model.domain={domain}",
        "model.backbone=test_resnet",
        "model.pretrained=null",
        f"data.image_size={SIZE}",
        f"data.seq_len={SEQ_LEN}",
        "data.batch_size=8",
        "data.num_workers=0",
        "optim.frozen_epochs=0",
        "trainer.max_epochs=2",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1",
        "checkpoint.every_n_steps=0",
    ]
    cfg = load_config(preset, overrides, {"data.manifest": str(manifest), "data.cache": str(cache)})
    return Path(fit(cfg, run_dir)["best_checkpoint"])


@pytest.fixture(scope="session")
def image_checkpoint(synthetic_faces, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frame model (``xception`` architecture, SRM domain) as ``noisetrace train`` writes it."""
    return _train("paper-image", "srm", synthetic_faces, tmp_path_factory.mktemp("image-run"))


@pytest.fixture(scope="session")
def sequence_checkpoint(synthetic_faces, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sequence model (``xception_lstm``, RGB domain, ``L = 4``) as ``noisetrace train`` writes it."""
    return _train("paper-sequence", "rgb", synthetic_faces, tmp_path_factory.mktemp("sequence-run"))


@pytest.fixture(scope="session")
def sample_videos(shared_data: Path) -> list[Path]:
    """The real dataset samples: FF++ original and Deepfakes, DF-1.0, DFDC (portrait)."""
    return [shared_data / name for name in SAMPLES]
