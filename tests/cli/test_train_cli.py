"""``noisetrace train``: a complete tiny run and its run directory; user mistakes are one line, exit 1."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from noisetrace.cli.train import train
from noisetrace.core.io import atomic_directory, write_json_atomic
from noisetrace.core.manifest import manifest_hash, read_manifest, write_manifest
from noisetrace.faces.cache import META_FILE, FrameRecord, VideoFaces, crop_filename, write_crop
from noisetrace.models.checkpoint import read_checkpoint_info
from noisetrace.training import load_config

# The function cli/main.py registers as `noisetrace train`, mounted alone for the test.
app = typer.Typer()
app.command()(train)
runner = CliRunner()

TINY = [
    "model.backbone=test_resnet",
    "model.pretrained=null",
    "data.image_size=32",
    "data.batch_size=8",
    "data.num_workers=0",
    "optim.frozen_epochs=1",
    "trainer.max_epochs=2",
    "trainer.enable_progress_bar=false",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Train: 3 real and 1 fake video (an imbalance for the class weights); val: 1 + 1; test: 1 + 1."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(1)
    rows = []
    for uid, label, split in [
        ("r0", 0, "train"), ("r1", 0, "train"), ("r2", 0, "train"), ("f0", 1, "train"),
        ("r3", 0, "val"), ("f1", 1, "val"), ("r4", 0, "test"), ("f2", 1, "test"),
    ]:  # fmt: skip
        records = []
        with atomic_directory(root / "cache" / uid) as folder:
            for index in range(6):
                rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                write_crop(folder / crop_filename(index), rgb)
                records.append(FrameRecord(index=index, file=crop_filename(index)))
            write_json_atomic(folder / META_FILE, VideoFaces(uid, {}, {}, {}, records).to_json())
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "m", "label": label, "video_id": uid, "target_id": uid,
             "source_id": "", "identity": uid, "compression": "", "split": split, "path": ""}
        )  # fmt: skip
    return write_manifest(pd.DataFrame(rows), root / "manifest.csv"), root / "cache"


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_train_writes_a_complete_run_directory(data, tmp_path):
    manifest, cache = data
    run = tmp_path / "run"
    code, output = invoke("-c", "paper-image", "-m", manifest, "--cache", cache, "-o", run, *TINY, "model.domain=srm")
    assert code == 0, output
    assert "best val/auc" in output and "steps: 6 (started at 0)" in output  # 24 frames / 8, × 2 epochs

    cfg = load_config(run / "config.yaml")
    assert (cfg.model.domain, cfg.model.backbone, cfg.data.cache) == ("srm", "test_resnet", str(cache.resolve()))
    # a completed run keeps its best checkpoint; last.ckpt (only for resuming) is gone
    assert not (run / "checkpoints" / "last.ckpt").exists() and (run / "checkpoints" / "best.safetensors").is_file()
    assert list((run / "logs" / "csv").glob("version_0/metrics.csv"))
    if importlib.util.find_spec("tensorboard") is not None:
        assert list((run / "logs" / "tensorboard").glob("version_0/events.out.tfevents.*"))

    info = read_checkpoint_info(run / "checkpoints" / "best.json")
    n_real, n_fake = 3 * 6, 1 * 6  # training frames
    total = n_real + n_fake
    assert info["class_weights"] == pytest.approx([total / (2 * n_real), total / (2 * n_fake)])
    assert info["manifest_hash"] == manifest_hash(read_manifest(manifest))
    assert info["model"]["domain"] == "srm" and info["input"]["image_size"] == 32
    assert info["selected_on"]["metric"] == "val/auc" and info["training"]["optim"]["lr"] == 0.01
    summary = json.loads((run / "summary.json").read_text())
    assert summary["global_step"] == 6 and summary["best_checkpoint"].endswith("best.json")

    # The finished run is protected, and a resume may not change the recipe.
    code, output = invoke("-c", "paper-image", "-m", manifest, "--cache", cache, "-o", run, *TINY)
    assert code == 1 and "already holds a run" in output and "Traceback" not in output
    code, output = invoke("-o", run, "--resume", "optim.lr=0.5")
    assert code == 1 and "optim.lr: 0.01 → 0.5" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "paper-image", "optim.learning_rate=1"], "unknown config key 'optim.learning_rate'; valid keys"),
        (["-c", "paper-image", "optim.lr"], "must look like key=value"),
        (["-c", "no-such-preset"], "no preset 'no-such-preset'; presets are ['paper-image', 'paper-sequence'"),
        ([], "choose a recipe: --config paper-image"),
        (["--resume"], "Nothing to resume"),
        (["-c", "paper-image"], "needs a manifest and a face cache"),
    ],
)
def test_user_mistakes_are_one_clear_line(tmp_path, args, message):
    code, output = invoke("-o", tmp_path / "run", *args)
    assert code == 1
    assert output.startswith("error: ") and message in output and "Traceback" not in output


def test_a_full_disk_when_creating_the_run_directory_is_one_line(data, tmp_path, monkeypatch):
    """Issue 12, item 1: the run directory cannot be created (ENOSPC): one line, exit 1, no traceback."""
    manifest, cache = data
    mkdir = Path.mkdir

    def full_disk(self, *args, **kwargs):
        if self.name == "checkpoints":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", full_disk)
    code, output = invoke("-c", "paper-image", "-m", manifest, "--cache", cache, "-o", tmp_path / "run", *TINY)
    assert code == 1 and "Traceback" not in output
    assert output.startswith(f"error: Cannot write {tmp_path / 'run' / 'checkpoints'}: the disk is full")
    assert len(output.strip().splitlines()) == 1


class _RunsCode:
    """A pickle that runs a shell command when unpickled: what a stranger's ``last.ckpt`` may hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_resume_refuses_a_last_checkpoint_that_cannot_be_read_safely(data, tmp_path):
    """Issue 12, item 2: a pickle payload (raw, or inside torch's zip format) or a truncated copy of a
    real last.ckpt is one CheckpointError line; the payload never runs, and PyTorch's advice to load
    with weights_only=False is not passed on."""
    manifest, cache = data
    run = tmp_path / "run"
    code, output = invoke(
        "-c", "paper-image", "-m", manifest, "--cache", cache, "-o", run, *TINY, "checkpoint.keep_last=true"
    )
    assert code == 0, output
    real = (run / "checkpoints" / "last.ckpt").read_bytes()
    marker = tmp_path / "the-payload-ran"

    def raw_pickle(target: Path) -> None:
        target.write_bytes(pickle.dumps(_RunsCode(marker)))

    def zipped_pickle(target: Path) -> None:
        torch.save({"state_dict": {}, "global_step": 1, "payload": _RunsCode(marker)}, target)

    def truncated(target: Path) -> None:
        target.write_bytes(real[: len(real) // 2])

    def cut_short(target: Path) -> None:
        target.write_bytes(real[:100])

    for spoil in (raw_pickle, zipped_pickle, truncated, cut_short):
        spoiled = tmp_path / spoil.__name__
        shutil.copytree(run, spoiled)
        last = spoiled / "checkpoints" / "last.ckpt"
        spoil(last)
        code, output = invoke("-o", spoiled, "--resume")
        assert code == 1, (spoil.__name__, output)
        assert output == (
            f"error: Cannot resume from {last}: the file could not be read safely (it is not a Lightning "
            "checkpoint of tensors, or it is truncated). Start a new run directory (-o), or restore the file "
            "from a copy you trust.\n"
        ), spoil.__name__
        assert "weights_only" not in output and "Traceback" not in output
        assert not marker.exists(), f"{spoil.__name__}: the pickle's code ran"
    code, output = invoke("-o", run, "--resume")  # the intact file still resumes (nothing left to train)
    assert code == 0, output


def test_a_run_directory_that_is_a_file_is_one_line(data, tmp_path):
    """Issue 12, item 3: `train -o afile` fails before any work with one line."""
    manifest, cache = data
    afile = tmp_path / "afile"
    afile.write_text("an existing file\n")
    code, output = invoke("-c", "paper-image", "-m", manifest, "--cache", cache, "-o", afile, *TINY)
    assert code == 1 and output.startswith(f"error: -o {afile} is a file, not a folder") and "Traceback" not in output
