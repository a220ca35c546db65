"""Predictions of a checkpoint over a split, their metrics, and ``noisetrace evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from noisetrace.cli.evaluate import evaluate
from noisetrace.core.errors import CheckpointError
from noisetrace.core.manifest import write_manifest
from noisetrace.core.predictions import PREDICTION_COLUMNS
from noisetrace.data import load_face
from noisetrace.data.inference import predict_split
from noisetrace.evaluation.predictions import evaluate_predictions
from noisetrace.faces.cache import EXCLUSIONS_FILE
from noisetrace.models import create_detector
from noisetrace.models.checkpoint import input_description, save_checkpoint

# The function cli/main.py registers as `noisetrace evaluate`, mounted alone for the test.
app = typer.Typer()
app.command()(evaluate)
runner = CliRunner()

TINY = "test_resnet"
SIZE = 32
SEQ_LEN = 3


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, cache_writer) -> tuple[Path, Path]:
    """Test split: r4 (real, 7 frames, no face in frame 3), f2 (fake, 6 frames), x0 (excluded);
    t0 is a training video that evaluation must not touch."""
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)

    def frames(n: int, no_face: tuple[int, ...] = ()) -> list:
        return [None if i in no_face else rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for i in range(n)]

    rows = []
    for uid, label, method, split, crops in [
        ("r4", 0, "real", "test", frames(7, no_face=(3,))),
        ("f2", 1, "Deepfakes", "test", frames(6)),
        ("x0", 1, "Deepfakes", "test", frames(6)),
        ("t0", 0, "real", "train", frames(6)),
    ]:
        cache_writer(root / "cache", uid, crops)
        rows.append(
            {"uid": uid, "dataset": "folder", "method": method, "label": label, "video_id": uid, "target_id": uid,
             "source_id": "", "identity": uid, "compression": "", "split": split, "path": ""}
        )  # fmt: skip
    (root / "cache" / EXCLUSIONS_FILE).write_text("x0  # reviewer: no face\n", encoding="utf-8")
    return write_manifest(pd.DataFrame(rows), root / "manifest.csv"), root / "cache"


def _checkpoint(folder: Path, sequence: bool) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(0)
    if sequence:
        model = create_detector("xception_lstm", backbone=TINY, pretrained=None, lstm_hidden=16).eval()
    else:
        model = create_detector("xception", backbone=TINY, pretrained=None).eval()
    info = {"input": input_description(model, SIZE, SEQ_LEN if sequence else None)}
    return model, save_checkpoint(model, folder / "best", info)


def test_frame_model_gives_one_row_per_crop_and_metrics_at_both_levels(data, tmp_path):
    manifest, cache = data
    model, ckpt = _checkpoint(tmp_path, sequence=False)
    out = predict_split(ckpt, manifest, cache, tmp_path / "out" / "predictions.csv", batch_size=5)
    assert out == tmp_path / "out" / "predictions.csv"
    assert [p.name for p in out.parent.iterdir()] == ["predictions.csv"]  # no temporary file left behind

    table = pd.read_csv(out)
    assert tuple(table.columns) == PREDICTION_COLUMNS
    assert table["uid"].tolist() == ["f2"] * 6 + ["r4"] * 6  # uid order; excluded and train videos absent
    assert table["label"].tolist() == [1] * 6 + [0] * 6
    assert table["method"].tolist() == ["Deepfakes"] * 6 + ["real"] * 6
    assert table["frame_start"].tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2, 4, 5, 6]
    assert (table["frame_start"] == table["frame_end"]).all()
    assert table["score"].between(0, 1).all()

    # The score is P(fake) = softmax(logits)[:, 1] of the crop, as in training.
    crop = next(p for p in sorted((cache / "r4").iterdir()) if p.suffix == ".png")
    with torch.no_grad():
        expected = torch.softmax(model(load_face(crop, SIZE).unsqueeze(0)), dim=-1)[0, 1].item()
    assert table["score"].iloc[6] == pytest.approx(expected, abs=1e-5)

    result = evaluate_predictions(out, n_resamples=50, settings={"checkpoint": str(ckpt), "split": "test"})
    written = json.loads((out.parent / "metrics.json").read_text())
    assert written == json.loads(json.dumps(result))
    assert (written["frame"]["n"], written["frame"]["n_fake"], written["video"]["n"]) == (12, 6, 2)
    assert written["settings"]["checkpoint"] == str(ckpt) and written["settings"]["rule"] == "mean"
    assert written["settings"]["split"] == "test" and written["settings"]["seed"] == 0
    for level in ("frame", "video"):
        assert set(written[level]["metrics"]) >= {"accuracy", "balanced_accuracy", "roc_auc", "eer"}

    # Chunked reading gives the same metrics as reading at once.
    again = evaluate_predictions(out, n_resamples=50, chunksize=5, out_path=tmp_path / "m2.json")
    assert again["frame"] == result["frame"] and again["video"] == result["video"]


def test_sequence_model_gives_one_row_per_window_of_the_checkpoints_length(data, tmp_path):
    manifest, cache = data
    _, ckpt = _checkpoint(tmp_path, sequence=True)
    out = predict_split(ckpt, manifest, cache, tmp_path / "predictions.csv", batch_size=2)
    table = pd.read_csv(out)
    # f2: windows 0-2, 3-5; r4: 0-2 (3-5 crosses the frame without a face; 6 is a partial window)
    assert list(zip(table["uid"], table["frame_start"], table["frame_end"], strict=True)) == [
        ("f2", 0, 2), ("f2", 3, 5), ("r4", 0, 2)
    ]  # fmt: skip
    assert ((table["frame_end"] - table["frame_start"] + 1) == SEQ_LEN).all()
    result = evaluate_predictions(out, rule="max", n_resamples=20)
    assert (result["frame"]["n"], result["video"]["n"], result["settings"]["rule"]) == (3, 2, "max")


def test_cli_writes_predictions_and_metrics_and_prints_a_table(data, tmp_path):
    manifest, cache = data
    _, ckpt = _checkpoint(tmp_path, sequence=False)
    out = tmp_path / "eval"
    args = [ckpt, "--manifest", manifest, "--cache", cache, "-o", out, "--n-resamples", "20"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert (out / "predictions.csv").is_file() and (out / "metrics.json").is_file()
    assert "frame" in result.output and "video" in result.output and "AUC" in result.output
    assert json.loads((out / "metrics.json").read_text())["settings"]["unit"] == "frame"


def test_a_file_that_is_not_a_noisetrace_checkpoint_is_a_clear_error(data, tmp_path):
    manifest, cache = data
    (tmp_path / "model.json").write_text('{"hello": 1}', encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match="does not describe a noisetrace detector"):
        predict_split(tmp_path / "model.safetensors", manifest, cache, tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()

    args = [tmp_path / "model.safetensors", "--manifest", manifest, "--cache", cache, "-o", tmp_path / "eval"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "noisetrace detector" in result.output
    assert "Traceback" not in result.output
