"""A grid of Table 1's shape (14 rows × 4 detectors) end to end on a simulated benchmark of real faces,
the identity checks over every cell, and the report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from noisetrace.cli.main import app
from noisetrace.core.manifest import read_manifest
from noisetrace.protocols import (
    GridLayout,
    GridProgress,
    GridSettings,
    collect_results,
    identity_leaks,
    load_spec,
    run_grid,
)
from noisetrace.report.grid import write_grid_report


@pytest.fixture(scope="module")
def table1_grid(grid_data: dict[str, Path], spec_file, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("table1") / "grid"
    data = {"ffpp": grid_data["ffpp"], "folder": grid_data["folder"]}
    run_grid(spec_file("paper-table1"), data, grid_data["cache"], out, GridSettings(n_resamples=100))
    return out


def _report(out: Path) -> dict[str, Path]:
    """What `noisetrace report OUT` writes."""
    layout = GridLayout.open(out)
    return write_grid_report(layout, collect_results(layout))


def test_every_cell_of_table1_shape_is_filled(table1_grid: Path) -> None:
    results = pd.read_csv(table1_grid / "results.csv")
    shipped = load_spec("paper-table1")
    assert len(results) == len(shipped.rows) * len(shipped.columns) == 56
    assert results["value"].between(0, 1).all()
    assert list(dict.fromkeys(results["row"])) == [row.id for row in shipped.rows]
    # the paper's numbers travel with the cells
    first = results[(results["row"] == "in-domain") & (results["column"] == "xception-srm")]
    assert first["paper"].item() == pytest.approx(93.43)


def test_each_training_run_serves_every_cell_that_needs_it(table1_grid: Path) -> None:
    events = [json.loads(line) for line in (table1_grid / "events.jsonl").read_text().splitlines()]
    trained = [e["run"] for e in events if e["event"] == "train"]
    # 8 distinct training sets (Table 1's DF-1.0 and Celeb-DF rows share one; Celeb-DF → 6 tests share one) × 4
    assert len(trained) == len(set(trained)) == 32
    assert sum(e["event"] == "cell" for e in events) == 56
    results = pd.read_csv(table1_grid / "results.csv")
    shared = results[results["row"].str.startswith("celebdf-to-") & (results["column"] == "xception-rgb")]
    assert shared["run"].nunique() == 1


def test_no_identity_on_both_sides_of_any_cell(table1_grid: Path) -> None:
    manifest = read_manifest(table1_grid / "manifest.parquet").set_index("uid", drop=False)
    results = pd.read_csv(table1_grid / "results.csv")
    checked = 0
    for cell in results.itertuples():
        train = read_manifest(table1_grid / "runs" / cell.run / "manifest.csv")
        test_uids = json.loads((table1_grid / cell.cell / "testset.json").read_text())["uids"]
        test = manifest.loc[test_uids]
        assert set(train["split"]) == {"train", "val"} and set(test["split"]) == {"test"}
        assert not set(train["uid"]) & set(test["uid"])
        leaks = identity_leaks(train, test)
        assert leaks == {"identity": [], "donor_in_test": [], "donor_in_train": []}, cell.cell
        scored = pd.read_csv(table1_grid / cell.cell / "predictions.csv", dtype={"uid": str})
        assert set(scored["uid"]) == set(test_uids)
        checked += 1
    assert checked == 56


def test_generalization_sets_are_balanced_and_seeded(table1_grid: Path) -> None:
    described = json.loads((table1_grid / "cells/loo-DF/xception-rgb-s0/testset.json").read_text())
    assert described["fakes"] == ["ffpp/swap"] and described["reals"] == ["ffpp"]
    assert described["selected"]["fake"] == described["selected"]["real"] >= 1
    assert described["n"] == 150 and described["warnings"]  # fewer than 150 available: said so
    other = json.loads((table1_grid / "cells/loo-DF/lstm-srm-s0/testset.json").read_text())
    assert other["uids"] == described["uids"]  # every column of a row scores the same videos


def test_report_lays_out_the_table_beside_the_paper(table1_grid: Path) -> None:
    files = _report(table1_grid)
    markdown = files["markdown"].read_text()
    assert markdown.count("\n| ") == 1 + 14  # header + 14 rows
    assert "(84.12)" in markdown and "(51.40)" in markdown
    assert "\\begin{tabular}{llcccc}" in files["latex"].read_text()
    paired = pd.read_csv(files["paired"])
    assert set(paired["architecture"]) == {"xception", "xception_lstm"} and len(paired) == 28
    assert paired["p_value"].between(0, 1).all()
    page = files["html"].read_text()
    assert page.count("<svg") == 14  # one ROC chart per row
    for section in ("Results beside the paper", "RGB vs SRM, paired", "ROC curves"):
        assert section in page


def test_report_and_evaluate_from_the_command_line(table1_grid: Path, grid_data: dict[str, Path]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(table1_grid)])
    assert result.exit_code == 0, result.output
    assert "Xception-Net (SRM)" in result.output and "report.html" in result.output

    run = pd.read_csv(table1_grid / "results.csv").query("row == 'loo-DF' and column == 'xception-srm'")["run"].item()
    checkpoint = table1_grid / "runs" / run / "checkpoints" / "best.json"
    out = table1_grid.parent / "evaluate"
    args = ["evaluate", str(checkpoint), "-m", str(table1_grid / "manifest.parquet"), "--cache",
            str(grid_data["cache"]), "-o", str(out), "--test-set", "ffpp/swap", "--n-resamples", "50"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    drawn = json.loads((out / "testset.json").read_text())
    grid_cell = json.loads((table1_grid / "cells/loo-DF/xception-srm-s0/testset.json").read_text())
    assert drawn["uids"] == grid_cell["uids"]  # same spec, same seed: the same videos
    ours = json.loads((out / "metrics.json").read_text())["frame"]["metrics"]["accuracy"]["value"]
    grid = json.loads((table1_grid / "cells/loo-DF/xception-srm-s0/metrics.json").read_text())
    assert ours == pytest.approx(grid["frame"]["metrics"]["accuracy"]["value"])


def test_table2_shape_plots_accuracy_against_sequence_length(grid_data: dict[str, Path], spec_file, tmp_path) -> None:
    spec = spec_file("paper-table2", rows=["celebdf-to-DF", "ffpp-dfo-to-NT"], columns=["L5", "L10"])
    out = tmp_path / "grid"
    data = {"ffpp": grid_data["ffpp"], "folder": grid_data["folder"]}
    steps: list[str] = []
    pending: list[int] = []

    @contextmanager
    def extraction(videos: int) -> Iterator[Callable[[object], None]]:
        pending.append(videos)
        yield lambda result: None

    progress = GridProgress(step=steps.append, extraction=extraction)
    results = run_grid(spec, data, grid_data["cache"], out, GridSettings(n_resamples=50), progress)
    assert len(results) == 4 and results["value"].notna().all()
    # reported through the callbacks, drawn by nobody: every face is in the cache already
    assert pending == [0] and any(step.startswith("[run 1/") for step in steps)
    lengths = {json.loads(p.read_text())["config"]["data.seq_len"] for p in out.glob("runs/*/key.json")}
    assert lengths == {5, 10}
    # 12 frames: one window of 10 or two of 5 per video, so L=10 scores half as many items
    n_items = results.set_index(["row", "column"])["n_items"]
    assert n_items[("celebdf-to-DF", "L5")] == 2 * n_items[("celebdf-to-DF", "L10")]
    page = _report(out)["html"].read_text()
    assert "Accuracy vs sequence length" in page and "sequence length L (frames)" in page
    assert "RGB vs SRM" in page and "No RGB/SRM pair" in page  # Table 2 has no SRM column
