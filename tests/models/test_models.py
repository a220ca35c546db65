"""Every registered detector in every domain (timm's test_models style), parameter counts, config
round trips and the backbone swap."""

from __future__ import annotations

import json

import pytest
import timm
import torch

from noisetrace.core.errors import ConfigError
from noisetrace.models import (
    DOMAINS,
    Detector,
    InputNormalization,
    InputStage,
    create_detector,
    detector_config,
    freeze_backbone,
    is_sequence_detector,
    list_detectors,
)

# Small inputs: sizes are not the point here, and XceptionNet still runs every block at 32×32
# (its exit flow at 1×1). Tests about the detector around the backbone use timm's tiny resnet10t.
SIZE = 32
BATCH = 2
LENGTH = 2
TINY = "resnet10t"

XCEPTION_2_CLASS_PARAMS = 20_811_050
LSTM_PARAMS = 4 * (256 * (2048 + 256) + 2 * 256)  # PyTorch's LSTM keeps two bias vectors per gate
SEQUENCE_CLASSIFIER_PARAMS = 256 * 2 + 2


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _input(model: Detector, batch: int = BATCH, length: int = LENGTH, size: int = SIZE) -> torch.Tensor:
    shape = (batch, length, 3, size, size) if model.is_sequence else (batch, 3, size, size)
    return torch.rand(shape)


def test_registry_lists_the_papers_two_architectures() -> None:
    assert list_detectors() == ["xception", "xception_lstm"]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("name", list_detectors())
def test_forward_backward(name: str, domain: str) -> None:
    torch.manual_seed(0)
    model = create_detector(name, domain=domain, pretrained=None)
    assert model.domain == domain and model.num_logits == 2
    assert (model.input_stage.srm is not None) == (domain != "rgb")
    model.train()

    logits = model(_input(model))
    assert logits.shape == (BATCH, 2)
    assert torch.isfinite(logits).all()

    logits.sum().backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable
    no_grad = [n for n, p in trainable.items() if p.grad is None]
    assert not no_grad, f"parameters without a gradient: {no_grad[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in trainable.values())


@pytest.mark.parametrize("name", list_detectors())
def test_single_logit_head(name: str) -> None:
    model = create_detector(name, backbone=TINY, num_logits=1, pretrained=None).eval()
    with torch.no_grad():
        assert model(_input(model)).shape == (BATCH, 1)


@pytest.mark.parametrize("length", [1, 2, 5])
def test_sequence_model_takes_any_length(length: int) -> None:
    model = create_detector("xception_lstm", backbone=TINY, pretrained=None).eval()
    with torch.no_grad():
        assert model(torch.rand(2, length, 3, 32, 32)).shape == (2, 2)


def test_sequence_model_reads_frames_in_order() -> None:
    torch.manual_seed(0)
    model = create_detector("xception_lstm", backbone=TINY, pretrained=None).eval()
    clip = torch.rand(1, 4, 3, 32, 32)
    with torch.no_grad():
        forward, backward = model(clip), model(clip.flip(1))
        per_frame = model.frame_features(clip[0])
    assert per_frame.shape == (4, 512)
    assert not torch.allclose(forward, backward), "an LSTM, unlike pooling, depends on frame order"


def test_parameter_counts() -> None:
    frame = create_detector("xception", pretrained=None)
    sequence = create_detector("xception_lstm", pretrained=None)

    assert _count(frame) == XCEPTION_2_CLASS_PARAMS
    assert _count(frame) == _count(timm.create_model("legacy_xception", num_classes=2))
    assert _count(sequence.head.lstm) == LSTM_PARAMS == 2_361_344
    assert _count(sequence.head.fc) == SEQUENCE_CLASSIFIER_PARAMS == 514
    assert _count(sequence) == _count(frame.backbone) + LSTM_PARAMS + SEQUENCE_CLASSIFIER_PARAMS
    assert _count(sequence) == 23_168_810
    # the SRM domain changes the input, never the parameters
    assert _count(create_detector("xception", domain="srm", pretrained=None)) == XCEPTION_2_CLASS_PARAMS


@pytest.mark.parametrize("name", list_detectors())
def test_backbone_attributes_for_the_warm_up(name: str) -> None:
    model = create_detector(name, backbone=TINY, pretrained=None)
    assert model.is_sequence == (name == "xception_lstm")
    assert model.backbone.num_classes == 0
    head_names = {n for n, _ in model.head.named_parameters()}
    assert head_names == (
        {
            "lstm.weight_ih_l0",
            "lstm.weight_hh_l0",
            "lstm.bias_ih_l0",
            "lstm.bias_hh_l0",
            "fc.weight",
            "fc.bias",
        }
        if model.is_sequence
        else {"weight", "bias"}
    )

    freeze_backbone(model)
    model(_input(model)).sum().backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters())
    freeze_backbone(model, frozen=False)
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "backbone", "features"),
    [("xception", "efficientnet_b0", 1280), ("xception_lstm", "resnet10t", 512)],
)
def test_any_timm_backbone_replaces_xception(name: str, backbone: str, features: int) -> None:
    model = create_detector(name, backbone=backbone, domain="srm", pretrained=None).eval()
    assert model.spec.normalization.mean == timm.get_pretrained_cfg(backbone).mean  # ImageNet statistics
    width = model.head.lstm.input_size if model.is_sequence else model.head.in_features
    assert width == features
    with torch.no_grad():
        assert model(_input(model, size=64)).shape == (BATCH, 2)


def test_config_rebuilds_an_identical_model() -> None:
    torch.manual_seed(0)
    model = create_detector(
        "xception_lstm",
        backbone="resnet10t",
        domain="srm",
        num_logits=1,
        pretrained="none",
        lstm_hidden=32,
        srm_truncation=2.0,
        srm_placement="after_norm",
        backbone_kwargs={"drop_rate": 0.1},
    ).eval()
    config = json.loads(json.dumps(detector_config(model)))  # what a checkpoint stores
    assert config == {
        "name": "xception_lstm",
        "domain": "srm",
        "num_logits": 1,
        "backbone": "resnet10t",
        "lstm_hidden": 32,
        "srm_truncation": 2.0,
        "srm_placement": "after_norm",
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "backbone_kwargs": {"drop_rate": 0.1},
    }
    rebuilt = create_detector(**config, pretrained=None).eval()
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    clip = torch.rand(2, 3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(clip), model(clip), rtol=0, atol=0)


def test_state_dict_holds_no_fixed_buffers() -> None:
    model = create_detector("xception", domain="srm", pretrained=None)
    keys = model.state_dict().keys()
    assert not [k for k in keys if k.startswith("input_stage.")]
    assert {k.split(".")[0] for k in keys} == {"backbone", "head"}


def test_srm_placements() -> None:
    """Default: residuals of [0, 1] pixels, the same whatever the backbone's mean/std.
    after_norm with mean = std = 0.5 (legacy_xception) gives twice those residuals inside the border."""
    x = torch.rand(2, 3, 20, 20)
    xception_stats = InputNormalization()
    imagenet_stats = InputNormalization(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    default = InputStage("srm", xception_stats)(x)
    torch.testing.assert_close(InputStage("srm", imagenet_stats)(x), default)
    after = InputStage("srm", InputNormalization(srm_placement="after_norm"))(x)
    torch.testing.assert_close(after[..., 2:-2, 2:-2], 2 * default[..., 2:-2, 2:-2])
    rgb = InputStage("rgb", xception_stats)(x)
    torch.testing.assert_close(rgb, 2 * x - 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "resnet"}, "unknown detector"),
        ({"backbone": "no_such_net"}, "unknown timm backbone"),
        ({"backbone": "legacy_xception.no_such_tag"}, "Invalid pretrained tag"),
        ({"domain": "dct"}, "domain"),
        ({"num_logits": 3}, "num_logits"),
        ({"srm_placement": "middle"}, "srm_placement"),
        ({"srm_truncation": -1.0}, "srm_truncation"),
        ({"lstm_hidden": 0}, "lstm_hidden"),
        ({"std": (0.5, 0.0, 0.5)}, "std"),
        ({"backbone_kwargs": {"num_classes": 5}}, "num_classes"),
    ],
)
def test_invalid_options_raise_config_error(kwargs: dict, message: str) -> None:
    options = {"name": "xception", "pretrained": None, **kwargs}
    with pytest.raises(ConfigError, match=message):
        create_detector(**options)


def test_an_unknown_detector_name_is_a_config_error_everywhere() -> None:
    assert not is_sequence_detector("xception") and is_sequence_detector("xception_lstm")
    with pytest.raises(ConfigError, match="unknown detector 'resnet'"):
        is_sequence_detector("resnet")


@pytest.mark.parametrize(
    ("name", "shape"), [("xception", (2, 2, 3, 32, 32)), ("xception_lstm", (2, 3, 32, 32))]
)
def test_wrong_input_shape_is_explained(name: str, shape: tuple[int, ...]) -> None:
    model = create_detector(name, backbone=TINY, pretrained=None)
    with pytest.raises(ValueError, match="expects RGB input shaped"):
        model(torch.rand(shape))
