"""kill -9 in the middle of a grid, rerun: finished runs are not retrained, finished cells not redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from noisetrace.protocols import GridSettings, run_grid


def _train_events(out: Path) -> list[dict]:
    lines = (out / "events.jsonl").read_text().splitlines() if (out / "events.jsonl").is_file() else []
    return [event for event in map(json.loads, lines) if event["event"] == "train"]


def test_killed_grid_resumes_without_retraining(grid_data: dict[str, Path], spec_file, tmp_path: Path) -> None:
    rows, columns = ["loo-DF", "loo-F2F", "celebdf-to-DF"], ["xception-rgb", "xception-srm"]
    spec = spec_file("paper-table1", rows=rows, columns=columns)
    out = tmp_path / "grid"
    command = [
        sys.executable, "-m", "noisetrace.cli", "protocol", "run", str(spec),
        "-d", f"ffpp={grid_data['ffpp']}", "-d", f"folder={grid_data['folder']}",
        "--cache", str(grid_data["cache"]), "-o", str(out), "--n-resamples", "20",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while len(list(out.glob("runs/*/summary.json"))) < 2:
            assert process.poll() is None, "the grid ended before it could be killed"
            assert time.monotonic() < deadline, "no two runs finished in 10 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished = {path.parent.name for path in out.glob("runs/*/summary.json")}
    before = _train_events(out)
    assert 2 <= len(finished) < 6

    results = run_grid(spec, {"ffpp": grid_data["ffpp"], "folder": grid_data["folder"]}, grid_data["cache"], out,
                       GridSettings(n_resamples=20))  # fmt: skip
    assert len(results) == 6 and results["value"].notna().all()
    after = _train_events(out)[len(before) :]
    retrained = {event["run"] for event in after}
    assert not retrained & finished, "a finished run was trained again"
    runs = set(pd.read_csv(out / "results.csv")["run"])
    assert len(runs) == 6 and retrained | finished == runs
    # every run started fresh once, except one the kill may have cut short (restarted or resumed)
    fresh = [event["run"] for event in before + after if not event["resume"]]
    assert len(fresh) - len(set(fresh)) <= 1


def test_shards_split_the_runs_and_share_the_output(grid_data: dict[str, Path], spec_file, tmp_path: Path) -> None:
    spec = spec_file("paper-table1", rows=["loo-NT", "celebdf-to-NT"], columns=["xception-rgb", "xception-srm"])
    out = tmp_path / "grid"
    data = {"ffpp": grid_data["ffpp"], "folder": grid_data["folder"]}
    first = run_grid(spec, data, grid_data["cache"], out, GridSettings(shard=(0, 2), n_resamples=20))
    trained_first = {event["run"] for event in _train_events(out)}
    assert len(trained_first) == 2 and len(first) == 2  # half of the 4 runs, and their cells
    results = run_grid(spec, data, grid_data["cache"], out, GridSettings(shard=(1, 2), n_resamples=20))
    trained = [event["run"] for event in _train_events(out)]
    assert len(trained) == len(set(trained)) == 4  # the second shard trained the other half only
    assert len(results) == 4 and results["value"].notna().all()
