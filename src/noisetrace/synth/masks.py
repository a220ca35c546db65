"""Face masks from five landmarks: polygons in frame pixels, feathered into blending weights.

Real manipulations paste a generated region back through a mask, and the mask's border is where
most of their detectable traces sit (blending boundaries, Li et al. Face X-ray, CVPR 2020). MTCNN
gives only five points, too few for a landmark hull, so every mask here is a *template shape*
drawn once in the canonical 5-point alignment frame (the widely used 112×112 ArcFace template,
normalised to the unit square) and mapped into each frame by the similarity transform that aligns
the template points with that frame's landmarks. The shape then follows pose, scale and roll.

Masks are stored as convex polygons snapped to 1/8 pixel (short, exact JSON numbers), plus a
feather radius and an opacity: the per-fake JSON holds exactly what :func:`rasterize` needs to
rebuild the blending weights bit for bit. Feathering ramps *inward* from the polygon's edge, so a
pixel outside every polygon has weight 0 and is never touched by a method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# ArcFace 112×112 five-point template (left eye, right eye, nose, mouth left, mouth right) / 112.
TEMPLATE_POINTS = (
    np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ],
        dtype=np.float64,
    )
    / 112.0
)

_SUBPIXEL = 8.0  # polygon coordinates are multiples of 1/8 px
ROI_PAD = 4  # zero-weight border around a mask: Poisson blending needs the mask off the ROI's edge


@dataclass(frozen=True)
class Ellipse:
    """An ellipse in template (unit-square) coordinates; the building block of every mask shape.

    ``FACE`` (brows to chin, cheek to cheek) and ``INNER_FACE`` (eyes to mouth): the regions face
    swaps and self-blending replace. ``MOUTH`` and ``EYES``: the expression regions that reenactment
    (Face2Face, NeuralTextures) redraws.
    """

    cx: float
    cy: float
    rx: float
    ry: float

    def scaled(self, sx: float, sy: float) -> Ellipse:
        """The same ellipse with its radii multiplied (per-video mask-size variation)."""
        return Ellipse(self.cx, self.cy, self.rx * sx, self.ry * sy)

    def points(self, n: int = 20) -> np.ndarray:
        """``n`` boundary points by increasing angle from the rightmost one, in template coordinates."""
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        return np.stack([self.cx + self.rx * np.cos(t), self.cy + self.ry * np.sin(t)], axis=1)


FACE = Ellipse(cx=0.5, cy=0.64, rx=0.36, ry=0.39)
INNER_FACE = Ellipse(cx=0.5, cy=0.66, rx=0.29, ry=0.31)
MOUTH = Ellipse(cx=0.5, cy=0.84, rx=0.20, ry=0.12)
EYES = Ellipse(cx=0.5, cy=0.45, rx=0.32, ry=0.10)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    Umeyama (1991) in closed form: deterministic and free of RANSAC randomness, so the same
    landmarks always give the same mask. Returns a 2×3 matrix for ``cv2.warpAffine``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    sc, dc = src - mu_s, dst - mu_d
    cov = dc.T @ sc / len(src)
    u, s, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    var_s = (sc**2).sum() / len(src)
    scale = float((s * np.diag(sign)).sum() / var_s) if var_s > 0 else 1.0
    matrix = np.zeros((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map ``(K, 2)`` points through a 2×3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def template_to_frame(landmarks: np.ndarray) -> np.ndarray:
    """The 2×3 similarity taking template coordinates to the frame of these five landmarks."""
    return similarity_transform(TEMPLATE_POINTS, landmarks)


def face_size(landmarks: np.ndarray) -> float:
    """Face scale in pixels: the template's unit square mapped into the frame (≈ face width)."""
    matrix = template_to_frame(landmarks)
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def snap(points: np.ndarray) -> np.ndarray:
    """Round coordinates to the 1/8-px grid, so the JSON record is short and reproduces the mask."""
    return np.round(np.asarray(points, dtype=np.float64) * _SUBPIXEL) / _SUBPIXEL


def shape_polygon(shape: Ellipse, landmarks: np.ndarray, jitter: np.ndarray | None = None) -> np.ndarray:
    """The template ``shape`` placed on a face: a snapped ``(K, 2)`` polygon in frame pixels.

    ``jitter`` is an optional 2×3 affine applied in template coordinates first (per-frame mask
    wobble of the ``flicker`` method), so the recorded polygon already contains it.
    """
    points = shape.points()
    if jitter is not None:
        points = apply_affine(jitter, points)
    return snap(apply_affine(template_to_frame(landmarks), points))


@dataclass(frozen=True)
class Roi:
    """A rectangle ``[y0:y1, x0:x1]`` of the frame: methods work on this window only."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def offset(self) -> np.ndarray:
        """The 2×3 translation taking frame coordinates into ROI coordinates."""
        return np.array([[1.0, 0.0, -self.x0], [0.0, 1.0, -self.y0]])


def polygons_roi(polygons: list[np.ndarray], frame_shape: tuple[int, ...]) -> Roi | None:
    """Bounding rectangle of the polygons plus :data:`ROI_PAD` pixels, clipped to the frame.

    ``None`` when the polygons lie entirely outside the frame (a face at the very edge).
    """
    height, width = frame_shape[:2]
    allpts = np.concatenate(polygons, axis=0)
    x0 = max(int(np.floor(allpts[:, 0].min())) - ROI_PAD, 0)
    y0 = max(int(np.floor(allpts[:, 1].min())) - ROI_PAD, 0)
    x1 = min(int(np.ceil(allpts[:, 0].max())) + ROI_PAD + 1, width)
    y1 = min(int(np.ceil(allpts[:, 1].max())) + ROI_PAD + 1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Roi(x0, y0, x1, y1)


def _inside_distance(polygon: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Signed distance from pixel centres to a convex polygon's edges: positive inside, ≤ 0 outside.

    Exact and smooth (no pixel staircase), unlike a distance transform of a rasterised polygon.
    """
    start, end = polygon, np.roll(polygon, -1, axis=0)
    orientation = 1.0 if float(np.sum(start[:, 0] * end[:, 1] - end[:, 0] * start[:, 1])) > 0 else -1.0
    distance = np.full(np.broadcast_shapes(xs.shape, ys.shape), np.inf, dtype=np.float32)
    for (x0, y0), (x1, y1) in zip(start, end, strict=True):
        ex, ey = x1 - x0, y1 - y0
        length = float(np.hypot(ex, ey))
        if length == 0.0:
            continue
        a, b = np.float32(orientation * ex / length), np.float32(orientation * ey / length)
        np.minimum(distance, a * (ys - np.float32(y0)) - b * (xs - np.float32(x0)), out=distance)
    return distance


def rasterize(polygons: list[np.ndarray], feather: float, opacity: float, roi: Roi) -> np.ndarray:
    """Blending weights in ``[0, opacity]`` over ``roi``: 0 outside the polygons, ramping up inward.

    Polygons must be convex (every shape here is an ellipse under a similarity). The ramp is a
    smoothstep of the distance to the polygon edge over ``feather`` pixels, the soft seam graphics
    swaps use to hide the paste boundary; ``feather=0`` gives a hard mask. Each pixel depends only
    on its own centre, so a ROI gives exactly the values of the whole frame.
    """
    xs = np.arange(roi.x0, roi.x1, dtype=np.float32)[None, :]
    ys = np.arange(roi.y0, roi.y1, dtype=np.float32)[:, None]
    distance = np.max([_inside_distance(snap(p), xs, ys) for p in polygons], axis=0)
    if feather <= 0:
        return (distance > 0).astype(np.float32) * np.float32(opacity)
    ramp = np.clip(distance / np.float32(feather), 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp) * np.float32(opacity)).astype(np.float32)


def full_mask(polygons: list[np.ndarray], feather: float, opacity: float, frame_shape: tuple[int, ...]) -> np.ndarray:
    """:func:`rasterize` over the whole frame (previews, tests, and readers of the per-fake JSON)."""
    height, width = frame_shape[:2]
    return rasterize(polygons, feather, opacity, Roi(0, 0, width, height))


def weights_from_record(record: dict[str, Any], frame_shape: tuple[int, ...]) -> np.ndarray:
    """Rebuild one frame's blending weights from its entry in a fake's JSON ``per_frame`` list.

    Frames recorded without a face give all zeros: the method left them untouched.
    """
    if not record.get("face") or "polygons" not in record:
        return np.zeros(frame_shape[:2], dtype=np.float32)
    polygons = [np.asarray(p, dtype=np.float64) for p in record["polygons"]]
    return full_mask(polygons, float(record["feather"]), float(record["opacity"]), frame_shape)


def mask_change(previous: np.ndarray, current: np.ndarray) -> float:
    """Soft-IoU distance ``1 − Σmin/Σmax`` between two weight maps: 0 identical, 1 disjoint.

    The frame-to-frame value is the temporal signature that separates ``flicker`` (a mask that
    jumps every frame) from methods whose mask only follows the face's own motion.
    """
    union = float(np.maximum(previous, current).sum())
    if union == 0.0:
        return 0.0
    return 1.0 - float(np.minimum(previous, current).sum()) / union


def blend(frame: np.ndarray, fake: np.ndarray, alpha: np.ndarray, roi: Roi) -> np.ndarray:
    """Composite ``fake`` (ROI-sized) over ``frame`` with weights ``alpha``, in place; returns ``frame``.

    Computed as ``real + α·(fake − real)`` and rounded, so where ``α = 0`` the output equals the
    input byte for byte: a method never leaves a trace outside its mask.
    """
    region = frame[roi.slices].astype(np.float32)
    mixed = region + alpha[..., None] * (fake.astype(np.float32) - region)
    frame[roi.slices] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return frame
