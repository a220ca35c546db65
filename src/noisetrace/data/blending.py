"""Fakes made while training: real face crops blended with themselves or with another face.

Self-Blended Images (Shiohara & Yamasaki, CVPR 2022) train a detector from real faces alone: a
crop blended onto a perturbed copy of itself shows a blending boundary and a colour/frequency
mismatch but no identity change, the generic trace of face manipulations, and detectors trained on
it generalize across methods they never saw. Here each real crop becomes such a fake with
probability ``probability`` every time it is drawn, so no two epochs see the same fakes.

The fakes are made by :mod:`noisetrace.synth`'s methods applied to a clip of the item's crops, so the masks,
perturbations and blending are exactly those of ``noisetrace synth`` (one implementation):

``selfblend``
    SBI itself: colour, frequency and geometry perturbation of one copy, a feathered face mask.
``swap``
    another person's crop (a different video of the split) aligned on five landmarks, colour-matched
    and pasted: the identity-changing trace of face swaps.
``resample``
    the face rendered at a low resolution and scaled back (GAN decoders' missing high frequencies).
``reenact``, ``flicker``
    the mouth retimed or warped over time, and a mask redrawn every frame: temporal traces, for
    sequence models (:class:`BlendedSequenceDataset`); on one crop they are a local warp and a faint
    self-blend.

Sequence models get windows of ``L`` consecutive crops, and a fake window is one synth fake of the
whole window (:class:`BlendedSequenceDataset`).

Augmentation for robustness (:func:`robust_augmentation`, albumentations) runs *after* blending and
on both classes, so compression, resizing, blur and noise carry no label.

Validation is deterministic: each real crop appears once as itself and once as a fake drawn from a
generator seeded by its position, so ``val/auc`` compares checkpoints on the same images.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from noisetrace.core.errors import ConfigError
from noisetrace.data.datasets import FrameItem, SequenceItem
from noisetrace.data.transforms import to_tensor
from noisetrace.faces.cache import read_crop
from noisetrace.synth import masks
from noisetrace.synth.methods import Clip, FaceTrack, get_method

__all__ = [
    "BLEND_METHODS",
    "BlendSample",
    "BlendSettings",
    "BlendedFrameDataset",
    "BlendedSequenceDataset",
    "blend_clip",
    "parse_blend_methods",
    "robust_augmentation",
]

BLEND_METHODS: tuple[str, ...] = ("selfblend", "swap", "resample", "reenact", "flicker")


def parse_blend_methods(text: str) -> tuple[tuple[str, float], ...]:
    """``"selfblend:0.6,swap:0.2,resample:0.2"`` → normalized ``((name, weight), …)``."""
    pairs: list[tuple[str, float]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, weight = part.partition(":")
        if name not in BLEND_METHODS:
            raise ConfigError(f"data.blend_methods: unknown method {name!r}; choose from {list(BLEND_METHODS)}")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"data.blend_methods: weight of {name!r} must be a number, got {weight!r}") from None
        if value < 0:
            raise ConfigError(f"data.blend_methods: weight of {name!r} must be non-negative, got {value}")
        pairs.append((name, value))
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        raise ConfigError(f"data.blend_methods needs at least one method with a positive weight, got {text!r}")
    return tuple((name, w / total) for name, w in pairs)


@dataclass(frozen=True)
class BlendSettings:
    """How training turns real crops into fakes (see the module docstring)."""

    probability: float = 0.5
    methods: tuple[tuple[str, float], ...] = (("selfblend", 0.6), ("swap", 0.2), ("resample", 0.2))

    def __post_init__(self) -> None:
        if not 0.0 < self.probability < 1.0:
            raise ConfigError(f"data.blend_probability must be in (0, 1), got {self.probability}")


@dataclass
class BlendSample:
    """One training item before augmentation: pixels, label, and where a fake was blended.

    Frame items hold one crop, ``(S, S, 3)`` pixels and ``(S, S)`` weights; sequence items hold ``L``
    consecutive crops, ``(L, S, S, 3)`` and ``(L, S, S)``.
    """

    image: np.ndarray  # uint8, the crops' own size
    label: int
    alpha: np.ndarray | None  # blending weights in [0, 1] (fakes made here), None for reals
    method: str | None


def _clip(frames: np.ndarray, landmarks: np.ndarray) -> Clip:
    return Clip(frames, FaceTrack(landmarks.astype(np.float32), np.ones(len(frames), dtype=bool)))


def blend_clip(
    frames: np.ndarray,
    landmarks: np.ndarray,
    method: str,
    rng: np.random.Generator,
    donor: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A fake of the crops ``frames`` ``(N, S, S, 3)`` made by the synth ``method``.

    ``landmarks`` ``(N, 5, 2)`` are each crop's five points in crop pixels; ``donor`` is
    ``(frames, landmarks)`` of the face pasted by ``swap``. Per-video parameters are drawn once, so a
    sequence is one temporally coherent fake (or, for ``flicker``, one that flickers on purpose).
    Returns the pixels and the per-crop blending weights ``(N, S, S)``, all 0 where the mask fell
    outside the crop.
    """
    source = _clip(*donor) if donor is not None else None
    result = get_method(method).apply(_clip(frames, landmarks), rng, source)
    alpha = np.stack([masks.weights_from_record(record, frames.shape[1:]) for record in result.per_frame])
    return result.frames, alpha


def robust_augmentation() -> A.Compose:
    """What compression and resizing do to faces in the wild, for both classes alike.

    Flip, colour jitter, downscale-upscale, blur, sensor noise, then JPEG or WebP at quality 30–100
    (WebP's block transform stands in for H.264's intra blocking, which no image codec reproduces
    exactly). Compression comes last, as in a real upload pipeline.
    """
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=0.3),
            A.Downscale(scale_range=(0.35, 0.9), p=0.25),
            A.GaussianBlur(blur_limit=(3, 5), p=0.1),
            A.GaussNoise(std_range=(0.005, 0.03), p=0.1),
            A.OneOf(
                [
                    A.ImageCompression(compression_type="jpeg", quality_range=(30, 100)),
                    A.ImageCompression(compression_type="webp", quality_range=(30, 100)),
                ],
                p=0.7,
            ),
        ]
    )


class _BlendedItems(Dataset[tuple[torch.Tensor, int]], ABC):
    """What frame and sequence items share: which reals become fakes, with what, from which donor.

    An item is read as ``N`` crops (one for frames, ``L`` for sequences) and their landmarks; a fake
    is one call of :func:`blend_clip` on all of them. Fake items of the manifest (offline simulated
    fakes) pass through as fakes. With ``deterministic=True`` (validation) every real item gives two
    dataset items, itself and one fake drawn from a generator seeded by ``(seed, index)``.
    """

    def __init__(
        self,
        items: Sequence[FrameItem] | Sequence[SequenceItem],
        image_size: int,
        settings: BlendSettings,
        *,
        augment: Callable[..., dict] | None = None,
        deterministic: bool = False,
        seed: int = 0,
    ) -> None:
        self.items = [item for item in items if item.label == 1 or item.landmarks is not None]
        if not self.items:
            raise ConfigError("online blending needs face crops with landmarks; none of the items has them")
        self.real = [i for i, item in enumerate(self.items) if item.label == 0]
        self.image_size = image_size
        self.settings = settings
        self.augment = augment
        self.deterministic = deterministic
        self.seed = seed
        self._names = [name for name, _ in settings.methods]
        self._weights = np.array([w for _, w in settings.methods])
        # A validation fake's kind and parameters depend on its index only.
        self._plan = [(i, False) for i in range(len(self.items))]
        if deterministic:
            self._plan += [(i, True) for i in self.real]

    def __len__(self) -> int:
        return len(self._plan)

    @abstractmethod
    def _read(self, item: FrameItem | SequenceItem) -> tuple[np.ndarray, np.ndarray | None]:
        """The item's crops ``(N, S, S, 3)`` and landmarks ``(N, 5, 2)`` (None for a manifest fake)."""

    def _rng(self, index: int) -> np.random.Generator:
        if self.deterministic:
            return np.random.default_rng([self.seed, index])
        # torch's generator is seeded per loader worker by Lightning (seed_everything(workers=True)).
        return np.random.default_rng(int(torch.randint(0, 2**62, ())))

    def _donor(self, rng: np.random.Generator, uid: str) -> tuple[np.ndarray, np.ndarray] | None:
        for _ in range(8):
            other = self.items[self.real[int(rng.integers(len(self.real)))]]
            if other.uid != uid:
                frames, landmarks = self._read(other)
                assert landmarks is not None  # real items have landmarks (see __init__)
                return frames, landmarks
        return None

    def item_at(self, index: int) -> FrameItem | SequenceItem:
        """The cached item that dataset item ``index`` is made from."""
        return self.items[self._plan[index][0]]

    def _sample_clip(self, index: int) -> BlendSample:
        position, make_fake = self._plan[index]
        item = self.items[position]
        frames, landmarks = self._read(item)
        rng = self._rng(index)
        if item.label == 1 or landmarks is None:
            return BlendSample(frames, 1, None, None)
        if not self.deterministic:
            make_fake = bool(rng.random() < self.settings.probability)
        if not make_fake:
            return BlendSample(frames, 0, None, None)
        method = str(rng.choice(self._names, p=self._weights))
        donor = self._donor(rng, item.uid) if method == "swap" else None
        if method == "swap" and donor is None:
            method = "selfblend"
        fake, alpha = blend_clip(frames, landmarks, method, rng, donor)
        if float(alpha.max()) <= 0.0:  # the mask missed every crop: the item is still real
            return BlendSample(frames, 0, None, None)
        return BlendSample(fake, 1, alpha, method)

    def _resize(self, image: np.ndarray) -> np.ndarray:
        if image.shape[:2] != (self.image_size, self.image_size):
            image = cv2.resize(image, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA)
        return image


class BlendedFrameDataset(_BlendedItems):
    """Frame items whose real crops become fakes on the fly; ``(uint8 (3, S, S), label)`` items.

    Items need ``landmarks`` (crop pixels); see :class:`_BlendedItems` for fakes and validation.
    """

    items: list[FrameItem]

    def _read(self, item: FrameItem | SequenceItem) -> tuple[np.ndarray, np.ndarray | None]:
        assert isinstance(item, FrameItem)
        landmarks = None if item.landmarks is None else np.asarray(item.landmarks, dtype=np.float32)[None]
        return read_crop(item.path)[None], landmarks

    def sample(self, index: int) -> BlendSample:
        """Item ``index`` before augmentation and resizing (what the tests inspect)."""
        clip = self._sample_clip(index)
        alpha = None if clip.alpha is None else clip.alpha[0]
        return BlendSample(clip.image[0], clip.label, alpha, clip.method)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.sample(index)
        image = sample.image
        if self.augment is not None:
            image = self.augment(image=image)["image"]
        return to_tensor(self._resize(image), self.image_size, dtype=torch.uint8), sample.label


class BlendedSequenceDataset(_BlendedItems):
    """Windows of ``L`` consecutive crops made fakes as one clip; ``(uint8 (L, 3, S, S), label)``.

    The synth method runs on the whole window, so a fake sequence carries the method's temporal
    behaviour: a mask that follows the face (``selfblend``, ``swap``), a mouth retimed or warped over
    time (``reenact``), or a mask redrawn every frame (``flicker``), the cues the paper's LSTM can see
    and a frame model cannot. Augmentation draws its parameters once per window (albumentations'
    ``images`` target), so compression and resizing do not flicker where the real video did not.
    """

    items: list[SequenceItem]

    def _read(self, item: FrameItem | SequenceItem) -> tuple[np.ndarray, np.ndarray | None]:
        assert isinstance(item, SequenceItem)
        frames = np.stack([read_crop(path) for path in item.paths])
        landmarks = None if item.landmarks is None else np.asarray(item.landmarks, dtype=np.float32)
        return frames, landmarks

    def sample(self, index: int) -> BlendSample:
        """Item ``index`` before augmentation and resizing: ``(L, S, S, 3)`` crops."""
        return self._sample_clip(index)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample = self.sample(index)
        frames = sample.image
        if self.augment is not None:
            frames = np.asarray(self.augment(images=frames)["images"])
        tensors = [to_tensor(self._resize(frame), self.image_size, dtype=torch.uint8) for frame in frames]
        return torch.stack(tensors), sample.label
