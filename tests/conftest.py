"""Shared fixtures.

Real media for tests lives in ``../shared/data`` beside the project (never committed). On a user's
fresh clone it is absent and the tests that need it skip with a reason; CI sets
``NOISETRACE_REQUIRE_SHARED=1`` so that a missing folder fails instead of skipping silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def _require_shared() -> bool:
    return os.environ.get("NOISETRACE_REQUIRE_SHARED", "") == "1"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips (or fails under NOISETRACE_REQUIRE_SHARED=1) when absent."""
    if not (SHARED_DATA / "README.md").is_file():
        message = f"real test media not found at {SHARED_DATA} (see the README, 'Tests')"
        if _require_shared():
            pytest.fail(message + " and NOISETRACE_REQUIRE_SHARED=1", pytrace=False)
        pytest.skip(message)
    return SHARED_DATA


def write_test_video(
    path: Path, frames: list, fps: int = 25, pix_fmt: str = "yuv420p", codec: str = "libx264"
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) or grayscale (H, W) with PyAV (test media only).

    H.264 by default; ``codec="ffv1", pix_fmt="gray"`` in a ``.mkv`` makes a truly single-channel video.
    """
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        height, width = frames[0].shape[:2]
        stream.width, stream.height = width, height
        stream.pix_fmt = pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "ultrafast"}
        for image in frames:
            image = np.ascontiguousarray(image)
            fmt = "gray" if image.ndim == 2 else "rgb24"
            frame = av.VideoFrame.from_ndarray(image, format=fmt)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def video_writer():
    """The :func:`write_test_video` helper, as a fixture so test modules need no imports from conftest."""
    return write_test_video


def write_cached_video(root: Path, uid: str, frames: list, score: float | None = None) -> None:
    """A face-cache folder in the real format; a ``None`` frame is a decoded frame without a face."""
    from noisetrace.core.io import atomic_directory, write_json_atomic
    from noisetrace.faces.cache import META_FILE, FrameRecord, VideoFaces, crop_filename, write_crop

    records = []
    with atomic_directory(root / uid) as folder:
        for index, rgb in enumerate(frames):
            if rgb is None:
                records.append(FrameRecord(index=index, file=None, reason="no_face"))
                continue
            write_crop(folder / crop_filename(index), rgb)
            records.append(FrameRecord(index=index, file=crop_filename(index), score=score))
        write_json_atomic(folder / META_FILE, VideoFaces(uid, {}, {}, {}, records).to_json())


@pytest.fixture(scope="session")
def cache_writer():
    """The :func:`write_cached_video` helper, for tests that need a face cache without extraction."""
    return write_cached_video
