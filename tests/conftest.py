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


IN_CI = os.environ.get("CI") == "true"


def require(ok: bool, why: str) -> None:
    """Skip a test whose host dependency is missing, except in CI, where it must be present.

    CI installs and starts everything (`.ci/run`), so a missing dockerd or bwrap there is a
    broken install step, not a reason to pass quietly.
    """
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI is missing a host dependency: {why}")
    pytest.skip(why)
