"""A small simulated benchmark, built once per test session, on which whole grids run.

Two datasets made by ``noisetrace synth`` from real talking-face videos of ../shared/data, as the
paper's Table 1 needs a second dataset family besides FF++: ``ffpp`` (8 people, all five simulated
methods) and ``folder`` (8 other people, ``swap`` and ``selfblend``, laid out as a plain
``real/`` + ``fake/<method>/`` tree with an ``identities.csv`` naming target and donor). Faces are
extracted once into a shared cache; every grid in these tests reuses it.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from noisetrace.core.manifest import write_manifest
from noisetrace.datasets import build_joint_manifest
from noisetrace.faces.extract import ExtractSettings, extract_manifest
from noisetrace.protocols.spec import read_spec_text
from noisetrace.synth import build_benchmark

FRAMES = 12
PEOPLE_A = (  # eight different people, 256² clips
    "AliaksandrSiarohin__first-order-model__demo_old_00.mp4",
    "AliaksandrSiarohin__first-order-model__demo_old_04.mp4",
    "AliaksandrSiarohin__first-order-model__demo_old_08.mp4",
    "AliaksandrSiarohin__first-order-model__demo_old_10.mp4",
    "Weizhi-Zhong__IP_LAP__129.mp4",
    "ali-vilab__dreamtalk__M030_front_neutral_level1_001.mp4",
    "ali-vilab__dreamtalk__W009_front_neutral_level1_001.mp4",
    "ali-vilab__dreamtalk__W011_front_neutral_level1_001.mp4",
)
PEOPLE_B = (  # eight other people
    "sadtalker_RD_Radio2_000.mp4",
    "sadtalker_RD_Radio34_000.mp4",
    "sadtalker_WDA_AlexandriaOcasioCortez_000.mp4",
    "sadtalker_WDA_BobMenendez_000.mp4",
    "sadtalker_WDA_EdMarkey0_000.mp4",
    "sadtalker_WDA_KatieHill_000.mp4",
    "iperov__DeepFaceLive__Obama_speaking.mp4",
    "Zejun-Yang__AniPortrait__pose_ref_video.mp4",
)
# The simulator's methods standing in for the paper's sets.
STAND_INS = {
    "DF": {"dataset": "ffpp", "method": "swap"},
    "F2F": {"dataset": "ffpp", "method": "reenact"},
    "FSh": {"dataset": "ffpp", "method": "selfblend"},
    "FS": {"dataset": "ffpp", "method": "resample"},
    "NT": {"dataset": "ffpp", "method": "flicker"},
    "DF-1.0": {"dataset": "folder", "method": "swap"},
    "Celeb-DF": {"dataset": "folder", "method": "selfblend"},
}
# Tiny detectors on tiny crops: the grid's plumbing is under test here, not accuracy.
TINY = [
    "model.backbone=test_resnet",
    "model.pretrained=null",
    "data.image_size=32",
    "data.batch_size=16",
    "data.num_workers=0",
    "optim.lr=0.003",
    "optim.frozen_epochs=0",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "checkpoint.every_n_steps=0",
]


def _links(folder: Path, shared_data: Path, names: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).symlink_to(shared_data / "real_videos" / name)
    return folder


def folder_view(bench: Path, root: Path) -> Path:
    """The FF++-layout benchmark ``bench`` as a ``folder`` dataset (links + identities.csv)."""
    rows = []
    (root / "real").mkdir(parents=True)
    for video in sorted((bench / "original_sequences/youtube/c23/videos").glob("*.mp4")):
        (root / "real" / video.name).symlink_to(video.resolve())
        rows.append((f"real/{video.name}", video.stem, ""))
    for method_dir in sorted((bench / "manipulated_sequences").iterdir()):
        (root / "fake" / method_dir.name).mkdir(parents=True)
        for video in sorted((method_dir / "c23/videos").glob("*.mp4")):
            (root / "fake" / method_dir.name / video.name).symlink_to(video.resolve())
            target, source = video.stem.split("_")
            rows.append((f"fake/{method_dir.name}/{video.name}", target, source))
    with (root / "identities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "identity", "source_id"])
        writer.writerows(rows)
    return root


@pytest.fixture(scope="session")
def grid_data(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"ffpp": root, "folder": root, "cache": face cache}`` with every video's faces extracted."""
    base = tmp_path_factory.mktemp("grid-data")
    bench_a = base / "bench-a"
    build_benchmark(_links(base / "real-a", shared_data, PEOPLE_A), bench_a, frames=FRAMES, seed=1, workers=1)
    bench_b = base / "bench-b"
    build_benchmark(
        _links(base / "real-b", shared_data, PEOPLE_B), bench_b, ["swap", "selfblend"], frames=FRAMES, seed=2,
        workers=1,
    )  # fmt: skip
    folder = folder_view(bench_b, base / "folder-b")
    manifest, _ = build_joint_manifest([("ffpp", bench_a), ("folder", folder)])
    write_manifest(manifest, base / "all.csv")
    cache = base / "faces"
    results = extract_manifest(manifest, cache, ExtractSettings(frames=FRAMES))
    assert all(r.status == "ok" for r in results), [(r.uid, r.status, r.message) for r in results if r.status != "ok"]
    return {"ffpp": bench_a, "folder": folder, "cache": cache}


def stand_in_spec(name: str, rows: list[str] | None = None, columns: list[str] | None = None) -> dict[str, Any]:
    """A shipped spec with the simulator's methods standing in for the paper's sets, tiny overrides,
    and the split fractions a benchmark of 8 + 8 people needs; optionally a subset of rows/columns."""
    spec = copy.deepcopy(yaml.safe_load(read_spec_text(name)[0]))
    spec["datasets"] = ["ffpp", "folder"]
    spec["sets"] = STAND_INS
    spec["split"] = {"scheme": "paper", "seed": 0, "fractions": {"train": 0.5, "val": 0.25, "test": 0.25}}
    spec["overrides"] = TINY
    if rows is not None:
        spec["rows"] = [r for r in spec["rows"] if r["id"] in rows]
    if columns is not None:
        keep = [i for i, c in enumerate(spec["columns"]) if c["id"] in columns]
        spec["columns"] = [spec["columns"][i] for i in keep]
        for row in spec["rows"]:
            row["paper"] = [row["paper"][i] for i in keep]
    return spec


def write_spec(spec: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def spec_file(tmp_path_factory: pytest.TempPathFactory):
    """``spec_file(name, rows=None, columns=None)`` → path of a stand-in spec (see :func:`stand_in_spec`)."""
    folder = tmp_path_factory.mktemp("specs")

    def make(name: str, rows: list[str] | None = None, columns: list[str] | None = None) -> Path:
        spec = stand_in_spec(name, rows, columns)
        return write_spec(spec, folder / f"{name}-{len(spec['rows'])}x{len(spec['columns'])}.yaml")

    return make
