"""Shared test fixtures: paths to the shared conformance data and the bench scorers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GITHUB_RUNNER_SHARED", REPO.parent / "shared"))
TESTDATA = SHARED / "testdata"

sys.path.insert(0, str(REPO / "bench"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.fail(f"shared test data not found at {TESTDATA} (set GITHUB_RUNNER_SHARED)")
    return TESTDATA
