"""The identity checks of ``plan_grid`` on a hand-made FF++ + DF-1.0 manifest (no media needed):
donor faces that are people of the other side stop the grid, as docs/protocols.md says, and the
DF-1.0 actors swapped into both training and test fakes are reported per cell."""

from __future__ import annotations

import pandas as pd
import pytest

from noisetrace.core.errors import ConfigError
from noisetrace.core.manifest import make_uid, validate_manifest
from noisetrace.protocols import parse_spec, plan_grid
from noisetrace.protocols.plan import dfo_actor_overlap, leak_report

# FF++ couples by split; each couple is swapped both ways, as FF++ pairs them
SPLITS = {("000", "001"): "train", ("002", "003"): "train", ("004", "005"): "val", ("006", "007"): "test"}
# DF-1.0 fakes: (target, actor). W001 donates to a training video and to a test video
DFO = [("000", "W001"), ("002", "W002"), ("004", "W003"), ("006", "W001"), ("007", "W004")]

SPEC = {
    "name": "leaks",
    "datasets": ["ffpp", "dfo"],
    "sets": {"DF": {"dataset": "ffpp", "method": "Deepfakes"}, "DF-1.0": {"dataset": "dfo", "method": "end_to_end",
                                                                          "reals": "ffpp"}},
    "columns": [{"id": "rgb", "recipe": "paper-image", "model": "xception"}],
    "rows": [{"id": "in-domain", "train": ["DF", "DF-1.0"], "test": ["DF", "DF-1.0"], "balanced": False}],
}  # fmt: skip


def _row(dataset: str, method: str, video_id: str, target: str, source: str, split: str) -> dict:
    return {
        "uid": make_uid(dataset, "c23", method, video_id),
        "dataset": dataset,
        "method": method,
        "label": 0 if method == "original" else 1,
        "video_id": video_id,
        "target_id": target,
        "source_id": source,
        "identity": target,
        "compression": "c23",
        "split": split,
        "path": f"/videos/{dataset}/{method}/{video_id}.mp4",
    }


def _manifest(extra: list[dict] | None = None) -> pd.DataFrame:
    split_of = {person: split for couple, split in SPLITS.items() for person in couple}
    rows = []
    for (a, b), split in SPLITS.items():
        rows += [_row("ffpp", "original", i, i, "", split) for i in (a, b)]
        rows += [_row("ffpp", "Deepfakes", f"{t}_{s}", t, s, split) for t, s in ((a, b), (b, a))]
    rows += [_row("dfo", "end_to_end", f"{t}_{actor}", t, actor, split_of[t]) for t, actor in DFO]
    return validate_manifest(pd.DataFrame(rows + (extra or [])))


def test_dfo_actors_on_both_sides_are_reported_per_cell() -> None:
    plan = plan_grid(parse_spec(SPEC), _manifest())
    (cell,) = plan.cells
    assert cell.leaks["identity"] == cell.leaks["donor_in_test"] == cell.leaks["donor_in_train"] == []
    # two DF-1.0 test fakes (targets 006, 007); W001's face is also in a training fake
    assert cell.leaks["dfo_actors"] == {"actors": ["dfo-actor:W001"], "test_fakes": 2, "leaked": 1, "rate": 0.5}
    assert cell.leaks == leak_report(cell.run.rows, cell.test.rows)
    no_dfo = dfo_actor_overlap(cell.run.rows, cell.test.rows[cell.test.rows["dataset"] != "dfo"])
    assert no_dfo == {"actors": [], "test_fakes": 0, "leaked": 0, "rate": None}


def test_a_donor_face_that_is_a_person_of_the_other_side_stops_the_grid() -> None:
    # a test fake of 006 wearing the face of 000, a training person
    leaking = _row("ffpp", "Deepfakes", "006_000", "006", "000", "test")
    with pytest.raises(ConfigError, match=r"row 'in-domain' would test on faces it trained on.*ffpp:000"):
        plan_grid(parse_spec(SPEC), _manifest([leaking]))
    # and the other way round: a training fake of 000 wearing the face of 007, a test person
    leaking = _row("ffpp", "Deepfakes", "000_007", "000", "007", "train")
    with pytest.raises(ConfigError, match=r"donor faces of training fakes that are people of its test.*ffpp:007"):
        plan_grid(parse_spec(SPEC), _manifest([leaking]))


def test_a_shared_identity_still_stops_the_grid() -> None:
    shared = _row("ffpp", "original", "006_b", "000", "", "test")  # another video of 000, in test
    with pytest.raises(ConfigError, match=r"identities \['ffpp:000'\]"):
        plan_grid(parse_spec(SPEC), _manifest([shared]))
