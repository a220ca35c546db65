"""Contact sheets: real vs fake face crops with the mask and the amplified difference.

A person should be able to see in one image what each method does, and check that the mask
sits on the face, before training anything on the benchmark. Columns: the real crop, the fake
crop (before encoding), the blending weights, and ``|fake − real| × 4`` (flicker and self-blending
are faint on purpose; the difference shows where they act).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from noisetrace.core.io import atomic_path
from noisetrace.synth import masks

COLUMNS = ("real", "fake", "mask", "|diff| x4")
HEADER = 22  # pixels of the title band
DIFF_GAIN = 4.0


@dataclass
class PreviewRow:
    """One frame of one fake: four square tiles and a label (the FF++ video id or the method)."""

    label: str
    real: np.ndarray
    fake: np.ndarray
    mask: np.ndarray
    diff: np.ndarray


def _crop(image: np.ndarray, center: np.ndarray, side: float, tile: int) -> np.ndarray:
    """A ``tile × tile`` crop of side ``side`` around ``center``, padded with black past the frame."""
    half = side / 2.0
    scale = tile / side
    matrix = np.array([[scale, 0.0, -(center[0] - half) * scale], [0.0, scale, -(center[1] - half) * scale]])
    return cv2.warpAffine(image, matrix, (tile, tile), flags=cv2.INTER_AREA, borderValue=0)


def preview_row(
    label: str, real: np.ndarray, fake: np.ndarray, alpha: np.ndarray, landmarks: np.ndarray, tile: int = 128
) -> PreviewRow:
    """Crop one frame around its face (1.4 × the face size) into the sheet's four tiles."""
    to_frame = masks.template_to_frame(landmarks)
    center = masks.apply_affine(to_frame, np.array([[0.5, 0.6]]))[0]
    side = 1.4 * masks.face_size(landmarks)
    diff = np.abs(fake.astype(np.float32) - real.astype(np.float32)) * DIFF_GAIN
    mask_rgb = np.repeat((np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)[..., None], 3, axis=2)
    return PreviewRow(
        label=label,
        real=_crop(real, center, side, tile),
        fake=_crop(fake, center, side, tile),
        mask=_crop(mask_rgb, center, side, tile),
        diff=_crop(np.clip(diff, 0, 255).astype(np.uint8), center, side, tile),
    )


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.42) -> None:
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def contact_sheet(title: str, rows: list[PreviewRow]) -> np.ndarray:
    """Stack rows into one RGB image: ``HEADER + rows × tile`` high, ``4 × tile`` wide."""
    if not rows:
        raise ValueError("a contact sheet needs at least one row")
    tile = rows[0].real.shape[0]
    sheet = np.full((HEADER + len(rows) * tile, len(COLUMNS) * tile, 3), 32, dtype=np.uint8)
    for col, name in enumerate(COLUMNS):
        _text(sheet, f"{title}: {name}" if col == 0 else name, (col * tile + 4, 15))
    for r, row in enumerate(rows):
        y = HEADER + r * tile
        for col, image in enumerate((row.real, row.fake, row.mask, row.diff)):
            sheet[y : y + tile, col * tile : (col + 1) * tile] = image
        _text(sheet, row.label, (4, y + tile - 6))
    return sheet


def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write an RGB image as PNG, atomically."""
    path = Path(path)
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError(f"could not encode a PNG for {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())
    return path
