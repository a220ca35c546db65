"""The RGB+SRM fusion domains, the SRM layer under autocast, and the MesoNet peer's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from noisetrace.core.errors import CheckpointError
from noisetrace.models import create_detector
from noisetrace.models.layers import SRMConv2d
from noisetrace.models.mesonet import Meso4, MesoInception4, load_mesonet
from noisetrace.predict.gradcam import GradCAM


def test_srm_residuals_are_float32_under_bf16_autocast() -> None:
    layer = SRMConv2d()
    x = torch.rand(2, 3, 32, 32)
    reference = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = layer(x)
    assert autocast.dtype == torch.float32
    assert torch.equal(autocast, reference)
    # A flat image has no residual, which a bf16-rounded KV kernel (sum 0.0059) would break.
    with torch.autocast("cpu", dtype=torch.bfloat16):
        flat = layer(torch.full((1, 3, 16, 16), 0.8))
    assert flat[..., 2:-2, 2:-2].abs().max() < 1e-6


def test_fusion_detector_sees_colour_and_residuals() -> None:
    model = create_detector("xception", domain="fusion", backbone="resnet10t", pretrained=None).eval()
    stem = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    assert stem.in_channels == 6
    x = torch.rand(2, 3, 64, 64)
    stacked = model.input_stage(x)
    assert stacked.shape == (2, 6, 64, 64)
    assert torch.allclose(stacked[:, :3], (x - model.input_stage.mean) / model.input_stage.std)
    assert "input_stage.residual_norm.running_var" in model.state_dict()
    assert model(x).shape == (2, 2)
    assert model.spec.to_dict()["domain"] == "fusion"


def test_two_stream_detector_gives_each_domain_its_own_trunk() -> None:
    model = create_detector("xception", domain="two_stream", backbone="resnet10t", pretrained=None).eval()
    colour, residual = model.backbone.colour, model.backbone.residual
    for stream in (colour, residual):
        assert next(m for m in stream.modules() if isinstance(m, torch.nn.Conv2d)).in_channels == 3
    assert model.head.in_features == colour.num_features + residual.num_features
    x = torch.rand(2, 3, 64, 64)
    assert model(x).shape == (2, 2)
    # Both streams reach the head: changing only the residual stream's weights moves the score.
    before = model(x)
    with torch.no_grad():
        for parameter in residual.parameters():
            parameter.mul_(1.5)
    assert not torch.allclose(model(x), before)
    # Grad-CAM explains both streams at once: one map per crop, at the crop's size.
    assert GradCAM(model)(x).shape == (2, 64, 64)


def test_two_stream_checkpoints_rebuild_from_their_spec() -> None:
    model = create_detector("xception", domain="two_stream", backbone="resnet10t", pretrained=None).eval()
    rebuilt = create_detector(**model.spec.to_dict(), pretrained=None).eval()
    rebuilt.load_state_dict(model.state_dict())
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(rebuilt(x), model(x))


def test_rgb_and_srm_detectors_are_unchanged_by_fusion() -> None:
    for domain in ("rgb", "srm"):
        model = create_detector("xception", domain=domain, backbone="resnet10t", pretrained=None)
        stem = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
        assert stem.in_channels == 3
        assert not any("residual_norm" in key for key in model.state_dict())


MESONET = ["Meso4_DF.h5", "Meso4_F2F.h5", "MesoInception_DF.h5", "MesoInception_F2F.h5"]


@pytest.mark.parametrize("name", MESONET)
def test_mesonet_weights_load_into_the_port(name: str, shared_data: Path) -> None:
    path = shared_data.parent / "peers" / "mesonet" / name
    model = load_mesonet(path)
    assert isinstance(model, MesoInception4 if name.startswith("MesoInception") else Meso4)
    # Every weight came from the file: no layer kept PyTorch's initial values (BatchNorm's var = 1).
    assert not any(torch.all(bn.running_var == 1) for bn in model.bns)
    with torch.inference_mode():
        scores = model(torch.rand(3, 3, 256, 256))
    assert scores.shape == (3,) and bool(((scores >= 0) & (scores <= 1)).all())


def test_mesonet_refuses_a_file_that_is_not_its_weights(tmp_path: Path) -> None:
    bogus = tmp_path / "Meso4_DF.h5"
    bogus.write_bytes(b"not hdf5")
    with pytest.raises(CheckpointError, match="not a Keras HDF5"):
        load_mesonet(bogus)
