"""The shipped specs, validated on FF++ / DF-1.0 / Celeb-DF-shaped folder trees (links to real sample
videos) up to the point of training: every run and cell resolves, no cell leaks an identity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from noisetrace.cli.main import app
from noisetrace.core.errors import ConfigError
from noisetrace.datasets import build_joint_manifest
from noisetrace.models import DOMAINS
from noisetrace.protocols import identity_leaks, list_specs, load_spec, parse_spec, plan_grid

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceShifter", "FaceSwap", "NeuralTextures")
PEOPLE = 40  # FF++ ids 000–039 in couples, as FF++ pairs them
CELEBS = 20


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


@pytest.fixture(scope="module")
def dataset_roots(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    samples = shared_data / "samples"
    real, fake = samples / "ffpp_c23_original_000.mp4", samples / "ffpp_c23_Deepfakes_000_003.mp4"
    base = tmp_path_factory.mktemp("paper-trees")
    ffpp, dfo, celebdf = base / "FF++", base / "DF-1.0", base / "Celeb-DF-v2"
    for a in range(0, PEOPLE, 2):
        couple = (f"{a:03d}", f"{a + 1:03d}")
        for target, source in (couple, couple[::-1]):
            _link(real, ffpp / f"original_sequences/youtube/c23/videos/{target}.mp4")
            for method in FFPP_METHODS:
                _link(fake, ffpp / f"manipulated_sequences/{method}/c23/videos/{target}_{source}.mp4")
            _link(samples / "dfo_end_to_end_target000.mp4",
                  dfo / f"manipulated_videos/end_to_end/{target}_M{int(target) + 100:03d}.mp4")  # fmt: skip
    for a in range(0, CELEBS, 2):
        for target, source in ((a, a + 1), (a + 1, a)):
            for take in range(2):
                _link(real, celebdf / f"Celeb-real/id{target}_{take:04d}.mp4")
                _link(fake, celebdf / f"Celeb-synthesis/id{target}_id{source}_{take:04d}.mp4")
    for number in range(10):
        _link(real, celebdf / f"YouTube-real/{number:05d}.mp4")
    return {"ffpp": ffpp, "dfo": dfo, "celebdf": celebdf}


@pytest.fixture(scope="module")
def manifest(dataset_roots: dict[str, Path]):
    frame, _ = build_joint_manifest(list(dataset_roots.items()))
    return frame


def test_shipped_specs_are_the_papers_tables() -> None:
    assert list_specs() == ["paper-table1", "paper-table2"]
    table1, table2 = load_spec("paper-table1"), load_spec("paper-table2")
    assert (len(table1.rows), len(table1.columns)) == (14, 4)
    assert [(c.model, c.domain) for c in table1.columns] == [
        ("xception", "rgb"), ("xception", "srm"), ("xception_lstm", "rgb"), ("xception_lstm", "srm")
    ]  # fmt: skip
    assert table1.test_videos == 150 and table1.metric == "accuracy"
    assert (len(table2.rows), [c.seq_len for c in table2.columns]) == (7, [5, 10, 20, 40, 60])
    assert table2.row("ffpp-dfo-to-NT").train == ("DF", "F2F", "FSh", "FS", "DF-1.0")
    assert table2.row("celebdf-to-DF").paper[-1] == 77.00


@pytest.mark.parametrize(("name", "runs", "cells"), [("paper-table1", 32, 56), ("paper-table2", 10, 35)])
def test_paper_spec_plans_on_dataset_trees(manifest, name: str, runs: int, cells: int) -> None:
    spec = load_spec(name)
    plan = plan_grid(spec, manifest)
    assert (len(plan.runs), len(plan.cells)) == (runs, cells)
    for cell in plan.cells:
        assert set(cell.run.rows["split"]) == {"train", "val"}
        assert set(cell.run.rows["label"]) == {0, 1}
    # rows that train on the same sets share their runs; the key changes with the recipe
    if name == "paper-table1":
        by_row = {c.row.id: c.run.key for c in plan.cells if c.column.id == "xception-srm"}
        assert by_row["loo-DF-1.0"] == by_row["ffpp-to-Celeb-DF"]
        assert len({by_row[r] for r in by_row if r.startswith("celebdf-to-")}) == 1
        assert by_row["loo-DF"] != {c.row.id: c.run.key for c in plan.cells if c.column.id == "xception-rgb"}["loo-DF"]
        dfo_reals = plan.cells[0].run.rows
        assert not dfo_reals[(dfo_reals["dataset"] == "ffpp") & (dfo_reals["label"] == 0)].empty


def test_no_cell_of_table1_leaks_an_identity(manifest) -> None:
    from noisetrace.data import select_test_set

    plan = plan_grid(load_spec("paper-table1"), manifest)
    for cell in plan.cells:
        test = select_test_set(manifest, cell.test_spec)
        assert identity_leaks(cell.run.rows, test.rows)["identity"] == [], cell.id
        assert test.rows["uid"].isin(manifest.loc[manifest["split"] == "test", "uid"]).all()


def test_protocol_plan_command(dataset_roots: dict[str, Path], tmp_path: Path) -> None:
    args = ["protocol", "plan", "paper-table1", "-o", str(tmp_path / "grid")]
    args += [item for name, root in dataset_roots.items() for item in ("-d", f"{name}={root}")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "56 cells, 32 training runs" in result.output
    assert (tmp_path / "grid" / "manifest.parquet").is_file() and (tmp_path / "grid" / "spec.yaml").is_file()
    missing = CliRunner().invoke(app, [*args[:5], "-d", f"ffpp={dataset_roots['ffpp']}"])
    assert missing.exit_code == 1 and "--data dfo=ROOT --data celebdf=ROOT" in missing.output


def test_spec_errors_say_what_to_fix(manifest) -> None:
    good = yaml.safe_load((Path(__file__).parents[2] / "src/noisetrace/protocols/specs/paper-table1.yaml").read_text())
    cases = [
        ({"rows": [{"train": ["DF"], "test": "DeepFake"}]}, "unknown set"),
        ({"rows": [{"train": ["DF"], "test": "F2F", "paper": [1.0]}]}, "1 values for 4 columns"),
        ({"metric": "f1"}, "metric must be one of"),
        ({"datasets": ["ffpp"]}, "does not list"),
        ({"columns": [{"id": "a", "recipe": "paper-image", "model": "xception", "domain": "hsv"}]}, "rgb or srm"),
        ({"colums": []}, "unknown key"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigError, match=message):
            parse_spec({**good, **change})
    # a column takes every domain a detector has (noisetrace.models.DOMAINS), fusion included
    columns = [{"id": d, "recipe": "paper-image", "model": "xception", "domain": d} for d in DOMAINS]
    fused = parse_spec({**good, "columns": columns, "rows": [{"train": ["DF"], "test": "F2F"}]})
    assert [c.domain for c in fused.columns] == list(DOMAINS)
    typo = parse_spec({**good, "sets": {**good["sets"], "DF": {"dataset": "ffpp", "method": "Deepfake"}}})
    with pytest.raises(ConfigError, match="no fake videos of ffpp/Deepfake"):
        plan_grid(typo, manifest)
    unknown_model = parse_spec({**good, "columns": [{"id": "a", "recipe": "paper-image", "model": "vit"}],
                                "rows": [{"train": ["DF"], "test": "F2F"}]})  # fmt: skip
    with pytest.raises(ConfigError, match="unknown detector 'vit'"):
        plan_grid(unknown_model, manifest)


def test_an_output_folder_keeps_its_split(dataset_roots: dict[str, Path], tmp_path: Path) -> None:
    args = ["protocol", "plan", "paper-table1", "-o", str(tmp_path / "grid")]
    args += [item for name, root in dataset_roots.items() for item in ("-d", f"{name}={root}")]
    assert CliRunner().invoke(app, args).exit_code == 0
    spec = yaml.safe_load((Path(__file__).parents[2] / "src/noisetrace/protocols/specs/paper-table1.yaml").read_text())
    spec["split"]["seed"] = 1
    other = tmp_path / "other-seed.yaml"
    other.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, [args[0], args[1], str(other), *args[3:]])
    assert result.exit_code == 1 and "use a new output folder" in result.output
