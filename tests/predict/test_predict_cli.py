"""``noisetrace predict`` on real dataset videos: one JSON object per video with scores, aggregate and verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from noisetrace.cli.predict import predict
from noisetrace.evaluation.metrics import AGGREGATION_RULES, aggregate_by_video
from noisetrace.predict import PREDICTIONS_FILE, video_score

# The function cli/main.py registers as `noisetrace predict`, mounted alone for the test.
app = typer.Typer()
app.command()(predict)
runner = CliRunner()

FRAMES = 16


def run_json(*args: str | Path) -> list[dict]:
    """Invoke the command without -o and parse its stdout, which must be pure JSON."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check_verdict(record: dict, threshold: float = 0.5) -> None:
    scores = [item["score"] for item in record["scores"]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert record["score"] == pytest.approx(np.mean(scores))  # the default rule is the mean
    assert record["rule"] == "mean" and record["threshold"] == threshold
    assert record["verdict"] == ("fake" if record["score"] >= threshold else "real")


def test_image_model_on_real_videos(sample_videos, image_checkpoint):
    records = run_json(*sample_videos, "-c", image_checkpoint, "--frames", FRAMES)

    assert [r["path"] for r in records] == [str(p) for p in sample_videos]
    for record in records:
        assert record["status"] == "ok", record["message"]
        assert record["unit"] == "frame" and record["frames_decoded"] == FRAMES
        # Every analysed frame of these talking-head videos has the subject's face, and one score.
        assert [(s["frame_start"], s["frame_end"]) for s in record["scores"]] == [(i, i) for i in range(FRAMES)]
        assert [f["frame"] for f in record["faces"]] == list(range(FRAMES))
        assert all(len(f["box"]) == 4 and f["detection_score"] > 0.9 for f in record["faces"])
        check_verdict(record)
        assert record["model"] == {
            "name": "xception",
            "domain": "srm",
            "backbone": "test_resnet",
            "image_size": 64,
            "seq_len": None,
        }
        assert record["checkpoint"] == str(image_checkpoint)
        assert set(record["seconds"]) == {"decode", "detect", "model", "total"}
        assert record["files"] == {}  # without -o nothing is kept
    # The portrait DFDC video (1080 wide, 1920 high): its face boxes lie in the portrait frame.
    assert all(0 <= f["box"][0] < f["box"][2] <= 1080 for f in records[3]["faces"])


def test_sequence_model_scores_windows_of_l_frames(sample_videos, sequence_checkpoint, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, [str(sample_videos[0]), str(sample_videos[2]), "-c", str(sequence_checkpoint), "--frames", "12",
              "-o", str(out), "--rule", "median", "--threshold", "0.3"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"predictions: {out / PREDICTIONS_FILE}" in result.stdout
    records = json.loads((out / PREDICTIONS_FILE).read_text())
    assert len(records) == 2
    for record in records:
        assert record["status"] == "ok" and record["unit"] == "sequence"
        assert record["model"]["name"] == "xception_lstm" and record["model"]["seq_len"] == 4
        # Non-overlapping windows of L = 4 consecutive frames: 12 frames → 3 sequences.
        assert [(s["frame_start"], s["frame_end"]) for s in record["scores"]] == [(0, 3), (4, 7), (8, 11)]
        scores = [s["score"] for s in record["scores"]]
        assert record["score"] == pytest.approx(np.median(scores))
        assert record["verdict"] == ("fake" if record["score"] >= 0.3 else "real")
        # With -o the crops are kept, as a face cache other stages can read.
        faces = Path(record["files"]["faces"])
        assert faces == out / "faces" / record["uid"] and (faces / "meta.json").is_file()
        assert len(list(faces.glob("*.png"))) == 12


def test_images_and_folders_are_items_of_one_frame(shared_data, image_checkpoint, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("deepface_img1.jpg", "face_recognition_obama.jpg"):
        (folder / name).symlink_to(shared_data / "images" / name)
    (folder / "notes.txt").write_text("not an image")  # ignored: folders contribute media files only

    records = run_json(folder, "-c", image_checkpoint)
    assert [Path(r["path"]).name for r in records] == ["deepface_img1.jpg", "face_recognition_obama.jpg"]
    for record in records:
        assert record["status"] == "ok" and record["frames_decoded"] == 1 and len(record["scores"]) == 1
        check_verdict(record)


@pytest.mark.parametrize("rule", AGGREGATION_RULES)
def test_video_score_is_the_evaluation_rule(rule):
    scores = [0.95, 0.9, 0.85, 0.2, 0.1]
    expected = aggregate_by_video(["v"] * 5, [0] * 5, scores, rule=rule)[2][0]
    assert video_score(scores, rule) == pytest.approx(expected)
