"""Indexers on dataset trees built from ../shared/data/samples with symlinks in a temp dir."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

from noisetrace.core.errors import ConfigError, DatasetLayoutError
from noisetrace.core.manifest import MANIFEST_COLUMNS, make_uid, validate_manifest
from noisetrace.datasets import LayoutWarning, build_joint_manifest, build_manifest, index_dataset
from noisetrace.datasets.celebdf import read_test_list
from noisetrace.datasets.splits import load_ffpp_official

PAIRS = [("000", "003"), ("001", "002"), ("004", "005"), ("006", "007"), ("008", "009")]


@pytest.fixture(scope="module")
def samples(shared_data: Path) -> Path:
    return shared_data / "samples"


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def make_ffpp(root: Path, samples: Path) -> Path:
    """10 youtube ids in 5 a_b/b_a pairs (Deepfakes, Face2Face), an empty FaceShifter, a little DFD."""
    real, fake = samples / "ffpp_c23_original_000.mp4", samples / "ffpp_c23_Deepfakes_000_003.mp4"
    for a, b in PAIRS:
        for i in (a, b):
            _link(real, root / f"original_sequences/youtube/c23/videos/{i}.mp4")
        for method in ("Deepfakes", "Face2Face"):
            for t, s in ((a, b), (b, a)):
                _link(fake, root / f"manipulated_sequences/{method}/c23/videos/{t}_{s}.mp4")
    (root / "manipulated_sequences/FaceShifter/c23/videos").mkdir(parents=True)
    _link(real, root / "original_sequences/actors/c23/videos/01__kitchen_pan.mp4")
    _link(fake, root / "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__kitchen_pan__ABCD1234.mp4")
    return root


def make_dfo(root: Path, samples: Path) -> Path:
    for name in ("000_W017", "004_M004", "006_M004"):
        _link(samples / "dfo_end_to_end_target000.mp4", root / f"manipulated_videos/end_to_end/{name}.mp4")
    return root


def make_dfdc(root: Path, samples: Path) -> Path:
    part = root / "dfdc_train_part_0"
    _link(samples / "dfdc_train_part_0/metadata.json", part / "metadata.json")
    _link(samples / "dfdc_train_part_0/brtujopkby.mp4", part / "brtujopkby.mp4")
    _link(samples / "ffpp_c23_original_000.mp4", part / "notlisted.mp4")
    return root


def _one(frame, **where):
    match = frame
    for column, value in where.items():
        match = match[match[column] == value]
    assert len(match) == 1, where
    return match.iloc[0]


def test_ffpp_methods_labels_and_ids(tmp_path: Path, samples: Path) -> None:
    root = make_ffpp(tmp_path / "ff", samples)
    # a method of the same shape but another name, as `noisetrace synth` writes them
    _link(
        samples / "ffpp_c23_Deepfakes_000_003.mp4",
        root / "manipulated_sequences/blend/c23/videos/000_003.mp4",
    )
    with pytest.warns(LayoutWarning, match="FaceShifter"):
        frame = index_dataset("ffpp", root)
    assert list(frame.columns) == list(MANIFEST_COLUMNS)
    assert len(frame) == 10 + 20 + 1 + 1 + 1
    assert _one(frame, method="blend")["source_id"] == "003"
    fake = _one(frame, video_id="000_003", method="Deepfakes")
    assert (fake["label"], fake["target_id"], fake["source_id"], fake["identity"]) == (1, "000", "003", "000")
    assert fake["uid"] == make_uid("ffpp", "c23", "Deepfakes", "000_003") and fake["compression"] == "c23"
    assert Path(fake["path"]).is_absolute() and Path(fake["path"]).is_file()
    real = _one(frame, video_id="003")
    assert (real["method"], real["label"], real["identity"], real["source_id"]) == ("original", 0, "003", "")
    dfd = _one(frame, method="DeepFakeDetection")
    assert (dfd["target_id"], dfd["source_id"]) == ("01", "02")
    assert _one(frame, video_id="01__kitchen_pan")["identity"] == "01"


def test_ffpp_actors_are_deepfakedetection_reals_not_ffpp_originals(tmp_path: Path, samples: Path) -> None:
    from noisetrace.data import TestSetSpec, select_test_set

    root = make_ffpp(tmp_path / "ff", samples)
    with pytest.warns(LayoutWarning):
        frame = index_dataset("ffpp", root)
    actor = _one(frame, video_id="01__kitchen_pan")
    assert (actor["method"], actor["label"], actor["identity"]) == ("actors", 0, "01")
    assert actor["uid"] == make_uid("ffpp", "c23", "actors", "01__kitchen_pan")
    originals = frame[frame["method"] == "original"]
    assert sorted(originals["video_id"]) == sorted(i for pair in PAIRS for i in pair)  # the youtube ids only
    # every video a test set can draw as an FF++ real is a youtube original
    every_test = TestSetSpec(fakes=(("ffpp", "Deepfakes"),), n=None)
    reals = select_test_set(frame.assign(split="test"), every_test).rows.query("label == 0")
    assert len(reals) == 10 and not reals["video_id"].str.contains("__").any()
    # asked for explicitly, they join FF++'s reals
    with pytest.warns(LayoutWarning):
        asked = index_dataset("ffpp", root, ffpp_actors_as_reals=True)
    assert _one(asked, video_id="01__kitchen_pan")["method"] == "original"
    assert "01__kitchen_pan" in set(select_test_set(asked.assign(split="test"), every_test).rows["video_id"])
    with pytest.warns(LayoutWarning):
        manifest, _ = build_joint_manifest([("ffpp", root)], ffpp_actors_as_reals=True)
    assert _one(manifest, video_id="01__kitchen_pan")["method"] == "original"


def test_ffpp_compression_filter_and_errors(tmp_path: Path, samples: Path) -> None:
    root = make_ffpp(tmp_path / "ff", samples)
    with pytest.raises(DatasetLayoutError, match=r"original_sequences/youtube/<c40>/videos"):
        index_dataset("ffpp", root, compressions=["c40"])
    with pytest.raises(ConfigError, match="c99"):
        index_dataset("ffpp", root, compressions=["c99"])
    shutil.rmtree(root / "manipulated_sequences")
    with pytest.raises(DatasetLayoutError, match="manipulated_sequences") as error:
        index_dataset("ffpp", root)
    assert str(root) in str(error.value)
    with pytest.raises(DatasetLayoutError, match="FF\\+\\+ root not found") as error:
        index_dataset("ffpp", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(error.value)


def test_dfo_fakes_and_their_ffpp_reals(tmp_path: Path, samples: Path) -> None:
    ffpp_root, dfo_root = make_ffpp(tmp_path / "ff", samples), make_dfo(tmp_path / "dfo", samples)
    frame = index_dataset("dfo", dfo_root, real_root=ffpp_root)
    fake = _one(frame, video_id="004_M004")
    assert (fake["dataset"], fake["method"], fake["label"]) == ("dfo", "end_to_end", 1)
    assert (fake["target_id"], fake["source_id"], fake["identity"]) == ("004", "M004", "004")
    reals = frame[frame["label"] == 0]
    assert sorted(reals["video_id"]) == ["000", "004", "006"]  # only the targets DF-1.0 uses
    assert set(reals["dataset"]) == {"ffpp"} and set(reals["compression"]) == {"c23"}
    with pytest.raises(DatasetLayoutError, match="manipulated_videos"):
        index_dataset("dfo", ffpp_root)


def test_dfdc_uses_the_real_metadata(tmp_path: Path, samples: Path) -> None:
    root = make_dfdc(tmp_path / "dfdc", samples)
    with pytest.warns(LayoutWarning) as caught:
        frame = index_dataset("dfdc", root)
    messages = " ".join(str(w.message) for w in caught)
    assert "awnfpubqmo.mp4" in messages and "notlisted.mp4" in messages
    row = _one(frame, video_id="brtujopkby")
    assert (row["method"], row["label"], row["target_id"], row["source_id"]) == ("DFDC", 1, "gnmmhlbzge", "")
    assert len(frame) == 1
    with pytest.warns(LayoutWarning):  # a part folder given directly works too
        assert len(index_dataset("dfdc", root / "dfdc_train_part_0")) == 1
    (root / "dfdc_train_part_0" / "metadata.json").unlink()
    with pytest.raises(DatasetLayoutError, match=r"metadata\.json"):
        index_dataset("dfdc", root)


def test_celebdf_target_donor_and_youtube_identities(tmp_path: Path, samples: Path) -> None:
    video = samples / "ffpp_c23_original_000.mp4"
    for name in (
        "Celeb-real/id0_0000.mp4",
        "Celeb-real/id1_0000.mp4",
        "Celeb-synthesis/id0_id1_0000.mp4",
        "YouTube-real/00007.mp4",
    ):
        _link(video, tmp_path / name)
    (tmp_path / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00007.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n"
    )
    frame = index_dataset("celebdf", tmp_path, celebdf_youtube_real=True)
    fake = _one(frame, video_id="id0_id1_0000")
    assert (fake["method"], fake["label"], fake["target_id"], fake["source_id"]) == (
        "Celeb-DF",
        1,
        "id0",
        "id1",
    )
    assert _one(frame, video_id="00007")["identity"] == "yt_00007"
    assert read_test_list(tmp_path) == {"YouTube-real/00007.mp4": 0, "Celeb-synthesis/id0_id1_0000.mp4": 1}
    manifest, _ = build_manifest(tmp_path, "celebdf", split="official", celebdf_youtube_real=True)
    assert set(manifest.loc[manifest["split"] == "test", "video_id"]) == {"00007", "id0_id1_0000"}
    shutil.rmtree(tmp_path / "Celeb-synthesis")
    with pytest.raises(DatasetLayoutError, match="Celeb-synthesis"):
        index_dataset("celebdf", tmp_path)


def test_celebdf_reals_are_celeb_real_only_by_default(tmp_path: Path, samples: Path) -> None:
    """The paper's 590 Celeb-DF reals are Celeb-real; YouTube-real joins only when asked."""
    video = samples / "ffpp_c23_original_000.mp4"
    for name in ("Celeb-real/id0_0000.mp4", "Celeb-real/id1_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4",
                 "Celeb-synthesis/id1_id0_0000.mp4", "YouTube-real/00007.mp4"):  # fmt: skip
        _link(video, tmp_path / name)
    (tmp_path / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00007.mp4\n1 Celeb-real/id1_0000.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n"
    )
    frame = index_dataset("celebdf", tmp_path)
    reals = frame[frame["label"] == 0]
    assert sorted(reals["video_id"]) == ["id0_0000", "id1_0000"]
    assert not frame["path"].str.contains("YouTube-real").any()
    assert read_test_list(tmp_path, youtube_real=False) == {
        "Celeb-real/id1_0000.mp4": 0,
        "Celeb-synthesis/id0_id1_0000.mp4": 1,
    }
    # the official split does not miss the YouTube-real test videos it was told to leave out
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        manifest, _ = build_manifest(tmp_path, "celebdf", split="official")
    assert set(manifest.loc[manifest["split"] == "test", "video_id"]) == {"id1_0000", "id0_id1_0000"}
    asked = index_dataset("celebdf", tmp_path, celebdf_youtube_real=True)
    assert sorted(asked.loc[asked["label"] == 0, "video_id"]) == ["00007", "id0_0000", "id1_0000"]


def test_folder_layout_with_identities_csv(tmp_path: Path, samples: Path) -> None:
    video = samples / "ffpp_c23_original_000.mp4"
    for name in ("real/alice_1.mp4", "real/bob_1.mp4", "fake/blend/alice_bob.mp4"):
        _link(video, tmp_path / name)
    (tmp_path / "identities.csv").write_text(
        "file,identity,source_id\nfake/blend/alice_bob.mp4,alice,bob\n"
        "real/alice_1.mp4,alice,\nreal/bob_1.mp4,bob,\n"
    )
    frame = index_dataset("folder", tmp_path)
    fake = _one(frame, method="blend")
    assert (fake["label"], fake["identity"], fake["source_id"]) == (1, "alice", "bob")
    assert _one(frame, video_id="bob_1")["identity"] == "bob"
    _link(video, tmp_path / "fake/loose.mp4")
    with pytest.raises(DatasetLayoutError, match="fake/<method>"):
        index_dataset("folder", tmp_path)


def test_joint_ffpp_and_dfo_index_splits_one_identity_into_one_split(tmp_path: Path, samples: Path) -> None:
    ffpp_root, dfo_root = make_ffpp(tmp_path / "ff", samples), make_dfo(tmp_path / "dfo", samples)
    with pytest.warns(LayoutWarning):
        manifest, report = build_joint_manifest(
            [("ffpp", ffpp_root), ("dfo", dfo_root)], seed=5, real_root=ffpp_root
        )
    validate_manifest(manifest)
    assert manifest["uid"].is_unique and len(manifest) == 32 + 3  # DF-1.0's reals are FF++'s, once
    youtube = manifest[~manifest["video_id"].str.contains("__")]
    assert (youtube.groupby("target_id")["split"].nunique() == 1).all()
    for a, b in PAIRS:
        assert (
            manifest.loc[manifest["target_id"] == a, "split"].iloc[0]
            == manifest.loc[manifest["target_id"] == b, "split"].iloc[0]
        )
    assert report.seed == 5 and [s["dataset"] for s in report.sources][:2] == ["ffpp", "dfo"]


def test_official_split_of_an_index(tmp_path: Path, samples: Path) -> None:
    root = make_ffpp(tmp_path / "ff", samples)
    with pytest.warns(LayoutWarning) as caught:
        manifest, report = build_manifest(root, "ffpp", split="official")
    assert any("DeepFakeDetection video(s) have no official split" in str(w.message) for w in caught)
    assert set(manifest.loc[manifest["video_id"].str.contains("__"), "split"]) == {""}
    official = load_ffpp_official()
    youtube = manifest[~manifest["video_id"].str.contains("__")]
    assert (youtube["target_id"].map(official) == youtube["split"]).all()
    assert report.scheme == "official"


def test_dispatch_errors(tmp_path: Path, samples: Path) -> None:
    dfdc = make_dfdc(tmp_path / "dfdc", samples)
    with pytest.raises(ConfigError, match="--split paper"):
        build_manifest(dfdc, "dfdc", split="official")
    with pytest.raises(ConfigError, match="unknown dataset"):
        build_manifest(dfdc, "ffqq")
    with pytest.raises(ConfigError, match="real-root"):
        build_manifest(dfdc, "dfdc", real_root=dfdc)
    copy = make_dfdc(tmp_path / "copy", samples)
    with pytest.raises(DatasetLayoutError, match="found twice"), pytest.warns(LayoutWarning):
        build_joint_manifest([("dfdc", dfdc), ("dfdc", copy)])


def test_the_real_celebdf_test_list_parses(tmp_path: Path, shared_data: Path) -> None:
    _link(
        shared_data / "splits" / "CelebDF-v2_List_of_testing_videos.txt",
        tmp_path / "List_of_testing_videos.txt",
    )
    listed = read_test_list(tmp_path)
    assert len(listed) == 518 and listed["YouTube-real/00170.mp4"] == 0  # '1' in the file means real
    folders = {name.split("/")[0]: label for name, label in listed.items()}
    assert folders == {"YouTube-real": 0, "Celeb-real": 0, "Celeb-synthesis": 1}


def test_entries_named_like_videos_that_are_not_files_are_skipped_with_a_warning(tmp_path: Path, samples: Path) -> None:
    """Issue 12, item 4: a broken symbolic link and a folder named ``x.mp4`` are not dropped silently."""
    _link(samples / "ffpp_c23_original_000.mp4", tmp_path / "real/kept.mp4")
    _link(tmp_path / "moved-away.mp4", tmp_path / "real/gone.mp4")  # its target does not exist
    (tmp_path / "real/x.mp4").mkdir()
    _link(samples / "ffpp_c23_Deepfakes_000_003.mp4", tmp_path / "fake/blend/f.mp4")
    with pytest.warns(LayoutWarning) as caught:
        frame = index_dataset("folder", tmp_path)
    assert list(frame["video_id"]) == ["kept", "f"]
    (message,) = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert message == (
        f"skipped 2 item(s) in {tmp_path / 'real'} named like videos that are not video files: "
        f"gone.mp4 (a broken symbolic link to {tmp_path / 'moved-away.mp4'}, which does not exist); "
        "x.mp4 (a folder, not a file)"
    )
