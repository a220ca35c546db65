"""Face crop → model input: read the lossless crop, resize, and deliver RGB in ``[0, 1]``.

Models normalize their own input (mean/std, or the SRM layer), so the data stage produces one kind
of tensor for every model and domain. Resizing is the only default step: the paper describes no
augmentation, and any resampling or noise added here would alter exactly the high-frequency residuals
the SRM domain studies. A horizontal flip is offered as an option because it moves pixels without
changing their values or their local neighbourhoods (SRM kernels KB and KV are left-right symmetric;
the second-order horizontal kernel is symmetric too), so residual statistics survive it.

Crops can also travel as ``uint8`` and become floats on the accelerator (:func:`to_unit_float`): a
batch then moves a quarter of the bytes between loader processes, through pinned memory and to the
GPU. On an H100 machine with 16 loader workers this raised the loading rate of 224² crops from about
3,300 to 4,500 images/s, where decoding and moving float batches had become the training bottleneck.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch

from noisetrace.faces.cache import read_crop

__all__ = ["load_face", "to_tensor", "to_unit_float"]


def to_tensor(
    rgb: np.ndarray, image_size: int, *, hflip: bool = False, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB → ``(3, image_size, image_size)``: float32 in ``[0, 1]``, or the uint8
    values themselves with ``dtype=torch.uint8``.

    Crops in the cache are already 224² (the paper's size), so at the default size this is a pure
    conversion. Other sizes use area interpolation when shrinking (it averages, so it does not alias
    high frequencies into new false residuals) and bicubic when enlarging.
    """
    if dtype not in (torch.float32, torch.uint8):
        raise ValueError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
    height, width = rgb.shape[:2]
    if (height, width) != (image_size, image_size):
        shrinking = image_size < min(height, width)
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
        rgb = cv2.resize(rgb, (image_size, image_size), interpolation=interpolation)
    chw = rgb[:, ::-1].transpose(2, 0, 1) if hflip else rgb.transpose(2, 0, 1)
    # NumPy, not torch, converts: torch would split these small element-wise operations over its
    # intra-op thread pool, whose synchronization costs more than the work (10-20 ms instead of 0.2 ms
    # per crop on a busy 2-core machine) whenever a loader runs in the training process.
    if dtype == torch.uint8:
        return torch.from_numpy(np.ascontiguousarray(chw))
    unit = np.ascontiguousarray(chw, dtype=np.float32)
    unit /= np.float32(255)
    return torch.from_numpy(unit)


def load_face(
    path: str | os.PathLike[str], image_size: int, hflip: bool = False, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Read one cached crop as a tensor (see :func:`to_tensor`), optionally mirrored left-right."""
    return to_tensor(read_crop(path), image_size, hflip=hflip, dtype=dtype)


def to_unit_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels → float32 in ``[0, 1]`` (where the batch already is, e.g. on the GPU); float
    input is returned unchanged. Equal, bit for bit, to what ``to_tensor(..., dtype=float32)`` gives."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255)
    return x
