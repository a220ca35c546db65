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
