"""kill -9 during ``noisetrace train``, then ``--resume``: training continues at the saved step."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from noisetrace.core.io import atomic_directory, write_json_atomic
from noisetrace.core.manifest import write_manifest
from noisetrace.faces.cache import META_FILE, FrameRecord, VideoFaces, crop_filename, write_crop

# The train command as the installed CLI runs it (cli/main.py registers the same function).
TRAIN = "import typer; from noisetrace.cli.train import train; app = typer.Typer(); app.command()(train); app()"
TRAIN_VIDEOS, FRAMES, BATCH, EPOCHS = 8, 10, 4, 3
STEPS_PER_EPOCH = TRAIN_VIDEOS * FRAMES // BATCH


@pytest.fixture
def tiny_data(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    rows = []
    for number in range(TRAIN_VIDEOS + 4):
        uid, label = f"v{number:02d}", number % 2
        records = []
        with atomic_directory(tmp_path / "cache" / uid) as folder:
            for index in range(FRAMES):
                rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                rgb[8:24, 8:24] = 255 if label else rgb[8:24, 8:24]
                write_crop(folder / crop_filename(index), rgb)
                records.append(FrameRecord(index=index, file=crop_filename(index)))
            write_json_atomic(folder / META_FILE, VideoFaces(uid, {}, {}, {}, records).to_json())
        split = "train" if number < TRAIN_VIDEOS else "val"
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "m", "label": label, "video_id": uid, "target_id": uid,
             "source_id": "", "identity": uid, "compression": "", "split": split, "path": ""}
        )  # fmt: skip
    return write_manifest(pd.DataFrame(rows), tmp_path / "manifest.csv"), tmp_path / "cache"


def train_command(run: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", TRAIN, "-o", str(run), *args]


def test_killed_run_resumes_from_last_checkpoint_at_the_same_step(tiny_data, tmp_path):
    manifest, cache = tiny_data
    run = tmp_path / "run"
    settings = [
        "model.backbone=test_resnet",
        "model.pretrained=null",
        "data.image_size=32",
        f"data.batch_size={BATCH}",
        "data.num_workers=0",
        "optim.frozen_epochs=1",
        f"trainer.max_epochs={EPOCHS}",
        "trainer.log_every_n_steps=1",
        "trainer.enable_progress_bar=false",
        "checkpoint.every_n_steps=5",
    ]
    first = subprocess.Popen(
        train_command(run, "-c", "paper-image", "-m", str(manifest), "--cache", str(cache), *settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, f"training ended before it could be killed:\n{first.stderr.read().decode()[-3000:]}"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    first.stderr.close()
    assert first.returncode == -signal.SIGKILL
    assert not (run / "summary.json").exists()  # the run did not complete

    saved = torch.load(last, map_location="cpu", weights_only=True)  # loads without unpickling objects
    saved_step = saved["global_step"]
    assert 0 < saved_step < EPOCHS * STEPS_PER_EPOCH

    resumed = subprocess.run(
        train_command(run, "--resume", "trainer.enable_progress_bar=false"), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"started at {saved_step})" in resumed.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["start_step"] == saved_step
    assert summary["global_step"] == EPOCHS * STEPS_PER_EPOCH  # no step lost or repeated
    with (run / "logs" / "csv" / "version_1" / "metrics.csv").open() as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("train/loss_step")]
    assert min(steps) == saved_step  # the first step after the restart is the one after the saved state
    assert Path(summary["best_checkpoint"]).is_file()
