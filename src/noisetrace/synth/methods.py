"""Simulated manipulation methods, registered by name.

Each method stands in for a *family* of real manipulations and leaves that family's traces, so
that a detector trained or tested on the synthetic benchmark meets the same kinds of evidence
(../shared/DESIGN.md, ``synth``):

- ``swap``: graphics face swap (FaceSwap in FF++): another person's face, aligned on five
  landmarks, colour-matched, pasted through a feathered or Poisson-blended mask. Traces: a blending
  boundary, a second camera's noise and resolution inside the face, identity mismatch.
- ``selfblend``: Self-Blended Images (Shiohara & Yamasaki, CVPR 2022): a frame blended onto itself
  after colour/frequency perturbation and a slight warp. Traces: blending boundary and statistics
  mismatch with *no* identity change, the generic cue SBI trains detectors on.
- ``resample``: the face down- and up-scaled, then blended (DSP-FWA, Li & Lyu 2019): GAN decoders
  render faces at a fixed low resolution that is then warped to the frame. Trace: missing high
  frequencies inside the face.
- ``reenact``: the mouth (and sometimes the eyes) taken from other frames of the same video or
  warped, identity unchanged (Face2Face, NeuralTextures). Traces: local, expression-only edits.
- ``flicker``: mask, colour and blur redrawn every frame: faint in one frame, plain across frames,
  the temporal inconsistency of frame-by-frame generators that sequence models (the paper's LSTM)
  should catch.

A method sees only pixels and landmarks: a :class:`Clip` of the target (and, for ``swap``, of the
source) and one :class:`numpy.random.Generator`. All randomness comes from that generator, so one
seed gives the same frames byte for byte. Per-video parameters are drawn first, then per-frame
values in frame order. Frames without a face are returned unchanged and recorded as such.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2
import numpy as np

from noisetrace.core.errors import ConfigError
from noisetrace.synth import masks
from noisetrace.synth.masks import Ellipse, Roi


@dataclass
class FaceTrack:
    """Five landmarks per frame for one subject; ``valid[i]`` is False where no face was found."""

    landmarks: np.ndarray  # (N, 5, 2) float32, frame pixels; rows of invalid frames are ignored
    valid: np.ndarray  # (N,) bool

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.valid = np.asarray(self.valid, dtype=bool)
        if self.landmarks.shape[1:] != (5, 2) or len(self.valid) != len(self.landmarks):
            raise ValueError(f"landmarks must be (N, 5, 2) with N valid flags; got {self.landmarks.shape}")

    @property
    def valid_indices(self) -> np.ndarray:
        return np.flatnonzero(self.valid)


@dataclass
class Clip:
    """Decoded RGB frames ``(N, H, W, 3)`` uint8 and their face track."""

    frames: np.ndarray
    track: FaceTrack

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, H, W, 3) uint8; got {self.frames.shape} {self.frames.dtype}")
        if len(self.frames) != len(self.track.valid):
            raise ValueError(f"{len(self.frames)} frames but a track of {len(self.track.valid)}")


@dataclass
class FakeResult:
    """A manipulated clip plus everything needed to explain it: per-video and per-frame records."""

    frames: np.ndarray
    params: dict[str, Any]
    per_frame: list[dict[str, Any]]  # masks rebuild with masks.weights_from_record


@dataclass
class FrameMask:
    """What a method decides for one frame before rendering: where, how soft, how strong."""

    polygons: list[np.ndarray]
    feather: float
    opacity: float
    extra: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available by its ``name`` (CLI choices, tests, benchmark)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"method {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def list_methods() -> list[str]:
    """Registered method names, in registration order."""
    return list(_REGISTRY)


def get_method(name: str) -> Method:
    """A fresh instance of the method called ``name``."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ConfigError(f"Unknown synth method {name!r}; choose from {', '.join(_REGISTRY)}.") from None


def make_rng(seed: int, method: str, video_id: str) -> tuple[np.random.Generator, list[int]]:
    """One generator per (seed, method, fake video), independent of processing order and workers.

    Returns the generator and its spawn key (CRC-32 of the method and of the video id), which the
    per-fake JSON records so the stream can be recreated with ``numpy.random.SeedSequence``.
    """
    key = [zlib.crc32(method.encode()), zlib.crc32(video_id.encode())]
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key)), key


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


class Method(ABC):
    """A manipulation: per-video parameters, then per frame a mask and a rendered face region.

    Subclasses implement :meth:`sample_params`, :meth:`frame_mask` and :meth:`render`; :meth:`apply`
    owns the frame loop, ROI handling and blending so every method obeys the same contract:
    frames without a face and pixels with zero weight come out unchanged.
    """

    name: ClassVar[str]
    uses_source: ClassVar[bool] = False

    @abstractmethod
    def sample_params(self, rng: np.random.Generator, target: Clip, source: Clip | None) -> dict[str, Any]:
        """Per-video parameters (JSON-serialisable), drawn once so a fake is temporally coherent."""

    def frame_mask(self, index: int, target: Clip, params: dict[str, Any], rng: np.random.Generator) -> FrameMask:
        """The mask of frame ``index`` (a face is present there).

        By default the ``params`` face shape on this frame's landmarks, feathered by a fraction of the
        face size, at ``params["opacity"]`` (1 when absent); methods with other regions override it.
        """
        landmarks = target.track.landmarks[index]
        feather = _round(params["feather_fraction"] * masks.face_size(landmarks), 2)
        return FrameMask([masks.shape_polygon(_shape(params), landmarks)], feather, params.get("opacity", 1.0))

    @abstractmethod
    def render(
        self,
        index: int,
        roi: Roi,
        alpha: np.ndarray,
        mask: FrameMask,
        target: Clip,
        source: Clip | None,
        params: dict[str, Any],
    ) -> np.ndarray:
        """The manipulated pixels of ``roi`` (``(h, w, 3)`` uint8 or float32), before blending."""

    def apply(
        self,
        target: Clip,
        rng: np.random.Generator,
        source: Clip | None = None,
    ) -> FakeResult:
        """Manipulate every frame of ``target`` that has a face (``source``: the donor, for ``swap``)."""
        if self.uses_source and (source is None or not source.track.valid.any()):
            raise ValueError(f"method {self.name!r} needs a source clip with at least one face")
        if not target.track.valid.any():
            raise ValueError("the target clip has no face")
        params = self.sample_params(rng, target, source if self.uses_source else None)
        out = target.frames.copy()
        per_frame: list[dict[str, Any]] = []
        for index in range(len(out)):
            record: dict[str, Any] = {"frame": index, "face": bool(target.track.valid[index])}
            if record["face"]:
                mask = self.frame_mask(index, target, params, rng)
                roi = masks.polygons_roi(mask.polygons, out.shape[1:])
                if roi is None:
                    record.update(face=False, reason="mask outside frame")
                else:
                    alpha = masks.rasterize(mask.polygons, mask.feather, mask.opacity, roi)
                    fake = self.render(index, roi, alpha, mask, target, source, params)
                    masks.blend(out[index], fake, alpha, roi)
                    record.update(
                        polygons=[p.tolist() for p in mask.polygons],
                        feather=mask.feather,
                        opacity=mask.opacity,
                        **mask.extra,
                    )
            else:
                record["reason"] = "no face"
            per_frame.append(record)
        return FakeResult(frames=out, params=params, per_frame=per_frame)


def _require(source: Clip | None) -> Clip:
    if source is None:
        raise ValueError("this method needs a source clip")
    return source


def _median_face_size(track: FaceTrack) -> float:
    sizes = [masks.face_size(track.landmarks[i]) for i in track.valid_indices]
    return float(np.median(sizes))


def _warp_into(image: np.ndarray, matrix: np.ndarray, roi: Roi) -> np.ndarray:
    """``image`` warped by ``matrix`` (frame → frame), sampled only over ``roi``."""
    to_roi = np.vstack([roi.offset(), [0.0, 0.0, 1.0]]) @ np.vstack([matrix, [0.0, 0.0, 1.0]])
    return cv2.warpAffine(
        image, to_roi[:2], (roi.width, roi.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def _masked_stats(image: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 ``image`` where weights reach half their peak.

    The colour statistics of the face proper, not of the feathered seam; ``cv2.meanStdDev`` with a
    mask is ~10× faster than the same sums in NumPy on a 300×300 face.
    """
    inside = (weights >= 0.5 * float(weights.max())).astype(np.uint8)
    mean, std = cv2.meanStdDev(image, mask=inside)
    return mean.ravel().astype(np.float32), np.maximum(std.ravel(), 1e-3).astype(np.float32)


def colour_transfer(fake: np.ndarray, real: np.ndarray, weights: np.ndarray, strength: float) -> np.ndarray:
    """Reinhard colour transfer in CIE Lab inside the mask: the colour matching FaceSwap applies.

    Moves the pasted face's per-channel mean and spread toward the target's skin so the swap is
    not given away by a colour jump; ``strength`` in ``[0, 1]`` leaves part of the source's tone.
    8-bit Lab (OpenCV's scaled encoding) is used: the float conversion costs 5× more per frame.
    """
    fake_lab = cv2.cvtColor(fake, cv2.COLOR_RGB2LAB)
    real_lab = cv2.cvtColor(np.ascontiguousarray(real), cv2.COLOR_RGB2LAB)
    fm, fs = _masked_stats(fake_lab, weights)
    rm, rs = _masked_stats(real_lab, weights)
    gain = np.float32(1.0 + strength * (rs / fs - 1.0))
    offset = np.float32(strength * (rm - fm))
    matched = (fake_lab.astype(np.float32) - fm) * gain + fm + offset
    return cv2.cvtColor(np.clip(np.rint(matched), 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _shape(params: dict[str, Any]) -> Ellipse:
    base = {"face": masks.FACE, "inner": masks.INNER_FACE}[params["mask_shape"]]
    return base.scaled(params["mask_scale"][0], params["mask_scale"][1])


@register_method
class Swap(Method):
    """Graphics face swap (FaceSwap): the source person's face on the target's head.

    The source frame is aligned by the least-squares similarity between its five landmarks and the
    target's, so the pasted face keeps the source's own proportions (eye spacing, nose-to-mouth
    distance) and texture: the identity changes, the pose follows the target.
    """

    name = "swap"
    uses_source = True

    def sample_params(self, rng: np.random.Generator, target: Clip, source: Clip | None) -> dict[str, Any]:
        source = _require(source)
        poisson = bool(rng.random() < 0.5)
        return {
            "blend": "poisson" if poisson else "feather",
            "mask_shape": "face",
            "mask_scale": [_round(rng.uniform(0.85, 1.0)), _round(rng.uniform(0.85, 1.0))],
            "feather_fraction": _round(rng.uniform(0.01, 0.03) if poisson else rng.uniform(0.06, 0.14)),
            "colour_strength": _round(rng.uniform(0.8, 1.0)),
            "source_start": int(rng.integers(len(source.track.valid_indices))),
        }

    def render(
        self,
        index: int,
        roi: Roi,
        alpha: np.ndarray,
        mask: FrameMask,
        target: Clip,
        source: Clip | None,
        params: dict[str, Any],
    ) -> np.ndarray:
        source = _require(source)
        valid = source.track.valid_indices
        j = int(valid[(params["source_start"] + index) % len(valid)])
        mask.extra["source_frame"] = j
        matrix = masks.similarity_transform(source.track.landmarks[j], target.track.landmarks[index])
        warped = _warp_into(source.frames[j], matrix, roi)
        real = target.frames[index][roi.slices]
        fake = colour_transfer(warped, real, alpha, params["colour_strength"])
        if params["blend"] == "poisson":
            fake = _poisson(fake, real, alpha)
        return fake


def _poisson(fake: np.ndarray, real: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Poisson (gradient-domain) blending of ``fake`` into ``real`` inside ``alpha > 0``.

    The seam-free paste of Pérez et al. (2003) that many swap pipelines use instead of feathering;
    the blended colours drift toward the surroundings, but source gradients (texture) remain.
    """
    binary = (alpha > 0).astype(np.uint8) * 255
    binary[[0, -1], :] = 0
    binary[:, [0, -1]] = 0
    ys, xs = np.nonzero(binary)
    if len(xs) == 0:
        return fake
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    center = (int(x0 + (x1 - x0) // 2), int(y0 + (y1 - y0) // 2))
    src = np.clip(np.rint(fake), 0, 255).astype(np.uint8)
    return cv2.seamlessClone(src, np.ascontiguousarray(real), binary, center, cv2.NORMAL_CLONE)


def _perturb_colour(image: np.ndarray, colour: dict[str, Any]) -> np.ndarray:
    """RGB shift, brightness/contrast and saturation: SBI's source-target colour augmentation."""
    img = image.astype(np.float32) + np.float32(colour["rgb_shift"])
    mean = img.mean()
    img = (img - mean) * np.float32(colour["contrast"]) + mean + np.float32(colour["brightness"] * 255.0)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * np.float32(colour["saturation"])
    return np.clip(img, 0.0, 255.0)


def _perturb_frequency(image: np.ndarray, kind: str, amount: float) -> np.ndarray:
    """Blur, sharpen or down/up-sample: SBI's frequency augmentation (changes the noise spectrum)."""
    img = image.astype(np.float32)
    if kind == "blur":
        return cv2.GaussianBlur(img, (0, 0), sigmaX=amount)
    if kind == "sharpen":
        soft = cv2.GaussianBlur(img, (0, 0), sigmaX=1.0)
        return np.clip(img + amount * (img - soft), 0.0, 255.0)
    height, width = img.shape[:2]
    small = cv2.resize(img, (max(int(width * amount), 2), max(int(height * amount), 2)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _scale_about(center: np.ndarray, scale: float, shift: np.ndarray) -> np.ndarray:
    """2×3 affine: scale about ``center`` then translate by ``shift`` (frame pixels)."""
    return np.array(
        [
            [scale, 0.0, center[0] * (1 - scale) + shift[0]],
            [0.0, scale, center[1] * (1 - scale) + shift[1]],
        ]
    )


@register_method
class SelfBlend(Method):
    """Self-Blended Images (SBI): the frame, perturbed and slightly warped, blended onto itself.

    Parameters are drawn once per video, so the fake is temporally smooth: the mask moves only with
    the face. What remains is a blending boundary and a colour/frequency mismatch inside it.
    """

    name = "selfblend"

    def sample_params(self, rng: np.random.Generator, target: Clip, source: Clip | None) -> dict[str, Any]:
        kind = str(rng.choice(["blur", "sharpen", "downscale"]))
        amount = {
            "blur": rng.uniform(0.6, 1.4),
            "sharpen": rng.uniform(0.3, 0.8),
            "downscale": rng.uniform(0.4, 0.7),
        }
        return {
            "mask_shape": str(rng.choice(["face", "inner"])),
            "mask_scale": [_round(rng.uniform(0.9, 1.05)), _round(rng.uniform(0.9, 1.05))],
            "feather_fraction": _round(rng.uniform(0.04, 0.15)),
            "opacity": float(rng.choice([0.5, 0.75, 1.0, 1.0])),
            "colour": {
                "rgb_shift": [_round(v, 2) for v in rng.uniform(-15.0, 15.0, size=3)],
                "brightness": _round(rng.uniform(-0.08, 0.08)),
                "contrast": _round(rng.uniform(0.9, 1.1)),
                "saturation": _round(rng.uniform(0.85, 1.15)),
            },
            "frequency": {"kind": kind, "amount": _round(amount[kind])},
            "warp": {
                "scale": _round(rng.uniform(0.97, 1.03)),
                "shift": [_round(v) for v in rng.uniform(-0.03, 0.03, size=2)],
            },
        }

    def render(
        self,
        index: int,
        roi: Roi,
        alpha: np.ndarray,
        mask: FrameMask,
        target: Clip,
        source: Clip | None,
        params: dict[str, Any],
    ) -> np.ndarray:
        landmarks = target.track.landmarks[index]
        size = masks.face_size(landmarks)
        warp = _scale_about(landmarks.mean(axis=0), params["warp"]["scale"], np.asarray(params["warp"]["shift"]) * size)
        fake = _warp_into(target.frames[index], warp, roi)
        fake = _perturb_colour(fake, params["colour"])
        return _perturb_frequency(fake, params["frequency"]["kind"], params["frequency"]["amount"])


@register_method
class Resample(Method):
    """Face resampling (DSP-FWA): the face rendered at a low resolution and scaled back up.

    The working resolution is drawn in *face* pixels (48–128 px across, the output sizes of common
    GAN face decoders), so the down-scaling factor adapts to how large the face is in the video.
    """

    name = "resample"

    def sample_params(self, rng: np.random.Generator, target: Clip, source: Clip | None) -> dict[str, Any]:
        resolution = int(rng.choice([48, 64, 96, 128]))
        factor = max(_median_face_size(target.track) / resolution, 1.5)
        return {
            "face_resolution": resolution,
            "factor": _round(factor),
            "upsample": str(rng.choice(["linear", "cubic"])),
            "mask_shape": "face",
            "mask_scale": [_round(rng.uniform(0.9, 1.05)), _round(rng.uniform(0.9, 1.05))],
            "feather_fraction": _round(rng.uniform(0.05, 0.12)),
        }

    def render(
        self,
        index: int,
        roi: Roi,
        alpha: np.ndarray,
        mask: FrameMask,
        target: Clip,
        source: Clip | None,
        params: dict[str, Any],
    ) -> np.ndarray:
        region = target.frames[index][roi.slices]
        factor = params["factor"]
        small = cv2.resize(
            region,
            (max(round(roi.width / factor), 2), max(round(roi.height / factor), 2)),
            interpolation=cv2.INTER_AREA,
        )
        interp = cv2.INTER_CUBIC if params["upsample"] == "cubic" else cv2.INTER_LINEAR
        return cv2.resize(small, (roi.width, roi.height), interpolation=interp)


@register_method
class Reenact(Method):
    """Expression reenactment (Face2Face, NeuralTextures): mouth/eyes changed, identity kept.

    ``retime`` pastes the mouth (and eyes) of another frame of the same video, aligned on the
    landmarks, so the expression no longer matches the moment; ``warp`` opens and closes the mouth
    with a smooth, time-varying deformation. Only a small region changes, always the same person.
    """

    name = "reenact"

    def sample_params(self, rng: np.random.Generator, target: Clip, source: Clip | None) -> dict[str, Any]:
        n_valid = len(target.track.valid_indices)
        mode = str(rng.choice(["retime", "warp"])) if n_valid >= 2 else "warp"
        params: dict[str, Any] = {
            "mode": mode,
            "regions": ["mouth", "eyes"] if mode == "retime" and rng.random() < 0.3 else ["mouth"],
            "mask_scale": [_round(rng.uniform(0.9, 1.15)), _round(rng.uniform(0.9, 1.15))],
            "feather_fraction": _round(rng.uniform(0.03, 0.06)),
        }
        if mode == "retime":
            params["offset"] = int(rng.integers(max(n_valid // 4, 1), max(3 * n_valid // 4, 2)))
        else:
            params["amplitude"] = _round(rng.uniform(0.03, 0.06))
            params["period_frames"] = _round(rng.uniform(12.0, 40.0), 2)
            params["phase"] = _round(rng.uniform(0.0, 2.0 * np.pi))
        return params

    def frame_mask(self, index: int, target: Clip, params: dict[str, Any], rng: np.random.Generator) -> FrameMask:
        landmarks = target.track.landmarks[index]
        sx, sy = params["mask_scale"]
        shapes = {"mouth": masks.MOUTH, "eyes": masks.EYES}
        polygons = [masks.shape_polygon(shapes[r].scaled(sx, sy), landmarks) for r in params["regions"]]
        feather = _round(params["feather_fraction"] * masks.face_size(landmarks), 2)
        return FrameMask(polygons, feather, 1.0)

    def render(
        self,
        index: int,
        roi: Roi,
        alpha: np.ndarray,
        mask: FrameMask,
        target: Clip,
        source: Clip | None,
        params: dict[str, Any],
    ) -> np.ndarray:
        landmarks = target.track.landmarks[index]
        if params["mode"] == "retime":
            valid = target.track.valid_indices
            position = int(np.searchsorted(valid, index))
            j = int(valid[(position + params["offset"]) % len(valid)])
            mask.extra["source_frame"] = j
            matrix = masks.similarity_transform(target.track.landmarks[j], landmarks)
            fake = _warp_into(target.frames[j], matrix, roi)
            # Same person, same light, but another moment: match the local mean colour.
            fake_mean, _ = _masked_stats(fake, alpha)
            real_mean, _ = _masked_stats(target.frames[index][roi.slices], alpha)
            return np.clip(fake.astype(np.float32) + (real_mean - fake_mean), 0.0, 255.0)
        opening = params["amplitude"] * np.sin(2.0 * np.pi * index / params["period_frames"] + params["phase"])
        mask.extra["opening"] = _round(opening)
        return _open_mouth(target.frames[index], landmarks, opening, roi)


def _open_mouth(frame: np.ndarray, landmarks: np.ndarray, opening: float, roi: Roi) -> np.ndarray:
    """Stretch the mouth vertically by ``opening`` face units (negative closes it), smoothly.

    A Gaussian-weighted displacement away from the mouth's centre line along the face's vertical
    axis, sampled with ``cv2.remap`` over the ROI only.
    """
    to_frame = masks.template_to_frame(landmarks)
    size = masks.face_size(landmarks)
    center = masks.apply_affine(to_frame, np.array([[masks.MOUTH.cx, masks.MOUTH.cy - 0.04]]))[0]
    down = to_frame[:, 1] / np.linalg.norm(to_frame[:, 1])  # the face's "down" axis in the frame
    ys, xs = np.mgrid[roi.y0 : roi.y1, roi.x0 : roi.x1].astype(np.float32)
    dx, dy = xs - np.float32(center[0]), ys - np.float32(center[1])
    along = dx * np.float32(down[0]) + dy * np.float32(down[1])
    sigma = np.float32(0.12 * size)
    weight = np.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))
    # Pull samples toward the centre line: content moves outward, the mouth opens.
    pull = np.float32(opening * size) * weight * np.tanh(along / (0.5 * sigma))
    map_x = xs - pull * np.float32(down[0])
    map_y = ys - pull * np.float32(down[1])
    return cv2.remap(frame, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


@register_method
class Flicker(Method):
    """Temporal flicker: mask, colour and blur redrawn independently for every frame.

    Each frame on its own is a faint self-blend (a few percent of colour, under two pixels of
    blur); across frames the mask outline jumps by several percent of the face size, the
    inconsistency of generators that work one frame at a time.
    """

    name = "flicker"

    def sample_params(self, rng: np.random.Generator, target: Clip, source: Clip | None) -> dict[str, Any]:
        return {
            "mask_shape": str(rng.choice(["face", "inner"])),
            "mask_scale": [1.0, 1.0],
            "scale_jitter": _round(rng.uniform(0.08, 0.15)),
            "shift_jitter": _round(rng.uniform(0.02, 0.05)),
            "gain_jitter": _round(rng.uniform(0.03, 0.06)),
            "max_blur": _round(rng.uniform(0.8, 1.8)),
            "feather_fraction": [0.03, 0.12],
            "opacity": [0.6, 1.0],
        }

    def frame_mask(self, index: int, target: Clip, params: dict[str, Any], rng: np.random.Generator) -> FrameMask:
        landmarks = target.track.landmarks[index]
        sx, sy = 1.0 + rng.uniform(-1.0, 1.0, size=2) * params["scale_jitter"]
        tx, ty = rng.uniform(-1.0, 1.0, size=2) * params["shift_jitter"]
        shape = _shape(params)
        jitter = np.array([[sx, 0.0, shape.cx * (1 - sx) + tx], [0.0, sy, shape.cy * (1 - sy) + ty]])
        feather = _round(rng.uniform(*params["feather_fraction"]) * masks.face_size(landmarks), 2)
        opacity = _round(rng.uniform(*params["opacity"]))
        extra = {
            "jitter": [_round(v) for v in (sx, sy, tx, ty)],
            "gain": [_round(v) for v in 1.0 + rng.uniform(-1.0, 1.0, size=3) * params["gain_jitter"]],
            "blur": _round(rng.uniform(0.0, params["max_blur"])),
        }
        return FrameMask([masks.shape_polygon(shape, landmarks, jitter)], feather, opacity, extra)

    def render(
        self,
        index: int,
        roi: Roi,
        alpha: np.ndarray,
        mask: FrameMask,
        target: Clip,
        source: Clip | None,
        params: dict[str, Any],
    ) -> np.ndarray:
        fake = target.frames[index][roi.slices].astype(np.float32) * np.float32(mask.extra["gain"])
        if mask.extra["blur"] > 0.05:
            fake = cv2.GaussianBlur(fake, (0, 0), sigmaX=mask.extra["blur"])
        return np.clip(fake, 0.0, 255.0)
