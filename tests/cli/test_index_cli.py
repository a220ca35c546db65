"""``noisetrace index`` through Typer's CliRunner on the real app."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from noisetrace.cli.main import app
from noisetrace.core.manifest import read_manifest

runner = CliRunner()


def _ffpp_tree(root: Path, samples: Path) -> Path:
    """Ids 000–005 in three a_b/b_a Deepfakes pairs, symlinked to the real c23 samples."""
    for a, b in (("000", "003"), ("001", "002"), ("004", "005")):
        for i in (a, b):
            link = root / f"original_sequences/youtube/c23/videos/{i}.mp4"
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(samples / "ffpp_c23_original_000.mp4", link)
        for t, s in ((a, b), (b, a)):
            link = root / f"manipulated_sequences/Deepfakes/c23/videos/{t}_{s}.mp4"
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(samples / "ffpp_c23_Deepfakes_000_003.mp4", link)
    return root


def test_index_writes_a_readable_manifest_and_its_split_report(tmp_path: Path, shared_data: Path) -> None:
    root = _ffpp_tree(tmp_path / "ff", shared_data / "samples")
    output = tmp_path / "out" / "manifest.parquet"
    result = runner.invoke(app, ["index", str(root), "--dataset", "ffpp", "--seed", "3", "-o", str(output)])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(output)
    assert len(manifest) == 12 and set(manifest["method"]) == {"original", "Deepfakes"}
    assert set(manifest["split"]) <= {"train", "val", "test"}
    report = json.loads((tmp_path / "out" / "manifest.split.json").read_text())
    assert report["seed"] == 3 and report["scheme"] == "paper"
    assert "Deepfakes" in result.output and "seed 3" in result.output


def test_index_joint_data_pairs(tmp_path: Path, shared_data: Path) -> None:
    samples = shared_data / "samples"
    ffpp_root = _ffpp_tree(tmp_path / "ff", samples)
    link = tmp_path / "dfo/manipulated_videos/end_to_end/004_W017.mp4"
    link.parent.mkdir(parents=True)
    os.symlink(samples / "dfo_end_to_end_target000.mp4", link)
    output = tmp_path / "joint.csv"
    result = runner.invoke(
        app, ["index", "--data", f"ffpp={ffpp_root}", "--data", f"dfo={tmp_path / 'dfo'}", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    manifest = read_manifest(output)
    dfo_split = manifest.loc[manifest["dataset"] == "dfo", "split"].item()
    assert set(manifest.loc[manifest["target_id"].isin(["004", "005"]), "split"]) == {dfo_split}


def test_index_missing_root_is_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_dataset"
    result = runner.invoke(
        app, ["index", str(missing), "--dataset", "ffpp", "-o", str(tmp_path / "m.parquet")]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(missing) in lines[0]
    assert not (tmp_path / "m.parquet").exists()


def test_index_root_needs_a_dataset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", str(tmp_path), "-o", str(tmp_path / "m.parquet")])
    assert result.exit_code == 2
    assert "--dataset" in result.output


def test_index_ffpp_actors_are_their_own_method_unless_asked(tmp_path: Path, shared_data: Path) -> None:
    root = _ffpp_tree(tmp_path / "ff", shared_data / "samples")
    link = root / "original_sequences/actors/c23/videos/01__kitchen_pan.mp4"
    link.parent.mkdir(parents=True)
    os.symlink(shared_data / "samples" / "ffpp_c23_original_000.mp4", link)
    for flags, method in (([], "actors"), (["--ffpp-actors-as-reals"], "original")):
        output = tmp_path / f"{method}.csv"
        result = runner.invoke(app, ["index", str(root), "--dataset", "ffpp", *flags, "-o", str(output)])
        assert result.exit_code == 0, result.output
        actor = read_manifest(output).query("video_id == '01__kitchen_pan'")
        assert (actor["method"].item(), actor["label"].item()) == (method, 0)


def test_index_celebdf_youtube_real_only_when_asked(tmp_path: Path, shared_data: Path) -> None:
    root = tmp_path / "celebdf"
    for name in ("Celeb-real/id0_0000.mp4", "Celeb-real/id1_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4",
                 "Celeb-synthesis/id1_id0_0000.mp4", "YouTube-real/00000.mp4"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(shared_data / "samples" / "ffpp_c23_original_000.mp4", root / name)
    for flags, reals in (([], 2), (["--celebdf-youtube-real"], 3)):
        output = tmp_path / f"m{reals}.csv"
        result = runner.invoke(app, ["index", str(root), "--dataset", "celebdf", *flags, "-o", str(output)])
        assert result.exit_code == 0, result.output
        assert (read_manifest(output)["label"] == 0).sum() == reals


def test_index_prints_what_it_skipped_and_why(tmp_path: Path, shared_data: Path) -> None:
    """Issue 12, item 4: a broken link inside a dataset folder is named on stderr, not dropped silently."""
    root = _ffpp_tree(tmp_path / "ff", shared_data / "samples")
    broken = root / "original_sequences/youtube/c23/videos/006.mp4"
    os.symlink(tmp_path / "nowhere.mp4", broken)
    result = runner.invoke(app, ["index", str(root), "--dataset", "ffpp", "-o", str(tmp_path / "m.csv")])
    assert result.exit_code == 0, result.output
    assert f"warning: skipped 1 item(s) in {broken.parent} named like videos that are not video files: 006.mp4 " in (
        result.stderr
    )
    assert len(read_manifest(tmp_path / "m.csv")) == 12


def test_a_manifest_that_cannot_be_written_is_one_line(tmp_path: Path, shared_data: Path, monkeypatch) -> None:
    """Issue 12, item 1: a full disk while writing the manifest is one line, no traceback."""
    import errno

    import pandas as pd

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    root = _ffpp_tree(tmp_path / "ff", shared_data / "samples")
    output = tmp_path / "m.csv"
    result = runner.invoke(app, ["index", str(root), "--dataset", "ffpp", "-o", str(output)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines()[-1].startswith(f"error: Cannot write {output}: the disk is full")
    assert not output.exists() and not list(tmp_path.glob(".m.csv.*"))
