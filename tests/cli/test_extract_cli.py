"""``noisetrace extract --retry-failed``: videos recorded as failed in CACHE/_status are extracted again."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from noisetrace.cli.extract import extract
from noisetrace.core.io import write_json_atomic
from noisetrace.core.manifest import make_uid, write_manifest
from noisetrace.faces.cache import FaceCache

# The function cli/main.py registers as `noisetrace extract`, mounted alone for the test.
app = typer.Typer()
app.command()(extract)
runner = CliRunner()


def _manifest(path: Path, videos: dict[str, Path]) -> Path:
    rows = [
        {"uid": make_uid("folder", "", "original", name), "dataset": "folder", "method": "original", "label": 0,
         "video_id": name, "target_id": name, "source_id": "", "identity": name, "compression": "", "split": "",
         "path": str(video)}
        for name, video in videos.items()
    ]  # fmt: skip
    return write_manifest(pd.DataFrame(rows), path)


def test_retry_failed_extracts_recorded_failures_again(tmp_path: Path, shared_data: Path) -> None:
    video = tmp_path / "videos" / "v0.mp4"
    video.parent.mkdir()
    video.write_text("not a video yet\n")  # unreadable on the first run, e.g. an interrupted copy
    manifest = _manifest(tmp_path / "manifest.csv", {"v0": video})
    cache = tmp_path / "cache"
    uid = make_uid("folder", "", "original", "v0")
    other = cache / "_status" / "folder-na-original-elsewhere.json"  # a failure of another manifest's video

    def run(*flags: str) -> str:
        result = runner.invoke(app, [str(manifest), "-o", str(cache), "--frames", "3", *flags])
        assert result.exit_code == 0, result.output
        return result.output

    run()
    status = cache / "_status" / f"{uid}.json"
    assert json.loads(status.read_text())["status"] == "decode_error"
    write_json_atomic(other, {"uid": "folder-na-original-elsewhere", "status": "no_face"})

    shutil.copyfile(shared_data / "samples" / "ffpp_c23_original_000.mp4", video)  # the file is whole now
    assert "0 to extract" in run()  # a recorded failure is not retried unasked
    assert FaceCache(cache).uids() == []

    output = run("--retry-failed")
    assert "1 to extract (1 failed before, retried)" in output
    assert FaceCache(cache).uids() == [uid] and len(FaceCache(cache).crop_paths(uid)) == 3
    assert not status.exists() and other.is_file()  # its status is replaced, other failures stay
    report = pd.read_csv(cache / "extract_report.csv")
    assert report.set_index("uid").loc[uid, "status"] == "ok"
    assert "0 to extract" in run("--retry-failed")  # nothing failed is left to retry


def test_a_full_disk_is_one_line_and_a_non_zero_exit(tmp_path: Path, shared_data: Path, monkeypatch) -> None:
    """Issue 12, item 1: ENOSPC while writing meta.json is one line on stderr, no traceback."""
    video = shared_data / "samples" / "ffpp_c23_original_000.mp4"
    manifest = _manifest(tmp_path / "manifest.csv", {"v0": video})
    write_text = Path.write_text

    def full_disk(self, data, *args, **kwargs):
        if self.name == "meta.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    result = runner.invoke(app, [str(manifest), "-o", str(tmp_path / "cache"), "--frames", "2"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # typer.Exit, not a crash
    assert "Traceback" not in result.output
    (line,) = [line for line in result.stderr.splitlines() if "error" in line.lower()]  # beside tqdm's bar
    assert line.startswith("error: Cannot write ") and "meta.json: the disk is full" in line
    assert FaceCache(tmp_path / "cache").uids() == [] and not list((tmp_path / "cache").glob(".*.partial"))


def test_an_output_that_is_a_file_fails_before_any_work(tmp_path: Path, shared_data: Path) -> None:
    """Issue 12, item 3: `extract -o afile` is one line (it was a FileExistsError traceback)."""
    manifest = _manifest(tmp_path / "manifest.csv", {"v0": shared_data / "samples" / "ffpp_c23_original_000.mp4"})
    afile = tmp_path / "afile"
    afile.write_text("an existing file\n")
    result = runner.invoke(app, [str(manifest), "-o", str(afile), "--frames", "2"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == (
        f"error: -o {afile} is a file, not a folder: give a folder (it is created when missing), "
        "or move the file away.\n"
    )
    assert result.stdout == "" and afile.read_text() == "an existing file\n"
