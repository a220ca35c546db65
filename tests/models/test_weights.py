"""Offline weights: timm and Cadene files load to identical models, the local caches are searched,
and every failure says what to do."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest
import timm
import torch
from safetensors.torch import save_file

from noisetrace.core.errors import CheckpointError, MissingWeightsError
from noisetrace.models import create_detector, find_local_weights, load_backbone_weights

# Key names of Cadene's pretrainedmodels Xception (pretrainedmodels/models/xception.py): its Block puts
# (ReLU, SeparableConv2d, BatchNorm2d) triplets in ``rep``, the first ReLU dropped in block1, and the
# 1000-class classifier is ``fc``.
CADENE_KEYS = [
    "conv1.weight",
    "bn1.running_var",
    "conv2.weight",
    "block1.rep.0.conv1.weight",
    "block1.rep.0.pointwise.weight",
    "block1.rep.1.weight",
    "block1.skip.weight",
    "block1.skipbn.bias",
    "block4.rep.7.pointwise.weight",
    "block12.rep.1.pointwise.weight",
    "block12.rep.4.pointwise.weight",
    "conv3.conv1.weight",
    "conv4.pointwise.weight",
    "bn4.running_mean",
    "fc.weight",
    "fc.bias",
]


def _to_cadene(timm_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The reverse of the loader's mapping: 2-D pointwise weights, no BatchNorm counters (pre-2018)."""
    return {
        key: value[:, :, 0, 0] if key.endswith("pointwise.weight") else value
        for key, value in timm_state.items()
        if not key.endswith("num_batches_tracked")
    }


@pytest.fixture(scope="module")
def xception_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A random ImageNet-shaped legacy_xception saved in timm (.pth, .safetensors) and Cadene format."""
    torch.manual_seed(0)
    source = timm.create_model("legacy_xception")  # 1000-class head, as the real files have
    with torch.no_grad():
        for module in source.modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # make the buffers part of the check
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
    state = source.state_dict()
    folder = tmp_path_factory.mktemp("weights")
    files = {
        "timm": folder / "xception-43020ad28.pth",
        "safetensors": folder / "model.safetensors",
        "cadene": folder / "xception-b5690688.pth",
        "reference": folder / "reference.pt",
    }
    torch.save(state, files["timm"])
    save_file({k: v.contiguous() for k, v in state.items()}, str(files["safetensors"]))
    torch.save(_to_cadene(state), files["cadene"])
    source.eval()
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.save(
            {"x": x, "features": source.forward_head(source.forward_features(x), pre_logits=True)},
            files["reference"],
        )
    return files


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point the Hugging Face and torch hub caches at empty folders (never the user's caches)."""
    hf_cache, torch_home = tmp_path / "hf" / "hub", tmp_path / "torch"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hf_cache))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    return {"hf": hf_cache, "hub": torch_home / "hub" / "checkpoints"}


def test_timm_names_are_cadenes() -> None:
    timm_keys = set(timm.create_model("legacy_xception").state_dict())
    assert set(CADENE_KEYS) <= timm_keys
    pointwise = [k for k in timm_keys if k.endswith("pointwise.weight")]
    assert len(pointwise) == 34  # blocks 1-3: 2 each, 4-11: 3 each, 12: 2; conv3 and conv4


@pytest.mark.parametrize("fmt", ["timm", "safetensors", "cadene"])
def test_weight_files_load_to_identical_backbones(xception_files: dict[str, Path], fmt: str) -> None:
    model = create_detector("xception", pretrained=xception_files[fmt]).eval()
    reference = torch.load(xception_files["reference"], weights_only=True)
    with torch.no_grad():
        features = model.backbone(reference["x"])
    torch.testing.assert_close(features, reference["features"], rtol=0, atol=0)

    report = model.weights_report
    assert report is not None and report.path == xception_files[fmt]
    assert report.dropped_keys == ("fc.bias", "fc.weight")
    if fmt == "cadene":
        assert report.source_format == "cadene"
        assert len(report.reshaped_keys) == 34
        assert len(report.filled_keys) == sum(
            isinstance(m, torch.nn.BatchNorm2d) for m in model.backbone.modules()
        )
    else:
        assert report.source_format == "timm"
        assert report.reshaped_keys == () and report.filled_keys == ()


def test_cadene_file_saved_after_renaming_fc_to_last_linear(
    xception_files: dict[str, Path], tmp_path: Path
) -> None:
    state = torch.load(xception_files["cadene"], weights_only=True)
    state = {("last_linear." + k[3:] if k.startswith("fc.") else k): v for k, v in state.items()}
    path = tmp_path / "renamed.pth"
    torch.save(state, path)
    backbone = timm.create_model("legacy_xception", num_classes=0)
    report = load_backbone_weights(backbone, path)
    assert report.dropped_keys == ("last_linear.bias", "last_linear.weight")


def test_auto_finds_the_torch_hub_file(
    xception_files: dict[str, Path], empty_caches: dict[str, Path]
) -> None:
    empty_caches["hub"].mkdir(parents=True)
    (empty_caches["hub"] / "xception-b5690688.pth").symlink_to(xception_files["cadene"])
    found = find_local_weights("legacy_xception")
    assert found == empty_caches["hub"] / "xception-b5690688.pth"
    model = create_detector("xception", pretrained="auto")
    assert model.weights_report is not None and model.weights_report.source_format == "cadene"


def test_auto_finds_the_hugging_face_cache(empty_caches: dict[str, Path]) -> None:
    """timm >= 0.9 stores weights as the HF repo ``timm/<arch>.<tag>``; a tiny model stands in."""
    source = timm.create_model("resnet10t")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = empty_caches["hf"] / "models--timm--resnet10t.c3_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    save_file(source.state_dict(), str(snapshot / "model.safetensors"))

    model = create_detector("xception", backbone="resnet10t", pretrained="auto")
    assert model.weights_report is not None
    assert model.weights_report.path == snapshot / "model.safetensors"
    assert model.weights_report.dropped_keys == ("fc.bias", "fc.weight")
    torch.testing.assert_close(model.backbone.conv1[0].weight, source.conv1[0].weight)


def test_missing_weights_error_says_what_where_and_how(empty_caches: dict[str, Path]) -> None:
    with pytest.raises(MissingWeightsError) as caught:
        create_detector("xception", pretrained="auto")
    message = str(caught.value)
    for needle in [
        "xception-43020ad28.pth",  # timm's file
        "xception-b5690688.pth",  # Cadene's file
        "timm/legacy_xception.tf_in1k",
        str(empty_caches["hf"]),
        str(empty_caches["hub"]),
        "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-cadene/xception-43020ad28.pth",
        "http://data.lip6.fr/cadene/pretrainedmodels/xception-b5690688.pth",
        "--pretrained PATH",
        "--pretrained none",
    ]:
        assert needle in message, needle


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match=r"no_such\.pth"):
        create_detector("xception", pretrained=tmp_path / "no_such.pth")


@pytest.mark.parametrize("pretrained", [None, "none", "None"])
def test_scratch_on_purpose(pretrained: str | None, empty_caches: dict[str, Path]) -> None:
    assert create_detector("xception", backbone="resnet10t", pretrained=pretrained).weights_report is None


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pth"
    torch.save(timm.create_model("resnet10t").state_dict(), path)
    with pytest.raises(CheckpointError, match=r"missing: \d+ .*unexpected: \d+ "):
        create_detector("xception", pretrained=path)


def test_cadene_file_missing_a_tensor_is_refused(xception_files: dict[str, Path], tmp_path: Path) -> None:
    state = torch.load(xception_files["cadene"], weights_only=True)
    del state["block7.rep.4.pointwise.weight"]
    path = tmp_path / "truncated.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"missing: 1 \(block7\.rep\.4\.pointwise\.weight\)"):
        load_backbone_weights(timm.create_model("legacy_xception", num_classes=0), path)


def test_unreadable_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="Cannot read weights file"):
        create_detector("xception", backbone="resnet10t", pretrained=path)


_EXECUTED = []


def _side_effect() -> list:
    _EXECUTED.append(True)
    return []


class _Payload:
    def __reduce__(self) -> tuple:
        return (_side_effect, ())


def test_a_pickle_that_runs_code_is_refused_unexecuted(tmp_path: Path) -> None:
    path = tmp_path / "hostile.pth"
    torch.save({"conv1.weight": _Payload()}, path)
    with pytest.raises(CheckpointError):
        create_detector("xception", backbone="resnet10t", pretrained=path)
    assert _EXECUTED == []
