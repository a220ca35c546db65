"""The detector shipped in the package: intact, described, and usable with no checkpoint argument."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noisetrace.cli.main import app
from noisetrace.models.checkpoint import load_checkpoint
from noisetrace.predict import PredictSettings, predict_videos
from noisetrace.pretrained import SHIPPED_MODEL, list_shipped_models, model_card, shipped_checkpoint

# Two real videos and two real deepfakes the shipped model orders correctly (a regression check of the
# shipped weights, not a measurement: benchmarks/wild.py measures, on every wild_dev video).
REALS = ["wild_dev/real/lrnet_dfo_real.mp4", "wild_dev/real/lrnet_ff_real.mp4"]
FAKES = ["wild_dev/fake/DFDC/widuwuoiur.mp4", "wild_dev/fake/FFpp/lrnet_ff_fake.mp4"]


def test_exactly_one_model_ships_and_its_weights_match_the_card() -> None:
    assert list_shipped_models() == [SHIPPED_MODEL]
    card_path = shipped_checkpoint()
    weights = card_path.with_suffix(".safetensors")
    description = model_card()
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == description["weights_sha256"]
    assert weights.stat().st_size <= 25 * 1024 * 1024
    model, info = load_checkpoint(card_path)
    assert model.domain == info["model"]["domain"] == "fusion"


def test_the_card_traces_every_training_file_and_states_its_limits() -> None:
    description = model_card()
    card = description["card"]
    files = card["training_data"]["per_file"]
    assert len(files) == card["training_data"]["files"] > 500
    assert all(len(f["sha256"]) == 64 and f["split"] in ("train", "val") for f in files)
    assert not any("wild_dev" in f["file"] for f in files)
    calibration = description["calibration"]
    assert calibration["method"] == "temperature" and calibration["temperature"] > 0
    assert calibration["uncertain_low"] <= calibration["threshold"] <= calibration["uncertain_high"]
    assert "MesoNet" in card["wild_table"] and card["weaknesses"] and card["caveat"]
    assert description["training"]["data"]["blend"] == "online"


def test_shipped_model_orders_real_videos_below_real_deepfakes(shared_data: Path, tmp_path: Path) -> None:
    paths = [shared_data / p for p in REALS + FAKES]
    results = predict_videos(paths, shipped_checkpoint(), tmp_path, PredictSettings(frames=32))
    assert [r["status"] for r in results] == ["ok"] * 4
    scores = [r["score"] for r in results]
    assert max(scores[:2]) < min(scores[2:]), scores
    for result in results:  # the calibrated score and the raw one travel together
        assert result["raw_score"] is not None and result["calibration"]["method"] == "temperature"
        assert result["verdict"] in ("real", "uncertain", "fake")


def test_predict_without_checkpoint_uses_the_shipped_model(shared_data: Path, tmp_path: Path) -> None:
    video = shared_data / "wild_dev" / "fake" / "DeepFaceLive"
    clip = sorted(video.glob("*.mp4"))[0]
    result = CliRunner().invoke(app, ["predict", str(clip), "--frames", "8", "-o", str(tmp_path), "--html"])
    assert result.exit_code == 0, result.output
    assert f"shipped detector {SHIPPED_MODEL}" in result.output
    (verdict,) = json.loads((tmp_path / "predictions.json").read_text())
    assert verdict["verdict"] in ("real", "uncertain", "fake")
    assert verdict["model"]["card"]["name"] == SHIPPED_MODEL
    page = Path(verdict["files"]["html"]).read_text(encoding="utf-8")
    assert "Trained on simulated blends of real faces" in page


def test_models_command_prints_the_card() -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert SHIPPED_MODEL in result.output and "known weaknesses" in result.output and "MesoNet" in result.output
    full = CliRunner().invoke(app, ["models", "--json"])
    assert json.loads(full.output)["card"]["name"] == SHIPPED_MODEL


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_an_explicit_threshold_gives_a_two_way_verdict(shared_data: Path, threshold: float) -> None:
    clip = shared_data / REALS[1]
    (result,) = predict_videos([clip], shipped_checkpoint(), None, PredictSettings(frames=4, threshold=threshold))
    assert result["verdict"] == ("fake" if threshold == 0.0 else "real")
    assert result["uncertain_band"] is None
