"""Each simulated manipulation, on real frames: its defining property and the shared contract.

Contract (every method): pixels with zero mask weight and frames without a face are unchanged, the
mask recorded in JSON rebuilds the weights exactly, and a seed reproduces the output byte for byte.
Properties: ``swap`` carries the source's texture and landmark geometry; ``flicker``'s mask jumps
between frames while ``selfblend``'s only follows the face; ``resample`` removes high frequencies.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from noisetrace.core.errors import ConfigError
from noisetrace.synth import masks
from noisetrace.synth.benchmark import track_faces
from noisetrace.synth.methods import Clip, FaceTrack, FakeResult, get_method, list_methods, make_rng
from noisetrace.synth.video_io import read_video

FRAMES = 12
# Soft-IoU distance between consecutive masks: flicker measured 0.27–0.38, selfblend 0.01–0.09
# (the largest for a fast-moving head) on five real clips × three seeds.
MASK_CHANGE_BOUND = 0.15
CLIPS = {
    "obama": "AliaksandrSiarohin__first-order-model__demo_old_00.mp4",
    "trump": "AliaksandrSiarohin__first-order-model__demo_old_04.mp4",
    "w009": "ali-vilab__dreamtalk__W009_front_sad_level3_001.mp4",
    "d19": "KwaiVGI__LivePortrait__d19.mp4",
}


@pytest.fixture(scope="module")
def detector():
    from noisetrace.faces.mtcnn import MTCNN

    return MTCNN(device="cpu")


@pytest.fixture(scope="module")
def clips(shared_data: Path, detector) -> dict[str, Clip]:
    """The first frames of four real videos of different people, with MTCNN face tracks."""
    loaded = {}
    for name, file in CLIPS.items():
        frames = read_video(shared_data / "real_videos" / file, FRAMES).frames
        loaded[name] = Clip(frames, track_faces(frames, detector, every=4, detect_side=400))
        assert loaded[name].track.valid.all(), f"{file}: expected a face in every frame"
    return loaded


def run(method: str, target: Clip, source: Clip | None = None, seed: int = 0) -> FakeResult:
    rng, _ = make_rng(seed, method, "000_001")
    return get_method(method).apply(target, rng, source)


def weights(result: FakeResult) -> list[np.ndarray]:
    """Each frame's blending weights, rebuilt from the record that goes into the fake's JSON."""
    shape = result.frames.shape[1:]
    return [masks.weights_from_record(record, shape) for record in json.loads(json.dumps(result.per_frame))]


def test_registry_lists_the_five_methods() -> None:
    assert list_methods() == ["swap", "selfblend", "resample", "reenact", "flicker"]
    with pytest.raises(ConfigError, match="choose from"):
        get_method("deepfakes")


@pytest.mark.parametrize("method", list_methods())
def test_changes_only_inside_the_recorded_mask(method: str, clips: dict[str, Clip]) -> None:
    target = clips["obama"]
    result = run(method, target, clips["trump"])
    assert result.frames.shape == target.frames.shape
    for index, (fake, real, alpha) in enumerate(zip(result.frames, target.frames, weights(result), strict=True)):
        outside = alpha == 0
        assert outside.any() and (~outside).any()
        np.testing.assert_array_equal(fake[outside], real[outside], err_msg=f"{method}, frame {index}")
        changed = np.abs(fake.astype(int) - real.astype(int)).max(axis=2) > 0
        assert changed[~outside].mean() > 0.05, f"{method} left frame {index} almost unchanged"


@pytest.mark.parametrize("method", list_methods())
def test_frames_without_a_face_are_left_alone(method: str, clips: dict[str, Clip]) -> None:
    base = clips["d19"]
    valid = base.track.valid.copy()
    valid[[0, 5]] = False
    target = Clip(base.frames, FaceTrack(base.track.landmarks, valid))
    result = run(method, target, clips["w009"])
    for index in (0, 5):
        np.testing.assert_array_equal(result.frames[index], base.frames[index])
        assert result.per_frame[index] == {"frame": index, "face": False, "reason": "no face"}
    assert result.per_frame[1]["face"]


@pytest.mark.parametrize("method", list_methods())
def test_same_seed_same_bytes(method: str, clips: dict[str, Clip]) -> None:
    first = run(method, clips["w009"], clips["obama"], seed=7)
    again = run(method, clips["w009"], clips["obama"], seed=7)
    other = run(method, clips["w009"], clips["obama"], seed=8)
    assert first.frames.tobytes() == again.frames.tobytes()
    assert json.dumps(first.per_frame) == json.dumps(again.per_frame)
    assert first.params == again.params
    assert first.params != other.params


def test_mask_weights_are_local_and_zero_outside_the_polygon(clips: dict[str, Clip]) -> None:
    """A ROI gives the whole frame's weights exactly, and nothing leaks past the polygon's edge."""
    frame_shape = clips["trump"].frames.shape[1:]
    landmarks = clips["trump"].track.landmarks[0]
    polygons = [masks.shape_polygon(masks.MOUTH, landmarks), masks.shape_polygon(masks.EYES, landmarks)]
    full = masks.full_mask(polygons, feather=6.0, opacity=0.75, frame_shape=frame_shape)
    roi = masks.polygons_roi(polygons, frame_shape)
    assert roi is not None
    np.testing.assert_array_equal(masks.rasterize(polygons, 6.0, 0.75, roi), full[roi.slices])
    assert full.sum() == full[roi.slices].sum() and full.max() == np.float32(0.75)
    hard = masks.full_mask(polygons, feather=0.0, opacity=1.0, frame_shape=frame_shape)
    assert ((full > 0) <= (hard > 0)).all()  # feathering only ever lowers weights inside
    contour = [np.round(p).astype(np.int32) for p in polygons]
    drawn = cv2.fillPoly(np.zeros(frame_shape[:2], np.uint8), contour, 1)
    assert abs(int(hard.sum()) - int(drawn.sum())) < 0.05 * drawn.sum()


def _shape(landmarks: np.ndarray) -> np.ndarray:
    """Five landmarks with pose, scale and position removed: what is left is face geometry."""
    return masks.apply_affine(masks.similarity_transform(landmarks, masks.TEMPLATE_POINTS), landmarks)


def _high_pass(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return (grey - cv2.GaussianBlur(grey, (0, 0), 2.0))[where]


def test_swap_face_comes_from_the_source(clips: dict[str, Clip], detector) -> None:
    """The pasted face is the source person: its fine texture and its landmark geometry.

    Colour is matched to the target on purpose (FaceSwap does so too), so identity is measured on
    structure: high-pass correlation with the aligned source vs the target, and the shape of the
    five landmarks MTCNN finds on the fake vs the target's and the source's shapes.
    """
    target, source = clips["w009"], clips["d19"]
    result = run("swap", target, source)
    height, width = target.frames.shape[1:3]
    to_source, to_target, fake_to_source, target_to_source = [], [], [], []
    found = detector.detect(list(result.frames))
    alphas = weights(result)
    for index, record in enumerate(result.per_frame):
        j = record["source_frame"]
        matrix = masks.similarity_transform(source.track.landmarks[j], target.track.landmarks[index])
        aligned_source = cv2.warpAffine(source.frames[j], matrix, (width, height))
        core = alphas[index] >= 0.9
        fake_hp = _high_pass(result.frames[index], core)
        to_source.append(np.corrcoef(fake_hp, _high_pass(aligned_source, core))[0, 1])
        to_target.append(np.corrcoef(fake_hp, _high_pass(target.frames[index], core))[0, 1])
        assert found[index], f"no face found on swapped frame {index}"
        fake_shape = _shape(found[index][0].landmarks)
        source_shape = _shape(source.track.landmarks[j])
        fake_to_source.append(np.linalg.norm(fake_shape - source_shape))
        target_to_source.append(np.linalg.norm(_shape(target.track.landmarks[index]) - source_shape))
    assert np.mean(to_source) > 0.8 > 0.3 > np.mean(to_target)
    assert np.mean(fake_to_source) < 0.5 * np.mean(target_to_source)


def _mean_mask_change(result: FakeResult) -> float:
    return float(np.mean([masks.mask_change(a, b) for a, b in pairwise(weights(result))]))


@pytest.mark.parametrize("clip", ["obama", "w009"])
@pytest.mark.parametrize("seed", [0, 1])
def test_flicker_mask_jumps_selfblend_mask_follows_the_face(clip: str, seed: int, clips: dict[str, Clip]) -> None:
    flicker = _mean_mask_change(run("flicker", clips[clip], seed=seed))
    selfblend = _mean_mask_change(run("selfblend", clips[clip], seed=seed))
    assert flicker > MASK_CHANGE_BOUND > selfblend, (flicker, selfblend)


def _laplacian_energy(image: np.ndarray, where: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float((cv2.Laplacian(grey, cv2.CV_32F)[where] ** 2).mean())


@pytest.mark.parametrize("clip", ["obama", "d19"])
@pytest.mark.parametrize("seed", [0, 1])
def test_resample_removes_high_frequencies(clip: str, seed: int, clips: dict[str, Clip]) -> None:
    target = clips[clip]
    result = run("resample", target, seed=seed)
    ratios = [
        _laplacian_energy(fake, alpha >= 0.9) / _laplacian_energy(real, alpha >= 0.9)
        for fake, real, alpha in zip(result.frames, target.frames, weights(result), strict=True)
    ]
    assert max(ratios) < 0.7, ratios


def test_reenact_changes_the_mouth_not_the_face(clips: dict[str, Clip]) -> None:
    """Expression regions only: the mask is a fraction of the face and sits on mouth (and eyes)."""
    target = clips["obama"]
    for seed in range(4):
        result = run("reenact", target, seed=seed)
        changes = []
        for index, alpha in enumerate(weights(result)):
            landmarks = target.track.landmarks[index]
            face = masks.full_mask([masks.shape_polygon(masks.FACE, landmarks)], 0.0, 1.0, alpha.shape)
            assert (alpha > 0).sum() < 0.45 * face.sum()
            mouth = landmarks[3:].mean(axis=0).round().astype(int)
            assert alpha[mouth[1], mouth[0]] > 0.9
            diff = np.abs(result.frames[index].astype(int) - target.frames[index].astype(int)).max(axis=2)
            changes.append(diff[alpha > 0.5].mean())
        assert np.mean(changes) > 5.0, (result.params["mode"], changes)


def test_swap_needs_a_source(clips: dict[str, Clip]) -> None:
    rng, _ = make_rng(0, "swap", "000_001")
    with pytest.raises(ValueError, match="source"):
        get_method("swap").apply(clips["obama"], rng)
