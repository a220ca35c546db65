"""``build_benchmark`` and ``noisetrace synth`` on real videos: the FF++ tree, ids, records, previews."""

from __future__ import annotations

import json
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from noisetrace.cli.synth import synth
from noisetrace.core.errors import ConfigError
from noisetrace.synth import build_benchmark, list_methods, masks
from noisetrace.synth.benchmark import make_pairs, track_faces
from noisetrace.synth.preview import COLUMNS, HEADER
from noisetrace.synth.video_io import read_video, write_video

REALS = (  # small 256² clips of four different people, in sorted order (ids 000–003)
    "AliaksandrSiarohin__first-order-model__demo_old_00.mp4",
    "AliaksandrSiarohin__first-order-model__demo_old_04.mp4",
    "ali-vilab__dreamtalk__M030_front_neutral_level1_001.mp4",
    "ali-vilab__dreamtalk__W009_front_sad_level3_001.mp4",
)
FRAMES = 10


def _real_dir(root: Path, shared_data: Path, names: tuple[str, ...]) -> Path:
    root.mkdir(parents=True)
    for name in names:
        (root / name).symlink_to(shared_data / "real_videos" / name)
    return root


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Path, dict]:
    """Four real videos, all methods, previews; plus a no-face video that must be skipped."""
    base = tmp_path_factory.mktemp("synth")
    real_dir = _real_dir(base / "real", shared_data, REALS)
    grey = np.full((FRAMES, 128, 128, 3), 128, dtype=np.uint8)
    write_video(real_dir / "zz_no_face.mp4", grey, fps=Fraction(25), crf=23)
    summary = build_benchmark(real_dir, base / "bench", frames=FRAMES, seed=3, preview=True, workers=1)
    return base / "bench", summary


def test_ffpp_tree_with_every_method(bench: tuple[Path, dict]) -> None:
    root, summary = bench
    ids = ["000", "001", "002", "003"]
    assert summary["ids"] == {**dict(zip(ids, REALS, strict=True)), "004": "zz_no_face.mp4"}
    for video_id in [*ids, "004"]:
        assert (root / "original_sequences/youtube/c23/videos" / f"{video_id}.mp4").is_file()
    pairs = summary["pairs"]
    assert len(pairs) == 4
    for method in list_methods():
        assert summary["fakes"][method] == pairs
        folder = root / "manipulated_sequences" / method / "c23" / "videos"
        assert sorted(p.stem for p in folder.glob("*.mp4")) == sorted(pairs)
        assert sorted(p.stem for p in folder.glob("*.json")) == sorted(pairs)
    saved = json.loads((root / "synth.json").read_text())
    assert saved["settings"]["seed"] == 3 and saved["settings"]["crf"] == 23
    assert saved["versions"]["noisetrace"]


def test_ff_pairs_keep_couples_together(bench: tuple[Path, dict]) -> None:
    """Every id is a target once and a source once, and a_b comes with b_a (no id outside its couple)."""
    pairs = [tuple(p.split("_")) for p in bench[1]["pairs"]]
    assert sorted(t for t, _ in pairs) == sorted(s for _, s in pairs) == ["000", "001", "002", "003"]
    assert all((s, t) in pairs and s != t for t, s in pairs)
    assert make_pairs([f"{i:03d}" for i in range(5)], seed=1) == make_pairs([f"{i:03d}" for i in range(5)], seed=1)
    odd = make_pairs([f"{i:03d}" for i in range(5)], seed=1)
    assert sorted(t for t, _ in odd) == sorted(s for _, s in odd) and len(odd) == 5


def test_video_without_a_face_is_real_only(bench: tuple[Path, dict]) -> None:
    _, summary = bench
    assert "004" in summary["skipped_for_fakes"]
    assert not any("004" in pair for pair in summary["pairs"])
    assert {v["video_id"]: v["status"] for v in summary["videos"]}["004"] == "no_face"


def test_fake_record_describes_the_video(bench: tuple[Path, dict]) -> None:
    root, summary = bench
    pair = summary["pairs"][0]
    target, source = pair.split("_")
    for method in list_methods():
        video = root / "manipulated_sequences" / method / "c23" / "videos" / f"{pair}.mp4"
        record = json.loads(video.with_suffix(".json").read_text())
        assert (record["method"], record["video_id"], record["target_id"], record["source_id"]) == (
            method,
            pair,
            target,
            source,
        )
        assert record["source_used"] == (method == "swap")
        assert record["target_file"] == summary["ids"][target]
        assert record["seed"] == 3 and record["params"]
        decoded = read_video(video, FRAMES + 5).frames
        assert len(decoded) == record["frames"] == len(record["per_frame"]) == FRAMES
        weights = masks.weights_from_record(record["per_frame"][0], decoded.shape[1:])
        assert weights.shape == decoded.shape[1:3] and 0 < weights.max() <= 1


def test_real_video_is_reencoded_like_the_fakes(bench: tuple[Path, dict], shared_data: Path) -> None:
    root, _ = bench
    real = read_video(root / "original_sequences/youtube/c23/videos/000.mp4", 100).frames
    original = read_video(shared_data / "real_videos" / REALS[0], FRAMES).frames
    assert real.shape == original.shape
    psnr = 10 * np.log10(255**2 / np.mean((real.astype(float) - original) ** 2))
    assert 30 < psnr < 60  # re-encoded (lossy), not copied


def test_preview_sheets(bench: tuple[Path, dict]) -> None:
    import cv2

    root, summary = bench
    assert sorted(summary["previews"]) == sorted(
        [f"previews/{m}.png" for m in list_methods()] + ["previews/overview.png"]
    )
    tile = 128
    for method in list_methods():
        sheet = cv2.imread(str(root / "previews" / f"{method}.png"))
        assert sheet.shape == (HEADER + 4 * tile, len(COLUMNS) * tile, 3)
    overview = cv2.imread(str(root / "previews" / "overview.png"))
    assert overview.shape == (HEADER + len(list_methods()) * tile, len(COLUMNS) * tile, 3)


def test_index_reads_it_as_ffpp(bench: tuple[Path, dict]) -> None:
    from noisetrace.datasets import build_manifest

    root, summary = bench
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manifest, _ = build_manifest(root, "ffpp", split="paper", seed=0)
    reals = manifest[manifest["label"] == 0]
    assert sorted(reals["video_id"]) == ["000", "001", "002", "003", "004"]
    assert set(reals["method"]) == {"original"}
    fakes = manifest[manifest["label"] == 1]
    assert sorted(fakes["method"].unique()) == sorted(list_methods())
    assert len(fakes) == len(list_methods()) * len(summary["pairs"])
    assert set(fakes["compression"]) == {"c23"}
    for _, row in fakes.iterrows():
        assert row["video_id"] in summary["pairs"]
        assert (row["target_id"], row["source_id"]) == tuple(row["video_id"].split("_"))
    split_of = manifest.groupby("target_id")["split"].agg(set)
    for pair in summary["pairs"]:
        target, source = pair.split("_")
        assert split_of[target] == split_of[source] and len(split_of[target]) == 1


def test_same_seed_same_files_whatever_the_workers_and_resume(tmp_path: Path, shared_data: Path) -> None:
    real_dir = _real_dir(tmp_path / "real", shared_data, REALS[:2])
    options = dict(methods=["selfblend", "flicker"], frames=6, seed=11, workers=1)
    first = build_benchmark(real_dir, tmp_path / "a", **options)
    build_benchmark(real_dir, tmp_path / "b", **{**options, "workers": 2})
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.mp4"))
    assert len(files) == 2 + 2 * 2
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert first["files"] == {"written": 4, "kept": 0}
    again = build_benchmark(real_dir, tmp_path / "a", **options)
    assert again["files"] == {"written": 0, "kept": 4}
    with pytest.raises(ConfigError, match="other settings"):
        build_benchmark(real_dir, tmp_path / "a", **{**options, "seed": 12})


def test_cli(tmp_path: Path, shared_data: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    real_dir = _real_dir(tmp_path / "real", shared_data, REALS[2:])
    out = tmp_path / "bench"
    args = [str(real_dir), "-o", str(out), "--methods", "swap,resample", "--frames", "4", "--workers", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "swap: 2, resample: 2" in result.output
    assert sorted(p.name for p in (out / "manipulated_sequences").iterdir()) == ["resample", "swap"]

    for bad, message in [
        ([str(tmp_path / "missing"), "-o", str(out)], "not found"),
        ([str(real_dir), "-o", str(tmp_path / "x"), "--methods", "deepfakes"], "Unknown synth methods"),
        ([str(real_dir), "-o", str(tmp_path / "y"), "--pairs", "3", "--frames", "2", "--workers", "1"], "exceeds"),
    ]:
        result = CliRunner().invoke(app, bad)
        assert result.exit_code == 1, result.output
        assert message in result.output


def test_track_follows_the_subject_as_extraction_finds_it(shared_data) -> None:
    """The simulator's landmarks come from the extraction's detect-then-track: on a real talking head
    they lie within a few pixels of per-frame full detection, and frames without a face are invalid."""
    from noisetrace.faces.mtcnn import MTCNN
    from noisetrace.faces.video import read_frames

    frames = np.stack(read_frames(shared_data / "real_videos" / "KwaiVGI__LivePortrait__s18.mp4", 12))
    frames[9] = 0  # a dropped frame: no face to find
    detector = MTCNN()
    track = track_faces(frames, detector, every=4, detect_side=400)
    assert track.valid.tolist() == [True] * 9 + [False] + [True] * 2
    reference = detector.detect(list(frames), proposal_max_side=400)
    for index in np.flatnonzero(track.valid):
        face = reference[index][0]
        error = np.abs(track.landmarks[index] - face.landmarks).max() / (face.box[2] - face.box[0])
        assert error < 0.05, (index, error)  # of the face's width (MTCNN's landmarks jitter by a few %)


