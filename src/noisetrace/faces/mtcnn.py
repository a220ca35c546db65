"""MTCNN face detector (Zhang et al., *Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks*, IEEE SPL 2016) as a batched PyTorch cascade.

The paper we reproduce (Atamna et al., ICIP 2023, §3.2) finds faces with MTCNN. facenet-pytorch cannot
be installed beside our torch, so the three networks are rebuilt here and filled with the original
cascade weights that the MIT-licensed ``mtcnn`` 1.0.0 wheel ships as Keras arrays. The detection
pipeline follows that package (our reference, see ``benchmarks/mtcnn_agreement.py``) step for step:

1. **P-Net** slides over an image pyramid (area-resampled, first scale ``12 / min_face_size``, then
   ×``scale_factor`` while the shorter side stays ≥ 12 px). Each 12×12 window above
   ``thresholds[0]`` gives a box, regressed at once; NMS (IoU ``nms_thresholds[0]``) per scale, then
   across scales (``nms_thresholds[1]``); boxes are made square.
2. **R-Net** scores 24×24 crops of those boxes, regresses them (``thresholds[1]``, NMS
   ``nms_thresholds[2]``), squares them again.
3. **O-Net** scores 48×48 crops, regresses boxes and five landmarks (``thresholds[2]``) and keeps
   one box per face with NMS on intersection over the *smaller* box (``nms_thresholds[3]``).

It differs from the reference in how the work is laid out, not in the arithmetic of a detection
(``benchmarks/mtcnn_agreement.py`` pairs 100% of the faces, IoU ≥ 0.92, mean 0.996): the whole
batch of frames runs through P-Net at once per scale, and all crops of all frames through R-Net and
O-Net at once. Two deliberate differences: boxes are not clipped to the frame, and the pyramid stops
at 12 px for any ``min_face_size`` (the reference counts its levels as if the minimum face were
always 20 px, so a larger one sends levels under 12 px to P-Net and it finds no face at all).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import joblib
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from noisetrace.core.errors import CheckpointError, ConfigError, MissingWeightsError, NoisetraceError
from noisetrace.faces.geometry import box_iou

WEIGHT_FILES = {"pnet": "pnet.lz4", "rnet": "rnet.lz4", "onet": "onet.lz4"}
INSTALL_HINT = "pip install mtcnn==1.0.0"

PNET_CELL = 12  # P-Net sees 12×12 windows ...
PNET_STRIDE = 2  # ... every 2 pixels of the scaled image (one 2×2 max-pool)
# Frames per chunk are bounded by pixels so that a long batch of 1080p frames cannot exhaust memory
# (float frames, the first pyramid level and P-Net's first feature map cost ~60 bytes per pixel).
MAX_PIXELS_PER_CHUNK = 1 << 24
MAX_CROPS_PER_CHUNK = 4096  # R-Net/O-Net crops per forward pass, for the same reason
NMS_BLOCK = 1024  # boxes per block of the pairwise-overlap matrix in NMS
# Tracking (MTCNN.track) tries each expected face box at these scales: R-Net then regresses the box
# onto the face, which it was trained to do from boxes of IoU >= 0.4 with it, so a face that moved or
# grew a little since the box was measured is still found.
SEED_SCALES = (0.9, 1.0, 1.15)


@dataclass(frozen=True, eq=False)
class FaceDetection:
    """One face found by MTCNN, in the pixel coordinates of the frame given to :meth:`MTCNN.detect`.

    ``box`` is x1, y1, x2, y2 and may extend past the frame edge for a face cut by it (not clipped, so
    that crop geometry downstream sees the face's real extent). ``landmarks`` are (x, y) of the left
    eye, right eye, nose, mouth left and mouth right, left/right as seen in the image. Equality is
    identity (the fields are arrays); compare fields with ``np.allclose``.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray


def _prelu_conv(in_ch: int, out_ch: int, kernel: int) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, kernel), nn.PReLU(out_ch)]


class PNet(nn.Module):
    """Proposal network: fully convolutional, one 12×12 window every 2 pixels.

    ``KERAS_ORDER`` lists the parameters in the order of the Keras weight list (box head before the
    class head), which is what :func:`load_mtcnn_weights` relies on.
    """

    KERAS_ORDER = (
        "body.0.weight", "body.0.bias", "body.1.weight",
        "body.3.weight", "body.3.bias", "body.4.weight",
        "body.5.weight", "body.5.bias", "body.6.weight",
        "box.weight", "box.bias", "cls.weight", "cls.bias",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        # Keras 'same' 2×2/2 pooling pads only at the end, exactly what ceil_mode does.
        self.body = nn.Sequential(
            *_prelu_conv(3, 10, 3),
            nn.MaxPool2d(2, 2, ceil_mode=True),
            *_prelu_conv(10, 16, 3),
            *_prelu_conv(16, 32, 3),
        )
        self.box = nn.Conv2d(32, 4, 1)
        self.cls = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return box offsets (B, 4, h, w) and face log-odds (B, h, w).

        Log-odds, not the softmax probability: P-Net runs on every pixel of every pyramid level, so
        both heads are one 5-channel 1×1 convolution, the class head already reduced to the logit
        difference (a two-class softmax is the sigmoid of it). Callers compare log-odds with
        logit(threshold) and compute the probability of the few candidates only.
        """
        features = self.body(x)
        weight = torch.cat([self.box.weight, self.cls.weight[1:] - self.cls.weight[:1]])
        bias = torch.cat([self.box.bias, self.cls.bias[1:] - self.cls.bias[:1]])
        heads = F.conv2d(features, weight, bias)
        return heads[:, :4], heads[:, 4]


def _keras_flatten(x: torch.Tensor) -> torch.Tensor:
    """Flatten (B, C, H, W) in the (W, H, C) order the Keras dense weights were trained on."""
    return x.permute(0, 3, 2, 1).flatten(1)


class RNet(nn.Module):
    """Refinement network on 24×24 crops: face probability and box offsets."""

    KERAS_ORDER = (
        "body.0.weight", "body.0.bias", "body.1.weight",
        "body.3.weight", "body.3.bias", "body.4.weight",
        "body.6.weight", "body.6.bias", "body.7.weight",
        "fc.weight", "fc.bias", "fc_prelu.weight",
        "box.weight", "box.bias", "cls.weight", "cls.bias",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_prelu_conv(3, 28, 3),
            nn.MaxPool2d(3, 2, ceil_mode=True),  # Keras 'same'
            *_prelu_conv(28, 48, 3),
            nn.MaxPool2d(3, 2),  # Keras 'valid'
            *_prelu_conv(48, 64, 2),
        )
        self.fc = nn.Linear(576, 128)
        self.fc_prelu = nn.PReLU(128)
        self.box = nn.Linear(128, 4)
        self.cls = nn.Linear(128, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return box offsets (N, 4) and face probability (N,)."""
        features = self.fc_prelu(self.fc(_keras_flatten(self.body(x))))
        return self.box(features), self.cls(features).softmax(dim=1)[:, 1]


class ONet(nn.Module):
    """Output network on 48×48 crops: face probability, box offsets and five landmarks."""

    KERAS_ORDER = (
        "body.0.weight", "body.0.bias", "body.1.weight",
        "body.3.weight", "body.3.bias", "body.4.weight",
        "body.6.weight", "body.6.bias", "body.7.weight",
        "body.9.weight", "body.9.bias", "body.10.weight",
        "fc.weight", "fc.bias", "fc_prelu.weight",
        "box.weight", "box.bias", "landmarks.weight", "landmarks.bias", "cls.weight", "cls.bias",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_prelu_conv(3, 32, 3),
            nn.MaxPool2d(3, 2, ceil_mode=True),  # Keras 'same'
            *_prelu_conv(32, 64, 3),
            nn.MaxPool2d(3, 2),  # Keras 'valid'
            *_prelu_conv(64, 64, 3),
            nn.MaxPool2d(2, 2, ceil_mode=True),  # Keras 'same'
            *_prelu_conv(64, 128, 2),
        )
        self.fc = nn.Linear(1152, 256)
        self.fc_prelu = nn.PReLU(256)
        self.box = nn.Linear(256, 4)
        self.landmarks = nn.Linear(256, 10)
        self.cls = nn.Linear(256, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return box offsets (N, 4), landmarks (N, 10: five x then five y, box-relative) and
        face probability (N,)."""
        features = self.fc_prelu(self.fc(_keras_flatten(self.body(x))))
        return self.box(features), self.landmarks(features), self.cls(features).softmax(dim=1)[:, 1]


NETWORKS: dict[str, type[PNet | RNet | ONet]] = {"pnet": PNet, "rnet": RNet, "onet": ONet}


def default_weights_dir() -> Path | None:
    """The weights folder of the installed ``mtcnn`` package, found without importing it.

    ``import mtcnn`` pulls in TensorFlow; ``find_spec`` only locates the package on disk.
    """
    spec = importlib.util.find_spec("mtcnn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights"


def _resolve_weights_dir(weights_dir: Path | None) -> Path:
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    if folder is None:
        raise MissingWeightsError(
            "MTCNN weights not found: the 'mtcnn' package that ships them (mtcnn/assets/weights/"
            f"{{pnet,rnet,onet}}.lz4) is not installed. Install it with `{INSTALL_HINT}`, or pass "
            "weights_dir= a folder holding pnet.lz4, rnet.lz4 and onet.lz4."
        )
    return folder


def _keras_to_torch(array: np.ndarray) -> torch.Tensor:
    """Map one Keras array onto the PyTorch layout of the same parameter."""
    if array.ndim == 4:  # conv kernel (kh, kw, in, out) -> (out, in, kh, kw)
        array = array.transpose(3, 2, 0, 1)
    elif array.ndim == 3:  # PReLU alpha shared over H and W: (1, 1, C) -> (C,)
        array = array.reshape(-1)
    elif array.ndim == 2:  # dense kernel (in, out) -> (out, in)
        array = array.T
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def load_mtcnn_weights(weights_dir: Path | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """Load the three cascade networks' weights as PyTorch state dicts (``pnet``, ``rnet``, ``onet``).

    The files are joblib pickles, so they are read only from the installed ``mtcnn`` package (the
    default) or a folder the caller vouches for: unpickling a stranger's file can run code.
    """
    folder = _resolve_weights_dir(weights_dir)
    weights: dict[str, dict[str, torch.Tensor]] = {}
    for name, filename in WEIGHT_FILES.items():
        path = folder / filename
        if not path.is_file():
            raise MissingWeightsError(
                f"MTCNN weights file {filename} not found: looked in {folder}. It ships with the "
                f"'mtcnn' package: `{INSTALL_HINT}` (or pass weights_dir= a folder holding it)."
            )
        try:
            arrays = joblib.load(path)
        except Exception as error:  # joblib raises many types for a damaged file
            raise CheckpointError(
                f"cannot read MTCNN weights {path}: {error}. Reinstall them: `{INSTALL_HINT}`."
            ) from error
        network = NETWORKS[name]
        expected = network().state_dict()
        if not isinstance(arrays, list) or len(arrays) != len(network.KERAS_ORDER):
            raise CheckpointError(
                f"{path} is not the mtcnn 1.0.0 {name} weight list ({len(network.KERAS_ORDER)} arrays)."
            )
        state = {key: _keras_to_torch(np.asarray(a)) for key, a in zip(network.KERAS_ORDER, arrays, strict=True)}
        for key, tensor in state.items():
            if tensor.shape != expected[key].shape:
                raise CheckpointError(
                    f"{path}: {key} has shape {tuple(tensor.shape)}, expected {tuple(expected[key].shape)}."
                )
        weights[name] = state
    return weights


def _as_rgb(image: np.ndarray, index: int) -> np.ndarray:
    """Check one frame and return it as (H, W, 3) uint8 (grayscale is repeated on three channels)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise NoisetraceError(f"frame {index}: expected uint8 RGB pixels, got dtype {image.dtype}.")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise NoisetraceError(
            f"frame {index}: expected an RGB (H, W, 3) or grayscale (H, W) image, got shape {image.shape}."
        )
    return image


def proposal_scale(height: int, width: int, proposal_max_side: int | None) -> float:
    """The factor by which P-Net and R-Net see a frame (<= 1): its longer side down to ``proposal_max_side``."""
    if proposal_max_side is not None and max(height, width) > proposal_max_side:
        return proposal_max_side / max(height, width)
    return 1.0


def _pyramid(height: int, width: int, min_face_size: int, scale_factor: float) -> list[tuple[float, int, int]]:
    """(scale, scaled height, scaled width) per pyramid level.

    A face of ``min_face_size`` pixels fills P-Net's 12-pixel window at the first scale; levels stop
    before the shorter side drops under 12 pixels. Sizes are truncated like the reference's resize.
    """
    levels = []
    scale = PNET_CELL / min_face_size
    while min(height, width) * scale >= PNET_CELL:
        levels.append((scale, int(height * scale), int(width * scale)))
        scale *= scale_factor
    return levels


def _integral_image(pixels: torch.Tensor) -> torch.Tensor:
    """Summed-area table of uint8 frames (B, H, W, C), with a leading zero row and column.

    Integers keep it exact; int32 holds any frame under 8.4 megapixels (4K included).
    """
    batch, height, width, channels = pixels.shape
    dtype = torch.int32 if height * width * 255 < 2**31 else torch.int64
    table = torch.zeros((batch, height + 1, width + 1, channels), dtype=dtype, device=pixels.device)
    table[:, 1:, 1:] = pixels.cumsum(1, dtype=dtype).cumsum(2, dtype=dtype)
    return table


def _area_resize(table: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """Area-average resample from an integral image: float32 (B, out_h, out_w, C), pixel units.

    The area under the image up to a fractional point is the bilinear interpolation of its integral
    image, so each output pixel costs four interpolated table values whatever the scale, and one
    table serves every pyramid level. Same result as TensorFlow's and OpenCV's AREA resize.
    """
    height, width = table.shape[1] - 1, table.shape[2] - 1

    def edges(size: int, out: int) -> tuple[torch.Tensor, torch.Tensor]:
        position = torch.arange(out + 1, dtype=torch.float64, device=table.device) * (size / out)
        index = position.floor().clamp(max=size - 1)
        return index.long(), position - index

    y, fy = edges(height, out_h)
    x, fx = edges(width, out_w)
    corners = table.index_select(1, torch.cat([y, y + 1])).index_select(2, torch.cat([x, x + 1])).double()
    n, m = out_h + 1, out_w + 1
    fx = fx[:, None]
    top = corners[:, :n, :m] + fx * (corners[:, :n, m:] - corners[:, :n, :m])
    bottom = corners[:, n:, :m] + fx * (corners[:, n:, m:] - corners[:, n:, :m])
    cumulative = top + fy[:, None, None] * (bottom - top)
    area = cumulative[:, 1:, 1:] - cumulative[:, :-1, 1:] - cumulative[:, 1:, :-1] + cumulative[:, :-1, :-1]
    return (area * (out_h * out_w / (height * width))).float()


class _AreaPyramid:
    """Area-resampled pyramid levels of uint8 frames (B, H, W, C), as the reference's TensorFlow
    AREA resize makes them (P-Net's proposals, and through them every box, depend on these pixels).

    On CPU, OpenCV's INTER_AREA on float frames computes exactly that and is the fastest (vectorized
    C++; a pure-torch version costs several times more). Elsewhere, and for levels that enlarge the
    frame (``min_face_size`` < 12, where OpenCV's INTER_AREA interpolates instead), an integral image
    on the device gives the same numbers.
    """

    def __init__(self, pixels: torch.Tensor) -> None:
        self.pixels = pixels

    @cached_property
    def _float_frames(self) -> np.ndarray:
        return self.pixels.numpy().astype(np.float32)

    @cached_property
    def _table(self) -> torch.Tensor:
        return _integral_image(self.pixels)

    def level(self, out_h: int, out_w: int) -> torch.Tensor:
        """One level as float32 (B, out_h, out_w, C) in pixel units."""
        height, width = self.pixels.shape[1:3]
        if self.pixels.device.type == "cpu" and out_h <= height and out_w <= width:
            resized = [cv2.resize(f, (out_w, out_h), interpolation=cv2.INTER_AREA) for f in self._float_frames]
            return torch.from_numpy(np.stack(resized).reshape(len(resized), out_h, out_w, -1))
        return _area_resize(self._table, out_h, out_w)


def _normalize(pixels: torch.Tensor) -> torch.Tensor:
    """The cascade's input scaling, RGB (x - 127.5) / 128, in place (callers pass fresh tensors)."""
    return pixels.sub_(127.5).mul_(1 / 128)


def _crop(pixels: torch.Tensor, frame: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear ``size``×``size`` crops of ``boxes`` (N, 4) from uint8 frames (B, H, W, C), normalized,
    as (N, C, size, size) channels-last.

    This reproduces the reference's TensorFlow ``crop_and_resize`` call sample for sample: point
    samples (no anti-aliasing) from corner to corner of the box, with the box coordinates divided by
    the image size where ``crop_and_resize`` expects size − 1, which draws the samples towards the
    origin by a factor (size − 1) / size. That quirk moves samples by under a pixel, but point samples
    of a large face alias, and without it R-Net/O-Net answers drift (mean IoU with the reference
    0.94 instead of 0.996 on ../shared/data/images). Samples outside the frame read 0 after
    normalization (mid-gray), the reference's zero padding.
    """
    _, height, width, channels = pixels.shape
    flat = pixels.reshape(-1, channels)
    steps = torch.linspace(0, 1, size, device=boxes.device)

    def axis(start: torch.Tensor, stop: torch.Tensor, limit: int) -> tuple[torch.Tensor, ...]:
        position = (start[:, None] + (stop - start)[:, None] * steps) * ((limit - 1) / limit)
        inside = (position >= 0) & (position <= limit - 1)
        low = position.floor().clamp(0, limit - 1)
        weight = (position - low).clamp(0, 1)
        return low.long(), (low + 1).clamp(max=limit - 1).long(), weight, inside

    y0, y1, wy, inside_y = axis(boxes[:, 1], boxes[:, 3], height)
    x0, x1, wx, inside_x = axis(boxes[:, 0], boxes[:, 2], width)
    base = frame[:, None, None] * (height * width)

    def gather(ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:  # (N, size, size, C)
        index = base + ys[:, :, None] * width + xs[:, None, :]
        return flat.index_select(0, index.reshape(-1)).view(*index.shape, channels).float()

    wx = wx[:, None, :, None]
    top = torch.lerp(gather(y0, x0), gather(y0, x1), wx)
    bottom = torch.lerp(gather(y1, x0), gather(y1, x1), wx)
    patches = _normalize(torch.lerp(top, bottom, wy[:, :, None, None]))
    patches = patches * (inside_y[:, :, None] & inside_x[:, None, :])[..., None]
    return patches.permute(0, 3, 1, 2)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow each box to a square on its longer side, same center (the next network's input is square)."""
    size = (boxes[:, 2:] - boxes[:, :2]).amax(dim=1, keepdim=True)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    return torch.cat([center - size / 2, center + size / 2], dim=1)


def _regress(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Apply R-Net/O-Net box offsets, which are fractions of the box's inclusive pixel size."""
    size = (boxes[:, 2:] - boxes[:, :2] + 1).repeat(1, 2)
    return boxes + offsets * size


def _overlap(a: torch.Tensor, b: torch.Tensor, smaller: bool) -> torch.Tensor:
    """Pairwise overlap of boxes (n, 4) and (m, 4): intersection over union, or over the smaller box."""
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(dim=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(dim=1)[:, None]
    area_b = (b[:, 2:] - b[:, :2]).prod(dim=1)[None, :]
    denominator = torch.minimum(area_a, area_b) if smaller else area_a + area_b - inter
    return inter / denominator.clamp(min=1e-6)


def _nms(
    boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, threshold: float, smaller: bool = False
) -> torch.Tensor:
    """Indices of the boxes kept per group, by group then descending score.

    A box is dropped when any higher-scoring box of its group overlaps it by more than ``threshold``,
    even one dropped itself: the reference's rule (also "Fast NMS", Bolya et al., YOLACT 2019),
    which needs no sequential loop. Greedy NMS (torchvision's) keeps some of those boxes; R-Net and
    O-Net then settle on other boxes for the same face, and the agreement with the reference fell to
    88.9% of faces, IoU ≥ 0.83, on ../shared/data/images. Rows go in blocks to bound memory.
    """
    order = scores.argsort(descending=True, stable=True)
    order = order[groups[order].argsort(stable=True)]
    boxes, groups = boxes[order], groups[order]
    group_end = torch.searchsorted(groups, groups, right=True).tolist()
    position = torch.arange(len(order), device=boxes.device)
    dropped = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    for start in range(0, len(order), NMS_BLOCK):
        rows = slice(start, min(start + NMS_BLOCK, len(order)))
        stop = group_end[rows.stop - 1]  # the rows' groups end here
        hits = _overlap(boxes[rows], boxes[start:stop], smaller) > threshold
        hits &= position[start:stop][None, :] > position[rows][:, None]
        hits &= groups[start:stop][None, :] == groups[rows][:, None]
        dropped[start:stop] |= hits.any(dim=0)
    return order[~dropped]


class MTCNN(nn.Module):
    """The three MTCNN networks and the batched detection pipeline (see the module docstring).

    Defaults are the original MTCNN ones (Zhang et al.; facenet-pytorch): thresholds 0.6/0.7/0.7
    (the ``mtcnn`` package uses 0.8 for O-Net), pyramid factor 0.709, minimum face 20 px; NMS
    thresholds as the ``mtcnn`` package: P-Net per scale 0.5, P-Net across scales 0.7, R-Net 0.7
    (IoU), O-Net 0.7 (intersection over the smaller box).
    """

    def __init__(
        self,
        device: str | torch.device = "cpu",
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        scale_factor: float = 0.709,
        nms_thresholds: tuple[float, float, float, float] = (0.5, 0.7, 0.7, 0.7),
        weights_dir: Path | None = None,
    ) -> None:
        super().__init__()
        thresholds, nms_thresholds = tuple(map(float, thresholds)), tuple(map(float, nms_thresholds))
        problems = {
            f"min_face_size must be a positive integer, got {min_face_size}": int(min_face_size) >= 1,
            f"scale_factor must be in (0, 1), got {scale_factor}": 0 < scale_factor < 1,
            f"thresholds must be three values in [0, 1), got {thresholds}": len(thresholds) == 3
            and all(0 <= t < 1 for t in thresholds),
            f"nms_thresholds must be four values in (0, 1], got {nms_thresholds}": len(nms_thresholds) == 4
            and all(0 < t <= 1 for t in nms_thresholds),
        }
        for message, ok in problems.items():
            if not ok:
                raise ConfigError(f"MTCNN: {message}.")
        self.min_face_size = int(min_face_size)
        self.thresholds = thresholds
        self.scale_factor = float(scale_factor)
        self.nms_thresholds = nms_thresholds
        self.weights_dir = _resolve_weights_dir(weights_dir)
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        for name, state in load_mtcnn_weights(self.weights_dir).items():
            getattr(self, name).load_state_dict(state, strict=True)
        self._weights_sha256 = {
            name: hashlib.sha256((self.weights_dir / filename).read_bytes()).hexdigest()
            for name, filename in WEIGHT_FILES.items()
        }
        self.requires_grad_(False)
        self.eval()
        # Channels-last convolutions run these thin layers 3-4x faster on CPU (oneDNN) and suit cuDNN;
        # frames arrive as (H, W, C) anyway, so every network input is channels-last without a copy.
        self.to(device=device, memory_format=torch.channels_last)

    @property
    def device(self) -> torch.device:
        return self.pnet.box.weight.device

    def settings(self) -> dict:
        """The detector settings as JSON-able values, recorded beside every face cache entry."""
        return {
            "implementation": "noisetrace PyTorch MTCNN cascade with the mtcnn 1.0.0 weights",
            "weights_sha256": dict(self._weights_sha256),
            "min_face_size": self.min_face_size,
            "thresholds": list(self.thresholds),
            "scale_factor": self.scale_factor,
            "nms_thresholds": list(self.nms_thresholds),
        }

    @torch.inference_mode()
    def detect(
        self,
        frames: Sequence[np.ndarray] | np.ndarray,
        min_face_size: int | None = None,
        proposal_max_side: int | None = None,
    ) -> list[list[FaceDetection]]:
        """Detect faces in RGB uint8 frames; per frame, detections by descending score.

        ``frames`` is a (B, H, W, C) array or a sequence of images, which may differ in size (each
        size is batched on its own). A larger ``min_face_size`` than the default (e.g. once a video's
        subject size is known) skips the finest pyramid levels, where most of the time goes.

        ``proposal_max_side`` runs P-Net and R-Net on frames area-down-scaled so their longer side is
        at most that many pixels (``min_face_size`` then counts pixels of the down-scaled frame), and
        O-Net on the full-resolution frame. P-Net's pyramid over a full 1080p frame is most of the
        cascade's cost, while a talking head's face is large enough to be proposed from a 640-pixel
        frame; O-Net, which places the final box and landmarks, still sees full-resolution pixels, so
        boxes stay close to full-resolution detection (``benchmarks/extract.py`` measures both).
        """
        if isinstance(frames, np.ndarray) and frames.ndim != 4:
            raise NoisetraceError(
                f"a frames array must be (B, H, W, C), got shape {frames.shape}; pass one image as [image]."
            )
        min_face = self.min_face_size if min_face_size is None else int(min_face_size)
        if min_face < 1:
            raise ConfigError(f"MTCNN: min_face_size must be a positive integer, got {min_face_size}.")
        images = [_as_rgb(image, i) for i, image in enumerate(frames)]
        results: list[list[FaceDetection]] = [[] for _ in images]
        for part, pixels, small, scale_back in self._batches(images, proposal_max_side):
            for i, found in zip(part, self._detect_batch(pixels, small, scale_back, min_face), strict=True):
                results[i] = found
        return results

    @torch.inference_mode()
    def track(
        self,
        frames: Sequence[np.ndarray],
        seeds: Sequence[np.ndarray],
        proposal_max_side: int | None = None,
        min_iou: float = 0.3,
    ) -> list[list[FaceDetection | None]]:
        """Find each face again near where the caller expects it: R-Net and O-Net only, no P-Net.

        ``seeds[f]`` is an (n_f, 4) array of boxes (frame pixels) where frame ``f`` should show a face,
        e.g. a face's box in a nearby frame. Each seed is squared and tried at three scales
        (:data:`SEED_SCALES`); R-Net rescores and regresses those boxes on the proposal frame
        (down-scaled as in :meth:`detect`), the best one per seed goes to O-Net on the full-resolution
        frame, which places box and landmarks exactly as in a full detection. The answer per seed is
        that detection, or ``None`` when R-Net or O-Net rejects every box, or the face found overlaps
        the seed by less than ``min_iou`` (the face moved away: the caller should detect afresh).

        P-Net's pyramid is most of the cascade's cost and R-Net/O-Net see a few boxes per face, so a
        tracked frame costs a small fraction of a detected one.
        """
        if len(seeds) != len(frames):
            raise NoisetraceError(f"track: {len(frames)} frames but {len(seeds)} seed arrays.")
        images = [_as_rgb(image, i) for i, image in enumerate(frames)]
        seed_arrays = [np.asarray(s, dtype=np.float32).reshape(-1, 4) for s in seeds]
        results: list[list[FaceDetection | None]] = [[None] * len(s) for s in seed_arrays]
        for part, pixels, small, scale_back in self._batches(images, proposal_max_side):
            frame_of, seed_of, boxes = [], [], []
            for local, i in enumerate(part):
                for number, box in enumerate(seed_arrays[i]):
                    frame_of.append(local)
                    seed_of.append((i, number))
                    boxes.append(box)
            if not boxes:
                continue
            found = self._track_batch(pixels, small, scale_back, torch.tensor(frame_of), torch.tensor(np.stack(boxes)))
            for (i, number), detection in zip(seed_of, found, strict=True):
                if detection is not None and box_iou(detection.box, seed_arrays[i][number]) >= min_iou:
                    results[i][number] = detection
        return results

    def _batches(
        self, images: list[np.ndarray], proposal_max_side: int | None
    ) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor, float]]:
        """Group frames by size into bounded chunks: (indices, full-resolution pixels, proposal pixels,
        proposal-to-full scale) per chunk, all uint8 (B, H, W, 3) on the device."""
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            by_size.setdefault(image.shape[:2], []).append(i)
        for (height, width), indices in by_size.items():
            chunk = max(1, MAX_PIXELS_PER_CHUNK // (height * width))
            scale = proposal_scale(height, width, proposal_max_side)
            for start in range(0, len(indices), chunk):
                part = indices[start : start + chunk]
                batch = np.stack([images[i] for i in part])
                pixels = torch.from_numpy(batch).to(self.device)
                small = pixels
                if scale < 1:
                    size = (max(1, round(width * scale)), max(1, round(height * scale)))
                    shrunk = np.stack([cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in batch])
                    small = torch.from_numpy(shrunk).to(self.device)
                scale_back = (width / small.shape[2] + height / small.shape[1]) / 2
                yield part, pixels, small, scale_back

    def _track_batch(
        self, pixels: torch.Tensor, small: torch.Tensor, scale_back: float, frame: torch.Tensor, seeds: torch.Tensor
    ) -> list[FaceDetection | None]:
        """R-Net on each seed at :data:`SEED_SCALES`, O-Net on the best box per seed: one answer per seed."""
        device = pixels.device
        frame, seeds = frame.to(device), seeds.to(device)
        count = len(seeds)
        squared = _square(seeds)
        center, half = (squared[:, :2] + squared[:, 2:]) / 2, (squared[:, 2:] - squared[:, :2]) / 2
        scales = torch.tensor(SEED_SCALES, device=device)
        half = half[None] * scales[:, None, None]  # (scales, seeds, 2)
        boxes = torch.cat([center[None] - half, center[None] + half], dim=2).reshape(-1, 4) / scale_back
        owner = torch.arange(count, device=device).repeat(len(SEED_SCALES))
        offsets, scores = self._classify(self.rnet, small, frame[owner], boxes, 24)
        boxes = _regress(boxes, offsets)
        scores = torch.where(scores > self.thresholds[1], scores, torch.full_like(scores, -1.0))
        best = scores.view(len(SEED_SCALES), count).argmax(dim=0) * count + torch.arange(count, device=device)
        accepted = scores[best] > 0
        answers: list[FaceDetection | None] = [None] * count
        if not bool(accepted.any()):
            return answers
        kept = best[accepted]
        out_boxes, out_scores, out_points = self._place(pixels, frame[owner[kept]], _square(boxes[kept]) * scale_back)
        for number, box, score, points, passed in zip(
            owner[kept].tolist(),
            out_boxes.cpu().numpy(),
            out_scores.tolist(),
            out_points.cpu().numpy(),
            (out_scores > self.thresholds[2]).tolist(),
            strict=True,
        ):
            if passed:
                answers[number] = FaceDetection(box=box, score=score, landmarks=points)
        return answers

    def _detect_batch(
        self, pixels: torch.Tensor, small: torch.Tensor, scale_back: float, min_face: int
    ) -> list[list[FaceDetection]]:
        """The cascade on uint8 frames (B, H, W, 3) of one size, contiguous on the device.

        P-Net and R-Net see ``small`` (``pixels`` itself unless proposals come from down-scaled
        frames); their boxes are multiplied by ``scale_back`` before O-Net looks at ``pixels``.
        """
        frame, boxes = self._propose(small, min_face)
        if len(boxes):
            frame, boxes = self._refine(small, frame, boxes)
        if len(boxes) and scale_back != 1.0:
            boxes = boxes * scale_back
        if len(boxes):
            frame, boxes, scores, landmarks = self._output(pixels, frame, boxes)
        else:
            scores, landmarks = boxes.new_zeros(0), boxes.new_zeros((0, 5, 2))
        found: list[list[FaceDetection]] = [[] for _ in range(pixels.shape[0])]
        for f, box, score, points in zip(
            frame.tolist(), boxes.cpu().numpy(), scores.tolist(), landmarks.cpu().numpy(), strict=True
        ):
            found[f].append(FaceDetection(box=box, score=score, landmarks=points))
        return found

    def _propose(self, pixels: torch.Tensor, min_face: int) -> tuple[torch.Tensor, torch.Tensor]:
        """P-Net over the image pyramid: (frame index, square box) of each candidate."""
        batch, height, width, _ = pixels.shape
        pyramid = _AreaPyramid(pixels)
        threshold = self.thresholds[0]
        min_log_odds = math.log(threshold / (1 - threshold)) if threshold > 0 else -math.inf
        frames, boxes, scores, groups = [], [], [], []
        for level, (scale, out_h, out_w) in enumerate(_pyramid(height, width, min_face, self.scale_factor)):
            offsets, log_odds = self.pnet(_normalize(pyramid.level(out_h, out_w)).permute(0, 3, 1, 2))
            f, y, x = (log_odds > min_log_odds).nonzero(as_tuple=True)
            # The window of output (y, x) spans pixels 2x+1 .. 2x+12 as the reference counts them (an
            # 11-pixel box, as in the original MATLAB code); offsets are fractions of that size.
            corner = torch.stack([x, y], dim=1).float() * PNET_STRIDE
            window = torch.cat([corner + 1, corner + PNET_CELL], dim=1)
            boxes.append((window + offsets[f, :, y, x] * (PNET_CELL - 1)) / scale)
            scores.append(log_odds[f, y, x].sigmoid())
            frames.append(f)
            groups.append(f + level * batch)
        if not boxes:  # frame smaller than one P-Net window at min_face
            return torch.zeros(0, dtype=torch.long, device=pixels.device), torch.zeros((0, 4), device=pixels.device)
        frame, box, score, group = (torch.cat(t) for t in (frames, boxes, scores, groups))
        keep = _nms(box, score, group, self.nms_thresholds[0])
        frame, box, score = frame[keep], box[keep], score[keep]
        keep = _nms(box, score, frame, self.nms_thresholds[1])
        return frame[keep], _square(box[keep])

    def _classify(
        self, net: nn.Module, pixels: torch.Tensor, frame: torch.Tensor, boxes: torch.Tensor, size: int
    ) -> list[torch.Tensor]:
        """Run ``net`` on ``size``×``size`` crops of all boxes of all frames, in bounded chunks."""
        outputs = [
            net(_crop(pixels, frame[i : i + MAX_CROPS_PER_CHUNK], boxes[i : i + MAX_CROPS_PER_CHUNK], size))
            for i in range(0, len(boxes), MAX_CROPS_PER_CHUNK)
        ]
        return [torch.cat(parts) for parts in zip(*outputs, strict=True)]

    def _refine(
        self, pixels: torch.Tensor, frame: torch.Tensor, boxes: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """R-Net: rescore and regress the candidates, drop the weak and the duplicates."""
        offsets, scores = self._classify(self.rnet, pixels, frame, boxes, 24)
        boxes = _regress(boxes, offsets)
        mask = scores > self.thresholds[1]
        frame, boxes, scores = frame[mask], boxes[mask], scores[mask]
        keep = _nms(boxes, scores, frame, self.nms_thresholds[2])
        return frame[keep], _square(boxes[keep])

    def _place(
        self, pixels: torch.Tensor, frame: torch.Tensor, boxes: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """O-Net on every box: regressed boxes, face probabilities and landmarks, nothing dropped."""
        offsets, points, scores = self._classify(self.onet, pixels, frame, boxes, 48)
        size = boxes[:, 2:] - boxes[:, :2] + 1
        # Landmarks are fractions of the box O-Net saw, placed as the reference does (its "- 1" included).
        landmarks = torch.stack([points[:, :5], points[:, 5:]], dim=2) * size[:, None] + boxes[:, None, :2] - 1
        return _regress(boxes, offsets), scores, landmarks

    def _output(self, pixels: torch.Tensor, frame: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """O-Net: final score, box and landmarks; one box per face. Sorted by frame, then score."""
        boxes, scores, landmarks = self._place(pixels, frame, boxes)
        mask = scores > self.thresholds[2]
        frame, boxes, scores, landmarks = frame[mask], boxes[mask], scores[mask], landmarks[mask]
        keep = _nms(boxes, scores, frame, self.nms_thresholds[3], smaller=True)
        return frame[keep], boxes[keep], scores[keep], landmarks[keep]
