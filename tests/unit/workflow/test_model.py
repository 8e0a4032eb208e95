"""The model's own rules: implicit `success() &&` for conditions, GitHub's position layout."""

from __future__ import annotations

import pytest

from github_runner.engine.workflow import Pos, WorkflowError, condition_expression


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "success()"),
        ("", "success()"),
        ("${{ }}", "success()"),
        (True, "success() && (true)"),
        ("github.ref == 'main'", "success() && (github.ref == 'main')"),
        ("${{ github.ref == 'main' }}", "success() && (github.ref == 'main')"),
        ("always()", "always()"),
        ("${{ failure() || cancelled() }}", "failure() || cancelled()"),
        ("Success('a')", "Success('a')"),
    ],
)
def test_condition_expression(raw: object, expected: str) -> None:
    assert condition_expression(raw) == expected  # type: ignore[arg-type]


def test_position_layout_matches_github() -> None:
    pos = Pos(".github/workflows/ci.yml", 3, 7)
    assert pos.message("boom") == ".github/workflows/ci.yml (Line: 3, Col: 7): boom"
    err = WorkflowError([pos.message("a"), pos.message("b")])
    assert err.errors == [pos.message("a"), pos.message("b")]
    assert str(err).count("\n") == 1
