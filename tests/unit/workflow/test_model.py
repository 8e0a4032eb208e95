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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("contains(github.ref, 'success()')", "success() && (contains(github.ref, 'success()'))"),
        ("steps.always_x.outputs.y == 'a'", "success() && (steps.always_x.outputs.y == 'a')"),
        ("!cancelled ()", "!cancelled ()"),
    ],
)
def test_status_function_detection_ignores_strings_and_names(raw: str, expected: str) -> None:
    assert condition_expression(raw) == expected


def test_mixed_text_condition_becomes_format() -> None:
    from github_runner.engine.workflow.loader import parse_workflow

    wf = parse_workflow(
        "w.yml",
        "on: push\njobs:\n  j:\n    if: ${{ github.a }} == ${{ github.b }}\n    runs-on: x\n    steps: [{run: a}]\n",
    )
    assert wf.jobs["j"].if_ == "${{ format('{0} == {1}', github.a, github.b) }}"
    assert wf.jobs["j"].condition == "success() && (format('{0} == {1}', github.a, github.b))"
