"""The PyTorch MTCNN cascade: weights, detections on real photos, batching, odd inputs.

Expected boxes come from the independent reference (the ``mtcnn`` 1.0.0 TensorFlow cascade, run by
``benchmarks/mtcnn_reference.py`` with our default thresholds); the slow test reruns that comparison
on every shared image when the reference environment ``.venv-ref`` exists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from noisetrace.core.errors import MissingWeightsError, NoisetraceError
from noisetrace.faces.mtcnn import (
    MTCNN,
    FaceDetection,
    _area_resize,
    _integral_image,
    _pyramid,
    load_mtcnn_weights,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Reference (TensorFlow mtcnn 1.0.0) faces: x1, y1, x2, y2 and O-Net score.
REFERENCE_FACES = {
    "mtcnn_ivan.jpg": [([278.1, 88.6, 327.0, 155.3], 0.9972), ([8.4, 71.2, 45.3, 114.7], 0.8547)],
    "deepface_img25.jpg": [([123.1, 67.7, 289.5, 283.0], 0.9999)],
    "deepface_img12.jpg": [([223.9, 62.8, 358.4, 253.0], 0.9998)],
}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    low, high = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(high - low, 0, None)))
    return inter / (float(np.prod(a[2:] - a[:2])) + float(np.prod(b[2:] - b[:2])) - inter)


def load_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def assert_same(a: list[FaceDetection], b: list[FaceDetection]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.box, y.box, atol=1e-2)
        np.testing.assert_allclose(x.landmarks, y.landmarks, atol=1e-2)
        assert x.score == pytest.approx(y.score, abs=1e-4)


@pytest.fixture(scope="module")
def detector() -> MTCNN:
    return MTCNN()


@pytest.fixture(scope="module")
def ivan(shared_data: Path) -> np.ndarray:
    return load_rgb(shared_data / "images" / "mtcnn_ivan.jpg")


def test_weights_load_with_the_expected_shapes() -> None:
    weights = load_mtcnn_weights()
    assert set(weights) == {"pnet", "rnet", "onet"}
    assert weights["pnet"]["body.0.weight"].shape == (10, 3, 3, 3)
    assert weights["pnet"]["body.1.weight"].shape == (10,)  # PReLU alphas
    assert weights["pnet"]["box.weight"].shape == (4, 32, 1, 1)
    assert weights["rnet"]["body.6.weight"].shape == (64, 48, 2, 2)
    assert weights["rnet"]["fc.weight"].shape == (128, 576)
    assert weights["onet"]["fc.weight"].shape == (256, 1152)
    assert weights["onet"]["landmarks.weight"].shape == (10, 256)
    assert weights["onet"]["cls.weight"].shape == (2, 256)
    assert all(t.dtype == torch.float32 for net in weights.values() for t in net.values())


def test_missing_weights_name_the_folder_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "no-weights-here"
    with pytest.raises(MissingWeightsError) as error:
        MTCNN(weights_dir=missing)
    assert str(missing) in str(error.value)
    assert "pnet.lz4" in str(error.value)
    assert "pip install mtcnn==1.0.0" in str(error.value)


@pytest.mark.parametrize("name", sorted(REFERENCE_FACES))
def test_finds_the_reference_faces(detector: MTCNN, shared_data: Path, name: str) -> None:
    found = detector.detect([load_rgb(shared_data / "images" / name)])[0]
    expected = REFERENCE_FACES[name]
    assert len(found) == len(expected)
    for face, (box, score) in zip(found, expected, strict=True):
        assert iou(face.box, np.array(box)) > 0.95
        assert face.score == pytest.approx(score, abs=0.01)
        assert face.box.dtype == np.float32 and face.box.shape == (4,)
        assert face.landmarks.dtype == np.float32 and face.landmarks.shape == (5, 2)
        x1, y1, x2, y2 = face.box
        assert np.all((face.landmarks >= [x1, y1]) & (face.landmarks <= [x2, y2]))
        left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)


def test_group_photo_yields_several_faces(detector: MTCNN, shared_data: Path) -> None:
    found = detector.detect([load_rgb(shared_data / "images" / "facenet-pytorch_multiface.jpg")])[0]
    assert len(found) == 6  # the reference finds the same six


def test_a_batch_of_identical_frames_equals_one_frame(detector: MTCNN, ivan: np.ndarray) -> None:
    single = detector.detect([ivan])[0]
    batch = detector.detect(np.stack([ivan, ivan, ivan]))
    assert len(batch) == 3
    for found in batch:
        assert_same(found, single)


def test_differently_sized_images_keep_their_order(detector: MTCNN, ivan: np.ndarray) -> None:
    small = np.ascontiguousarray(ivan[80:240, 220:380])  # the main face, cut out
    results = detector.detect([ivan, small, ivan])
    assert_same(results[0], detector.detect([ivan])[0])
    assert_same(results[2], results[0])
    assert_same(results[1], detector.detect([small])[0])
    assert len(results[1]) == 1


def test_grayscale_frames_are_accepted(detector: MTCNN, ivan: np.ndarray) -> None:
    gray = cv2.cvtColor(ivan, cv2.COLOR_RGB2GRAY)
    as_rgb = detector.detect([np.repeat(gray[:, :, None], 3, axis=2)])[0]
    assert as_rgb
    assert_same(detector.detect([gray])[0], as_rgb)
    assert_same(detector.detect([gray[:, :, None]])[0], as_rgb)


def test_blank_images_have_no_face(detector: MTCNN) -> None:
    results = detector.detect([np.zeros((240, 320, 3), np.uint8), np.full((240, 320, 3), 200, np.uint8)])
    assert results == [[], []]


@pytest.mark.parametrize("size", [16, 11, 1])
def test_tiny_images_have_no_face_and_no_error(detector: MTCNN, size: int) -> None:
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    assert detector.detect([image]) == [[]]


def test_no_frames_no_results(detector: MTCNN) -> None:
    assert detector.detect([]) == []


def test_larger_min_face_size_skips_the_fine_levels(detector: MTCNN, shared_data: Path) -> None:
    assert len(_pyramid(720, 1280, 80, 0.709)) < len(_pyramid(720, 1280, 20, 0.709))
    image = load_rgb(shared_data / "images" / "deepface_img25.jpg")  # one face, 166 px wide
    (face,) = detector.detect([image], min_face_size=100)[0]  # other levels, so a slightly other box
    assert iou(face.box, np.array(REFERENCE_FACES["deepface_img25.jpg"][0][0])) > 0.9


def test_small_min_face_size_enlarges_the_frame(detector: MTCNN, ivan: np.ndarray) -> None:
    small = np.ascontiguousarray(ivan[::4, ::4])  # the main face is ~12 px wide here
    scale, height, _ = _pyramid(*small.shape[:2], 10, 0.709)[0]
    assert scale > 1 and height > small.shape[0]
    found = detector.detect([small], min_face_size=10)[0]
    assert all(np.isfinite(f.box).all() for f in found)


def test_integral_image_resize_matches_opencv_area() -> None:
    image = np.random.default_rng(1).integers(0, 256, (97, 131, 3), dtype=np.uint8)
    table = _integral_image(torch.from_numpy(image[None]))
    for height, width in [(97, 131), (60, 80), (31, 17), (12, 12), (1, 1)]:
        ours = _area_resize(table, height, width)[0].numpy()
        expected = cv2.resize(image.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
        np.testing.assert_allclose(ours, expected.reshape(ours.shape), atol=1e-3)


@pytest.mark.parametrize(
    "frames",
    [
        [np.zeros((32, 32, 3), np.float32)],  # not uint8
        [np.zeros((32, 32, 4), np.uint8)],  # RGBA
        np.zeros((32, 32, 3), np.uint8),  # one image without the batch axis
    ],
)
def test_bad_frames_raise_a_clear_error(detector: MTCNN, frames: object) -> None:
    with pytest.raises(NoisetraceError):
        detector.detect(frames)  # type: ignore[arg-type]


def test_settings_are_json_values(detector: MTCNN) -> None:
    settings = detector.settings()
    assert settings["thresholds"] == [0.6, 0.7, 0.7]
    assert settings["nms_thresholds"] == [0.5, 0.7, 0.7, 0.7]
    assert settings["min_face_size"] == 20 and settings["scale_factor"] == 0.709
    assert set(settings["weights_sha256"]) == {"pnet", "rnet", "onet"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(detector: MTCNN, shared_data: Path) -> None:
    images = [load_rgb(shared_data / "images" / name) for name in sorted(REFERENCE_FACES)]
    images.append(load_rgb(shared_data / "images" / "facenet-pytorch_multiface.jpg"))
    on_gpu = MTCNN(device="cuda").detect(images)
    for found_gpu, found_cpu in zip(on_gpu, detector.detect(images), strict=True):
        assert len(found_gpu) == len(found_cpu)
        for a, b in zip(found_gpu, found_cpu, strict=True):
            assert iou(a.box, b.box) > 0.98


@pytest.mark.slow
def test_agreement_with_the_reference_cascade(shared_data: Path) -> None:
    reference_python = PROJECT_ROOT / ".venv-ref" / "bin" / "python"
    if not reference_python.exists():
        pytest.skip(f"reference environment missing: {reference_python} (see benchmarks/mtcnn_reference.py)")
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "benchmarks" / "mtcnn_agreement.py"),
            "--images",
            str(shared_data / "images"),
            "--reference-python",
            str(reference_python),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
