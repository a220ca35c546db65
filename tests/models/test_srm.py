"""The SRM layer from first principles: the paper's printed kernels, what they annihilate, and an
independent scipy computation on real FF++ face crops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from noisetrace.models import SRM_KERNEL_NAMES, SRM_KERNELS, SRMConv2d
from noisetrace.models.layers import srm_weight

# Atamna et al., ICIP 2023, Fig. 2, left to right, typed in as printed (integer matrix, divisor).
PAPER_FIG2 = [
    (
        [[0, 0, 0, 0, 0], [0, -1, 2, -1, 0], [0, 2, -4, 2, 0], [0, -1, 2, -1, 0], [0, 0, 0, 0, 0]],
        4,
    ),
    (
        [
            [-1, 2, -2, 2, -1],
            [2, -6, 8, -6, 2],
            [-2, 8, -12, 8, -2],
            [2, -6, 8, -6, 2],
            [-1, 2, -2, 2, -1],
        ],
        12,
    ),
    (
        [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, -2, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
        2,
    ),
]

INTERIOR = (..., slice(2, -2), slice(2, -2))  # pixels whose 5×5 window lies inside the image


def test_kernels_are_the_papers_fig2_in_its_order() -> None:
    assert SRM_KERNELS.shape == (3, 5, 5)
    assert SRM_KERNEL_NAMES == ("KB", "KV", "second_order_h")
    for kernel, (printed, divisor) in zip(SRM_KERNELS, PAPER_FIG2, strict=True):
        np.testing.assert_array_equal(kernel, np.array(printed, dtype=np.float64) / divisor)
    assert not SRM_KERNELS.flags.writeable


def test_weight_applies_each_kernel_to_r_g_and_b() -> None:
    weight = srm_weight(torch.float64)
    assert weight.shape == (3, 3, 5, 5)
    for k in range(3):
        for c in range(3):
            np.testing.assert_array_equal(weight[k, c].numpy(), SRM_KERNELS[k])


def test_kernels_annihilate_constants_and_linear_functions() -> None:
    """The algebra behind the zero-output tests, exact on the integer matrices: zeroth and first
    moments vanish, so constant and linear intensity gives a zero residual."""
    rows, cols = np.mgrid[-2:3, -2:3]
    for printed, _ in PAPER_FIG2:
        kernel = np.array(printed)
        assert kernel.sum() == 0
        assert (kernel * rows).sum() == 0
        assert (kernel * cols).sum() == 0
        # point-symmetric: correlation (conv2d) and convolution give the same residual
        np.testing.assert_array_equal(kernel, kernel[::-1, ::-1])


def test_zero_on_constant_image() -> None:
    x = torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1).expand(2, 3, 24, 31)
    out = SRMConv2d()(x)
    assert torch.allclose(out[INTERIOR], torch.zeros(()), atol=1e-6)


@pytest.mark.parametrize(
    ("a", "b"), [(1.0, 0.0), (0.0, 1.0), (0.7, -0.3)], ids=["ramp_x", "ramp_y", "ramp_xy"]
)
def test_zero_on_linear_ramp_away_from_borders(a: float, b: float) -> None:
    rows, cols = torch.meshgrid(torch.arange(40.0), torch.arange(50.0), indexing="ij")
    ramp = (a * cols + b * rows) / 50
    x = torch.stack([ramp + 0.1, 0.5 * ramp, 1 - ramp])[None]
    out = SRMConv2d()(x)
    assert torch.allclose(out[INTERIOR], torch.zeros(()), atol=1e-5)
    # the zero frame of the padding makes the border respond: the test above is not vacuous
    assert out[..., :2, :].abs().max() > 0.1


def test_responds_to_curvature() -> None:
    cols = torch.arange(30.0).expand(30, 30)
    x = (cols**2 / 900).expand(1, 3, 30, 30)
    out = SRMConv2d()(x)
    # second-order kernel on j²/900: 3 channels × ((j-1)² - 2j² + (j+1)²) / 2 / 900 = 3/900
    assert torch.allclose(out[0, 2][2:-2, 2:-2], torch.full((26, 26), 3 / 900), atol=1e-6)


def _face_crop(frames: Path, name: str) -> np.ndarray:
    """RGB face region of an FF++ frame in [0, 1], cut at the bounding box of its manipulation mask."""
    image = cv2.imread(str(frames / f"{name}.png"), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(frames / f"{name}_mask.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None and mask is not None
    ys, xs = np.nonzero(mask)
    crop = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1, ::-1]
    return crop.astype(np.float64) / 255


@pytest.mark.parametrize("name", ["ffpp_deepfakes", "ffpp_neuraltextures"])
def test_equals_scipy_correlate2d_on_real_face_crops(shared_data: Path, name: str) -> None:
    crop = _face_crop(shared_data / "samples" / "frames", name)
    assert min(crop.shape[:2]) >= 32, "the mask should outline a face"
    expected = np.stack(
        [
            sum(
                correlate2d(crop[..., c], kernel, mode="same", boundary="fill", fillvalue=0) for c in range(3)
            )
            for kernel in SRM_KERNELS
        ]
    )
    x = torch.from_numpy(crop.transpose(2, 0, 1).copy())[None]

    out64 = SRMConv2d(dtype=torch.float64)(x)[0].numpy()
    np.testing.assert_allclose(out64, expected, rtol=0, atol=1e-12)
    out32 = SRMConv2d()(x.float())[0].numpy()
    np.testing.assert_allclose(out32, expected, rtol=0, atol=1e-5)
    assert np.abs(expected).max() > 0.1  # real content, not a flat patch


@pytest.mark.parametrize("size", [(5, 5), (7, 13), (224, 224)])
def test_output_has_input_size(size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    assert SRMConv2d()(x).shape == x.shape


def test_kernel_buffer_is_never_saved_nor_trained() -> None:
    layer = SRMConv2d()
    assert dict(layer.state_dict()) == {}
    assert list(layer.parameters()) == []
    assert dict(layer.named_buffers())["kernel"].shape == (3, 3, 5, 5)

    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    layer(x).square().sum().backward()
    assert layer.kernel.grad is None and not layer.kernel.requires_grad
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.testing.assert_close(layer.kernel, srm_weight())


def test_follows_dtype_and_rebuilds_after_reset() -> None:
    assert SRMConv2d().double().kernel.dtype == torch.float64
    layer = SRMConv2d(dtype=torch.float64)
    torch.testing.assert_close(layer.kernel, srm_weight(torch.float64), rtol=0, atol=0)
    layer.kernel.zero_()
    layer.reset_parameters()
    torch.testing.assert_close(layer.kernel, srm_weight(torch.float64))


def test_truncation_clamps() -> None:
    x = torch.rand(2, 3, 32, 32)
    raw = SRMConv2d()(x)
    threshold = 0.25
    assert raw.abs().max() > threshold
    clipped = SRMConv2d(truncation=threshold)(x)
    assert clipped.abs().max() <= threshold
    torch.testing.assert_close(clipped, raw.clamp(-threshold, threshold))
    with pytest.raises(ValueError, match="positive"):
        SRMConv2d(truncation=0)
