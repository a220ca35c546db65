"""What a completed training run leaves: ``best.json`` names the ImageNet weights file it started from
(path and SHA-256), ``last.ckpt`` is removed unless kept, and the checkpoint files get the usual mode."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
from safetensors.torch import save_file

from noisetrace.core.errors import NoisetraceError
from noisetrace.core.manifest import write_manifest
from noisetrace.models.checkpoint import read_checkpoint_info
from noisetrace.training.fit import fit, resolve_run_config, run_paths

TINY = [
    "model.backbone=test_resnet",
    "data.image_size=32",
    "data.batch_size=8",
    "data.num_workers=0",
    "optim.frozen_epochs=0",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "checkpoint.every_n_steps=0",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, cache_writer) -> tuple[Path, Path, Path]:
    """Train 2 + 2 videos, val 1 + 1, of 4 random 32² frames; and an ImageNet-style file for test_resnet."""
    root = tmp_path_factory.mktemp("outputs")
    rng = np.random.default_rng(2)
    rows = []
    for uid, label, split in [("r0", 0, "train"), ("r1", 0, "train"), ("f0", 1, "train"), ("f1", 1, "train"),
                              ("r2", 0, "val"), ("f2", 1, "val")]:  # fmt: skip
        cache_writer(root / "cache", uid, [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(4)])
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "m", "label": label, "video_id": uid, "target_id": uid,
             "source_id": "", "identity": uid, "compression": "", "split": split, "path": ""}
        )  # fmt: skip
    weights = root / "weights" / "test_resnet.safetensors"
    weights.parent.mkdir()
    save_file(timm.create_model("test_resnet", pretrained=False).state_dict(), str(weights))
    return write_manifest(pd.DataFrame(rows), root / "manifest.csv"), root / "cache", weights


def _config(run: Path, data: tuple[Path, Path, Path], *extra: str):
    manifest, cache, _ = data
    return resolve_run_config(run, "paper-image", [*TINY, *extra], manifest=manifest, cache=cache)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_best_json_names_the_weights_file_it_started_from(data, tmp_path: Path) -> None:
    weights = data[2]
    # a relative path in the config: the record holds the resolved absolute path
    relative = os.path.relpath(weights)
    result = fit(_config(tmp_path / "run", data, f"model.pretrained={relative}"), tmp_path / "run")
    record = read_checkpoint_info(result["best_checkpoint"])["pretrained_weights"]
    assert record == {
        "requested": relative,
        "path": str(weights.resolve()),
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "source_format": "timm",
    }
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["pretrained_weights"] == record
    # trained from scratch, on purpose: said so, with no file
    scratch = fit(_config(tmp_path / "scratch", data, "model.pretrained=null"), tmp_path / "scratch")
    assert read_checkpoint_info(scratch["best_checkpoint"])["pretrained_weights"] == {
        "requested": None, "path": None, "sha256": None, "source_format": None,
    }  # fmt: skip


def test_a_resumed_run_still_names_the_weights_file(data, tmp_path: Path) -> None:
    weights, run = data[2], tmp_path / "run"
    fit(_config(run, data, f"model.pretrained={weights}"), run, keep_last=True)
    assert run_paths(run)["last"].is_file()  # kept on request, so the run can go on
    (run / "summary.json").unlink()
    cfg = resolve_run_config(run, None, ["trainer.max_epochs=2"], resume=True)
    result = fit(cfg, run, resume=True)  # builds the model without loading any weights file
    assert result["start_step"] > 0 and result["pretrained_weights"]["path"] == str(weights.resolve())
    assert read_checkpoint_info(result["best_checkpoint"])["pretrained_weights"]["path"] == str(weights.resolve())


def test_a_completed_run_removes_last_ckpt_and_keeps_usual_file_modes(data, tmp_path: Path, umask_022) -> None:
    run = tmp_path / "run"
    cfg = _config(run, data, "model.pretrained=null")
    result = fit(cfg, run)
    paths = run_paths(run)
    assert not paths["last"].exists() and Path(result["best_checkpoint"]).is_file()
    weights_file = paths["checkpoints"] / "best.safetensors"
    for path in (weights_file, paths["best"], paths["summary"]):
        assert oct(path.stat().st_mode & 0o777) == oct(0o644), path
    # a finished run is still protected, and says why it cannot resume
    with pytest.raises(NoisetraceError, match="already holds a run"):
        fit(cfg, run)
    with pytest.raises(NoisetraceError, match=r"completed .* last\.ckpt was removed"):
        fit(cfg, run, resume=True)


def test_the_weights_record_sits_beside_the_other_run_facts(data, tmp_path: Path) -> None:
    result = fit(_config(tmp_path / "run", data, f"model.pretrained={data[2]}"), tmp_path / "run")
    info = read_checkpoint_info(result["best_checkpoint"])
    assert info["class_weights"] == pytest.approx([1.0, 1.0])  # 8 real and 8 fake training frames
    assert info["pretrained_weights"]["source_format"] == "timm"
