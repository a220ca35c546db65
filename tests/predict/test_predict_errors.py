"""Bad input: items that cannot be judged get a status and the run goes on (exit 0); mistakes in the call
(missing input, missing or foreign checkpoint, bad options) are one clear line and a non-zero exit."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from noisetrace.cli.predict import predict
from noisetrace.core.errors import NoisetraceError, OutputError
from noisetrace.models.checkpoint import checkpoint_paths
from noisetrace.predict import PREDICTIONS_FILE, PredictSettings, expand_inputs, item_ids, pipeline

app = typer.Typer()
app.command()(predict)
runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_unreadable_and_faceless_videos_get_a_status(sample_videos, image_checkpoint, tmp_path, video_writer):
    text = tmp_path / "notes.mp4"
    text.write_text("this is a text file with a video's name\n")
    empty = tmp_path / "empty.mp4"
    empty.touch()
    rng = np.random.default_rng(0)
    noise = video_writer(
        tmp_path / "noise.mp4", [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(8)]
    )

    code, stdout, stderr = invoke(text, empty, noise, sample_videos[0], "-c", image_checkpoint, "--frames", "8")
    assert code == 0, stderr
    records = {Path(r["path"]).name: r for r in json.loads(stdout)}
    assert records["notes.mp4"]["status"] == "unreadable" and "Not a readable video" in records["notes.mp4"]["message"]
    assert records["empty.mp4"]["status"] == "unreadable" and "empty" in records["empty.mp4"]["message"]
    assert records["noise.mp4"]["status"] == "no_face" and records["noise.mp4"]["frames_decoded"] == 8
    for name in ("notes.mp4", "empty.mp4", "noise.mp4"):
        assert records[name]["verdict"] is None and records[name]["score"] is None and records[name]["scores"] == []
    assert records[sample_videos[0].name]["status"] == "ok"  # the bad items did not stop the run
    assert "[1/4] unreadable" in stderr and "[3/4] no_face" in stderr


def test_a_sequence_model_cannot_judge_a_single_image(shared_data, sequence_checkpoint):
    code, stdout, _ = invoke(shared_data / "images" / "deepface_img1.jpg", "-c", sequence_checkpoint)
    assert code == 0
    (record,) = json.loads(stdout)
    assert record["status"] == "too_short" and "4 consecutive frames" in record["message"]
    assert record["frames_with_face"] == 1 and record["verdict"] is None


def foreign_checkpoints(image_checkpoint: Path, sequence_checkpoint: Path, root: Path) -> dict[str, Path]:
    """Checkpoints that must be refused, each with the message that explains why."""
    root.mkdir()
    garbage = root / "model.pth"
    garbage.write_bytes(b"\x80\x04not a noisetrace checkpoint")

    other_format = root / "other.json"
    other_format.write_text(json.dumps({"format": "deepfakebench", "model": "xception"}))

    # The description of the frame model beside the weights of the sequence model.
    swapped = root / "swapped.json"
    weights = root / "swapped.safetensors"
    shutil.copy(checkpoint_paths(sequence_checkpoint)[0], weights)
    info = json.loads(checkpoint_paths(image_checkpoint)[1].read_text())
    info.update(weights=weights.name, weights_sha256=hashlib.sha256(weights.read_bytes()).hexdigest())
    swapped.write_text(json.dumps(info))

    # A complete description whose weights file is garbage.
    corrupt = root / "corrupt.json"
    (root / "corrupt.safetensors").write_bytes(b"\x00" * 64)
    info = json.loads(checkpoint_paths(image_checkpoint)[1].read_text())
    info.update(weights="corrupt.safetensors")
    info.pop("weights_sha256")
    corrupt.write_text(json.dumps(info))
    # Hand-edited descriptions beside their own weights (issue 12, item 6).
    edits = {
        "domain": lambda info: info["model"].update(domain="rgb"),  # the weights cannot tell
        "version": lambda info: info.update(format_version="one"),
        "size": lambda info: info["input"].update(image_size="big"),
        "negative": lambda info: info["input"].update(image_size=-5),
    }
    for name, edit in edits.items():
        info = json.loads(checkpoint_paths(image_checkpoint)[1].read_text())
        edit(info)
        info["weights"] = f"{name}.safetensors"
        shutil.copy(checkpoint_paths(image_checkpoint)[0], root / info["weights"])
        (root / f"{name}.json").write_text(json.dumps(info))
    return {
        "the architecture description ('model') was edited": root / "domain.json",
        "'format_version' must be a whole number": root / "version.json",
        "'image_size' must be a whole number from 8 to 4096, got 'big'": root / "size.json",
        "'image_size' must be a whole number from 8 to 4096, got -5": root / "negative.json",
        "No checkpoint description": root / "missing.json",
        "No checkpoint description " + str(root / "model.pth.json"): garbage,
        "does not describe a noisetrace detector": other_format,
        "do not fit the described xception model": swapped,
        "Cannot read checkpoint weights": corrupt,
    }


def test_a_missing_or_foreign_checkpoint_is_one_clear_line(
    sample_videos, image_checkpoint, sequence_checkpoint, tmp_path
):
    for message, checkpoint in foreign_checkpoints(image_checkpoint, sequence_checkpoint, tmp_path / "ckpt").items():
        code, stdout, stderr = invoke(sample_videos[0], "-c", checkpoint, "--frames", "2")
        assert code == 1, (checkpoint, stderr)
        assert stderr.startswith("error: ") and message in stderr and "Traceback" not in stderr
        assert stdout == ""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.mp4"], 1, "error: Input not found: missing.mp4"),
        (["nothing-*.mp4"], 1, "error: No file matches 'nothing-*.mp4'"),
        (["VIDEO", "--threshold", "1.5"], 1, "threshold is a probability and must be in [0, 1]"),
        (["VIDEO", "--rule", "mode"], 1, "rule must be one of ['mean', 'median', 'max', 'confident']"),
        (["VIDEO", "--frames", "0"], 1, "frames, batch_size and evidence_frames must be at least 1"),
        (["VIDEO", "--device", "tpu"], 1, "Unknown device 'tpu'"),
        (["VIDEO", "--html"], 2, "write files: give an output folder"),
    ],
)
def test_usage_mistakes_exit_non_zero(sample_videos, image_checkpoint, monkeypatch, tmp_path, args, code, message):
    monkeypatch.chdir(tmp_path)
    args = [str(sample_videos[0]) if a == "VIDEO" else a for a in args]
    exit_code, stdout, stderr = invoke(*args, "-c", image_checkpoint)
    assert exit_code == code
    assert message in " ".join(stderr.split()) and "Traceback" not in stderr and stdout == ""


def test_inputs_expand_folders_and_globs_once_each(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("a/x.mp4", "a/y.PNG", "a/readme.md", "b.mp4", "c.mkv"):
        (tmp_path / name).touch()
    found = expand_inputs([tmp_path / "a", str(tmp_path / "*.m*"), tmp_path / "b.mp4"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/x.mp4", "a/y.PNG", "b.mp4", "c.mkv"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoisetraceError, match="No video or image files in folder"):
        expand_inputs([tmp_path / "empty"])


def test_item_ids_are_unique_and_file_name_safe():
    paths = [Path("a/clip.mp4"), Path("b/clip.mp4"), Path("clip-2.mp4"), Path("x/my video (1).mov")]
    assert item_ids(paths) == ["clip", "clip-2", "clip-2-2", "my_video_1"]


def test_a_full_disk_under_the_output_folder_is_one_line(sample_videos, image_checkpoint, tmp_path, monkeypatch):
    """Issue 12, item 1: predictions.json cannot be written (ENOSPC): one line, exit 1, no traceback."""
    write_text = Path.write_text

    def full_disk(self, data, *args, **kwargs):
        if PREDICTIONS_FILE in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    out = tmp_path / "out"
    code, stdout, stderr = invoke(sample_videos[0], "-c", image_checkpoint, "--frames", "2", "-o", out)
    assert code == 1 and "Traceback" not in stderr and stdout == ""
    assert stderr.splitlines()[-1] == (
        f"error: Cannot write {out / PREDICTIONS_FILE}: the disk is full (no space left on device). Nothing finished "
        "was lost (outputs are written whole or not at all): free some space, then run the command again."
    )
    assert not (out / PREDICTIONS_FILE).exists() and not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("where", ["afile", "afile/sub"])
def test_an_output_folder_that_is_a_file_fails_before_any_work(
    sample_videos, image_checkpoint, tmp_path, monkeypatch, where
):
    """Issue 12, item 3: -o naming a file (or a folder under a file) is one line before the model loads
    and before any video is decoded, from the CLI and from predict_videos."""
    (tmp_path / "afile").write_text("an existing file\n")

    def no_work(*args, **kwargs):
        raise AssertionError("the model was loaded before -o was checked")

    monkeypatch.setattr(pipeline, "Predictor", no_work)
    out = tmp_path / where
    code, stdout, stderr = invoke(sample_videos[0], "-c", image_checkpoint, "-o", out)
    assert code == 1 and stdout == "" and "Traceback" not in stderr
    expected = (
        f"error: -o {out} is a file, not a folder"
        if where == "afile"
        else f"error: -o {out} cannot be created: {tmp_path / 'afile'} is a file, not a folder."
    )
    assert stderr.startswith(expected) and len(stderr.splitlines()) == 1, stderr
    with pytest.raises(OutputError, match="is a file, not a folder"):
        pipeline.predict_videos([sample_videos[0]], image_checkpoint, out)


def _folder_with_non_files(root: Path, video: Path) -> Path:
    """A folder holding a video, a broken symbolic link and a folder, all named like videos."""
    folder = root / "clips"
    folder.mkdir()
    (folder / "ok.mp4").symlink_to(video)
    (folder / "gone.mp4").symlink_to(root / "moved-away.mp4")
    (folder / "x.mp4").mkdir()
    return folder


def test_a_folder_names_what_it_skips_and_why(sample_videos, tmp_path, caplog):
    """Issue 12, item 4: `predict FOLDER` skips a broken link and a folder named x.mp4 with a warning each."""
    folder = _folder_with_non_files(tmp_path, sample_videos[0])
    with caplog.at_level(logging.WARNING, logger="noisetrace.predict"):
        assert expand_inputs([folder]) == [folder / "ok.mp4"]
    assert [r.getMessage() for r in caplog.records] == [
        f"warning: skipped {folder / 'gone.mp4'}: a broken symbolic link to {tmp_path / 'moved-away.mp4'}, "
        "which does not exist",
        f"warning: skipped {folder / 'x.mp4'}: a folder, not a file",
    ]


def test_the_cli_prints_the_skipped_items_as_warning_lines(sample_videos, tmp_path):
    """The installed command, where nobody configured logging: the warnings are plain lines on stderr."""
    folder = _folder_with_non_files(tmp_path, sample_videos[0])
    command = [sys.executable, "-m", "noisetrace.cli", "predict", str(folder), "-c", str(tmp_path / "none.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1  # the missing checkpoint: the warnings come before it, from the input listing
    assert done.stderr.splitlines()[:2] == [
        f"warning: skipped {folder / 'gone.mp4'}: a broken symbolic link to {tmp_path / 'moved-away.mp4'}, "
        "which does not exist",
        f"warning: skipped {folder / 'x.mp4'}: a folder, not a file",
    ]


def test_no_temporary_folder_is_made_when_crops_go_to_the_output_folder(
    sample_videos, image_checkpoint, tmp_path, monkeypatch
):
    """Issue 12, item 7: with -o there is no scratch folder, so a killed run cannot leave an empty
    noisetrace-predict-* behind; without -o the scratch folder is gone once the run ends."""
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    seen: list[list[str]] = []

    def progress(done: int, total: int, result: dict) -> None:
        seen.append(sorted(p.name for p in scratch_root.glob("noisetrace-predict-*")))

    settings = PredictSettings(frames=2)
    pipeline.predict_videos([sample_videos[0]], image_checkpoint, tmp_path / "out", settings, progress=progress)
    assert seen == [[]]  # none while it ran
    seen.clear()
    pipeline.predict_videos([sample_videos[0]], image_checkpoint, None, settings, progress=progress)
    assert len(seen) == 1 and len(seen[0]) == 1  # the crops' temporary face cache, while it ran
    assert list(scratch_root.iterdir()) == []
