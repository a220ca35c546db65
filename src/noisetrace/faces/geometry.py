"""Crop geometry: the paper's enlarged face box, cut from the full-resolution frame.

Paper, §3.2: "The resulting crop is enlarged by 20% in both height and width to guarantee the presence
of both manipulated and authentic regions then resized to 224 × 224." The box is enlarged about its
centre; where it leaves the frame the missing part is filled with black (constant padding), so the face
keeps its position and scale in the crop instead of being shifted or stretched at image borders.
The aspect ratio is not forced square, as in the paper: the enlarged box is resized directly.
"""

from __future__ import annotations

import cv2
import numpy as np

PAPER_ENLARGEMENT = 1.2
PAPER_CROP_SIZE = 224


def enlarge_box(box: np.ndarray, factor: float = PAPER_ENLARGEMENT) -> np.ndarray:
    """Scale a ``x1, y1, x2, y2`` box about its centre by ``factor`` in width and height."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = (x2 - x1) * factor / 2, (y2 - y1) * factor / 2
    return np.array([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dtype=np.float32)


def crop_and_resize(frame: np.ndarray, box: np.ndarray, size: int = PAPER_CROP_SIZE) -> np.ndarray:
    """Cut ``box`` (frame pixels, may exceed the frame) out of ``frame`` and resize to ``size``².

    Integer pixel bounds are taken by rounding; area interpolation when shrinking (no aliasing of the
    high-frequency content SRM studies), cubic when enlarging.
    """
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    pad_left, pad_top = max(0, -x1), max(0, -y1)
    pad_right, pad_bottom = max(0, x2 - width), max(0, y2 - height)
    patch = frame[max(0, y1) : min(height, y2), max(0, x1) : min(width, x2)]
    if pad_left or pad_top or pad_right or pad_bottom:
        patch = cv2.copyMakeBorder(
            np.ascontiguousarray(patch),
            pad_top,
            pad_bottom,
            pad_left,
            pad_right,
            cv2.BORDER_CONSTANT,
            value=0,
        )
    shrinking = patch.shape[0] >= size and patch.shape[1] >= size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(patch, (size, size), interpolation=interpolation)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes."""
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def points_in_crop(points: np.ndarray, box: np.ndarray, size: int = PAPER_CROP_SIZE) -> np.ndarray:
    """Map frame-pixel ``points`` (e.g. the five landmarks) into the ``size``² crop of ``box``.

    The inverse of what :func:`crop_and_resize` does to pixels: the same rounded bounds, then the
    (generally non-uniform) scale of the resize, so a landmark lands on the same face feature in
    the crop. Training-time blending draws its masks from these points.
    """
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    scale = np.array([size / (x2 - x1), size / (y2 - y1)], dtype=np.float64)
    return (np.asarray(points, dtype=np.float64) - np.array([x1, y1], dtype=np.float64)) * scale
