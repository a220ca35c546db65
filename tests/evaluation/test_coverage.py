"""What of a scored set became items, in ``metrics.json``: sequence windows skipped for a missing face,
drawn videos that gave no window at all, and a warning when a balanced test set stops being balanced."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from noisetrace.cli.evaluate import evaluate
from noisetrace.core.manifest import write_manifest
from noisetrace.evaluation.coverage import coverage_report
from noisetrace.models import create_detector
from noisetrace.models.checkpoint import input_description, save_checkpoint
from noisetrace.protocols import GridLayout, GridSettings, parse_spec, plan_grid
from noisetrace.protocols.runner import _evaluate

app = typer.Typer()
app.command()(evaluate)
runner = CliRunner()

SIZE, SEQ_LEN = 32, 3


def _index(items: list[str], missing=(), excluded=(), skipped: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        items=[SimpleNamespace(uid=uid) for uid in items], missing=list(missing), excluded=list(excluded),
        skipped_windows=skipped,
    )  # fmt: skip


def test_coverage_counts_every_video_and_warns_when_balance_breaks() -> None:
    videos = {"f1": 1, "f2": 1, "r1": 0, "r2": 0}
    report = coverage_report(videos, _index(["f1", "f1", "f2", "r1"], skipped=2), seq_len=3, balanced=True)
    assert report["videos"] == {"real": 2, "fake": 2} and report["scored_videos"] == {"real": 1, "fake": 2}
    assert report["items"] == {"real": 1, "fake": 3} and report["skipped_windows"] == 2
    assert report["without_items"] == ["r2"] and report["missing"] == report["excluded"] == []
    assert report["unit"] == "sequence" and report["seq_len"] == 3
    assert len(report["warnings"]) == 2
    assert "1 of 4 videos were not scored: 1 gave no sequence" in report["warnings"][0]
    assert "no longer balanced: 2 fake and 1 real" in report["warnings"][1]
    # an unbalanced set (Table 1's in-domain line) is not warned about its balance, only its lost videos
    unbalanced = coverage_report(videos, _index(["f1", "f2", "r1"], missing=["r2"]), balanced=False)
    assert unbalanced["missing"] == ["r2"] and unbalanced["without_items"] == []
    assert [w for w in unbalanced["warnings"] if "balanced" in w] == []
    whole = coverage_report(videos, _index(["f1", "f2", "r1", "r2"]), balanced=True)
    assert whole["warnings"] == [] and whole["unit"] == "frame"


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory, cache_writer) -> tuple[Path, Path, Path]:
    """Test split: fakes f1, f2 and real r1 with a face in each of 6 frames; real r2 loses its face in
    frames 1 and 4, so both of its windows of 3 are skipped and it gives no sequence. Train and val
    videos for a grid row (never scored). And a sequence checkpoint with L = 3."""
    root = tmp_path_factory.mktemp("coverage")
    rng = np.random.default_rng(0)
    rows = []
    videos = [("f1", 1, "test", ()), ("f2", 1, "test", ()), ("r1", 0, "test", ()), ("r2", 0, "test", (1, 4))]
    videos += [(f"{kind}{split}", int(kind == "f"), split, ()) for split in ("train", "val") for kind in "fr"]
    for uid, label, split, no_face in videos:
        frames = [None if i in no_face else rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for i in range(6)]
        cache_writer(root / "cache", uid, frames)
        rows.append(
            {"uid": uid, "dataset": "folder", "method": "swap" if label else "original", "label": label,
             "video_id": uid, "target_id": uid, "source_id": "", "identity": uid, "compression": "",
             "split": split, "path": ""}
        )  # fmt: skip
    manifest = write_manifest(pd.DataFrame(rows), root / "manifest.csv")
    torch.manual_seed(0)
    model = create_detector("xception_lstm", backbone="test_resnet", pretrained=None, lstm_hidden=16).eval()
    checkpoint = save_checkpoint(model, root / "best", {"input": input_description(model, SIZE, SEQ_LEN)})
    return manifest, root / "cache", checkpoint


def test_evaluate_records_skipped_windows_and_warns_on_a_broken_balance(faces, tmp_path: Path) -> None:
    manifest, cache, checkpoint = faces
    out = tmp_path / "eval"
    args = [checkpoint, "-m", manifest, "--cache", cache, "-o", out, "--test-set", "folder/swap",
            "--test-videos", "2", "--n-resamples", "10"]  # fmt: skip
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "no longer balanced" in result.output
    coverage = json.loads((out / "metrics.json").read_text())["coverage"]
    assert coverage["videos"] == {"real": 2, "fake": 2} and coverage["scored_videos"] == {"real": 1, "fake": 2}
    assert coverage["skipped_windows"] == 2 and coverage["without_items"] == ["r2"]
    assert coverage["items"] == {"real": 2, "fake": 4}  # two windows of 3 in each complete video
    testset = json.loads((out / "testset.json").read_text())
    assert any("no longer balanced" in warning for warning in testset["warnings"])


def test_a_grid_cell_records_its_coverage_and_the_report_notes_see_it(faces, tmp_path: Path) -> None:
    manifest_path, cache, checkpoint = faces
    spec = parse_spec(
        {
            "name": "coverage",
            "datasets": ["folder"],
            "test_videos": 2,
            "sets": {"S": {"dataset": "folder", "method": "swap"}},
            "columns": [{"id": "lstm", "recipe": "paper-sequence", "model": "xception_lstm", "seq_len": SEQ_LEN}],
            "rows": [{"id": "to-S", "train": ["S"], "test": "S"}],
        }
    )
    manifest = pd.read_csv(manifest_path, dtype=str, keep_default_na=False).astype({"label": int})
    (cell,) = plan_grid(spec, manifest).cells
    _evaluate(cell, checkpoint, cache, GridLayout(tmp_path, spec), GridSettings(n_resamples=10))
    folder = tmp_path / "cells" / "to-S" / "lstm-s0"
    coverage = json.loads((folder / "metrics.json").read_text())["coverage"]
    assert coverage["scored_videos"] == {"real": 1, "fake": 2} and coverage["skipped_windows"] == 2
    assert coverage["without_items"] == ["r2"] and coverage["balanced"] is True
    warnings = json.loads((folder / "testset.json").read_text())["warnings"]
    assert any("no longer balanced" in warning for warning in warnings)
