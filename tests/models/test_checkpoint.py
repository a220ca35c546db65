"""Hand-edited checkpoint descriptions (issue 12, item 6): a bad field is a CheckpointError, never a
TypeError or ValueError traceback, and an edited architecture is caught by ``model_sha256``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from noisetrace.core.errors import CheckpointError
from noisetrace.models import create_detector
from noisetrace.models.checkpoint import (
    FRAME_FEATURE_PREFIXES,
    checkpoint_input,
    checkpoint_seq_len,
    init_from_checkpoint,
    input_description,
    load_checkpoint,
    model_sha256,
    read_checkpoint_info,
    save_checkpoint,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frame model in the RGB domain, saved as ``noisetrace train`` saves one; returns its JSON."""
    model = create_detector("xception", domain="rgb", backbone="test_resnet", pretrained=None).eval()
    folder = tmp_path_factory.mktemp("checkpoint")
    return save_checkpoint(model, folder / "best", {"input": input_description(model, 32, None)})


def edited(saved: Path, tmp_path: Path, edit) -> Path:
    """A copy of the checkpoint whose JSON went through ``edit(info)``."""
    info = json.loads(saved.read_text())
    edit(info)
    (tmp_path / "best.safetensors").write_bytes(saved.with_suffix(".safetensors").read_bytes())
    target = tmp_path / "best.json"
    target.write_text(json.dumps(info))
    return target


def set_key(path: str, value: Any):
    def edit(info: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        for parent in parents:
            info = info[parent]
        info[key] = value

    return edit


def test_the_architecture_hash_is_saved_and_checked(saved: Path) -> None:
    info = json.loads(saved.read_text())
    assert info["model_sha256"] == model_sha256(info["model"])
    # the canonical JSON: key order and spacing do not matter
    assert model_sha256(dict(reversed(list(info["model"].items())))) == info["model_sha256"]
    model, loaded = load_checkpoint(saved)
    assert model.domain == "rgb" and loaded["model_sha256"] == info["model_sha256"]


def test_a_domain_edited_from_rgb_to_srm_is_refused(saved: Path, tmp_path: Path) -> None:
    """The weights of an RGB model load as well into an SRM one: only the hash can tell."""
    path = edited(saved, tmp_path, set_key("model.domain", "srm"))
    with pytest.raises(CheckpointError, match=r"architecture description \('model'\) was edited"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="was edited"):
        read_checkpoint_info(path)


def test_a_description_without_the_hash_still_loads(saved: Path, tmp_path: Path) -> None:
    """Older checkpoints (and copies whose hash was removed) are accepted, as before."""
    path = edited(saved, tmp_path, lambda info: info.pop("model_sha256"))
    assert load_checkpoint(path)[0].domain == "rgb"


def test_new_weights_beside_a_copied_description_keep_its_hash_valid(saved: Path, tmp_path: Path) -> None:
    """How the shipped model is made: a best.json copied, only weights and weights_sha256 replaced."""
    import hashlib

    other = create_detector("xception", domain="rgb", backbone="test_resnet", pretrained=None)
    torch.manual_seed(1)
    other_path = save_checkpoint(other, tmp_path / "other", {})
    weights = other_path.with_suffix(".safetensors")
    info = json.loads(saved.read_text())
    info.update(weights=weights.name, weights_sha256=hashlib.sha256(weights.read_bytes()).hexdigest())
    copied = tmp_path / "copied.json"
    copied.write_text(json.dumps(info))
    assert load_checkpoint(copied)[1]["model_sha256"] == model_sha256(info["model"])


@pytest.mark.parametrize("version", ["1", 1.5, None, True, [1], -1])
def test_a_format_version_that_is_not_a_whole_number_is_a_checkpoint_error(saved, tmp_path, version) -> None:
    path = edited(saved, tmp_path, set_key("format_version", version))
    with pytest.raises(CheckpointError, match="'format_version' must be a whole number"):
        read_checkpoint_info(path)


@pytest.mark.parametrize("size", ["big", -5, 0, 2.5, 10**9, True, [224]])
def test_an_image_size_that_is_not_a_size_is_a_checkpoint_error(saved, tmp_path, size) -> None:
    path = edited(saved, tmp_path, set_key("input.image_size", size))
    info = read_checkpoint_info(path)
    with pytest.raises(CheckpointError, match="'image_size' must be a whole number from 8 to 4096"):
        checkpoint_input(info, False, path)


def test_an_integral_float_image_size_is_read_as_the_integer(saved, tmp_path) -> None:
    path = edited(saved, tmp_path, set_key("input.image_size", 32.0))
    assert checkpoint_input(read_checkpoint_info(path), False, path) == (32, None)


@pytest.mark.parametrize("seq_len", ["ten", -3, 0])
def test_a_bad_sequence_length_is_a_checkpoint_error(tmp_path, seq_len) -> None:
    model = create_detector("xception_lstm", domain="rgb", backbone="test_resnet", pretrained=None, lstm_hidden=8)
    path = save_checkpoint(model, tmp_path / "seq", {"input": input_description(model, 32, 4)})
    assert checkpoint_seq_len(path) == 4
    info = json.loads(path.read_text())
    info["input"]["seq_len"] = seq_len
    path.write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="'seq_len' must be a whole number"):
        checkpoint_seq_len(path)


def test_a_sequence_model_starts_from_a_frame_detectors_trunk(saved: Path) -> None:
    """``model.init_from``: the trunk and input stage are copied, the LSTM head stays as built."""
    frame_model, _ = load_checkpoint(saved)
    sequence = create_detector("xception_lstm", domain="rgb", backbone="test_resnet", pretrained=None)
    lstm_before = {k: v.clone() for k, v in sequence.state_dict().items() if k.startswith("head.")}
    record = init_from_checkpoint(sequence, saved)
    assert record["tensors"] == len([k for k in frame_model.state_dict() if k.startswith(FRAME_FEATURE_PREFIXES)])
    assert sequence.initialized_from == record
    theirs = frame_model.state_dict()
    for key, value in sequence.state_dict().items():
        if key.startswith(FRAME_FEATURE_PREFIXES):
            assert torch.equal(value, theirs[key]), key
        else:
            assert torch.equal(value, lstm_before[key]), key


def test_a_trunk_of_another_domain_or_backbone_is_refused(saved: Path) -> None:
    for domain, backbone in (("srm", "test_resnet"), ("rgb", "resnet10t")):
        other = create_detector("xception_lstm", domain=domain, backbone=backbone, pretrained=None)
        before = {k: v.clone() for k, v in other.state_dict().items()}
        with pytest.raises(CheckpointError, match="cannot start this model"):
            init_from_checkpoint(other, saved)
        assert all(torch.equal(v, before[k]) for k, v in other.state_dict().items()), "nothing loaded partially"


def test_the_shipped_detector_can_start_the_paper_sequence_model() -> None:
    """What ``-c wild model.name=xception_lstm model.init_from=shipped`` does."""
    from noisetrace.pretrained import shipped_checkpoint

    shipped, _ = load_checkpoint(shipped_checkpoint())
    sequence = create_detector("xception_lstm", domain="fusion", backbone="resnet18", pretrained=None)
    init_from_checkpoint(sequence, shipped_checkpoint())
    frames = torch.rand(2, 3, 3, 96, 96)
    with torch.inference_mode():
        ours = sequence.eval().frame_features(frames.flatten(0, 1))
        theirs = shipped.frame_features(frames.flatten(0, 1))
    assert torch.allclose(ours, theirs, atol=1e-5)
