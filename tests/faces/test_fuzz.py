"""A short seeded run of ``benchmarks/fuzz.py``: damaged copies of real videos through the extract path
give a status each, never a traceback, a hang or a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz.py"


def test_damaged_videos_through_extract_give_no_traceback_and_no_hang(shared_data: Path, tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    command = [sys.executable, str(FUZZ), "--files", "8", "--seed", "0", "--paths", "extract", "--frames", "4"]
    command += ["--limit", "60", "--keep", str(tmp_path / "failures"), "--json", str(summary_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = json.loads(summary_path.read_text())
    assert summary["files"] == 8
    assert (summary["tracebacks"], summary["hangs"], summary["crashes"], summary["over_memory"]) == (0, 0, 0, 0)
    assert sum(summary["statuses"]["extract"].values()) == 8
    # every kind of damage was tried, and what the table prints is what the JSON says
    assert set(summary["by_mutation"]) == {
        "header_bitflip", "payload_bitflip", "truncate", "zero_range", "absurd_metadata"
    }  # fmt: skip
    assert "tracebacks:   0 (must be 0)" in done.stdout and "hangs:        0 (must be 0" in done.stdout
