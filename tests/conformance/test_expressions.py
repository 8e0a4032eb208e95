"""The expression engine holds its conformance goals on the shared vectors.

Goals (issue 3): >= 99.5% of languageservices-xlang and act-exprparser (GitHub truth), 100% of
hashFiles, status functions and interpolation. Runs the same scorers as bench/conformance.py.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from scorers.common import rate  # bench/ is on sys.path (tests/conftest.py)

GOALS = [
    ("languageservices-xlang.json", "languageservices_xlang", 0.995),
    ("act-exprparser.json", "act_exprparser", 0.995),
    ("act-interpolation.json", "act_interpolation", 1.0),
    ("hashfiles.json", "hashfiles", 1.0),
    ("runner-condition-functions.json", "condition_functions", 1.0),
]


@pytest.mark.parametrize(("name", "module", "goal"), GOALS, ids=[g[0] for g in GOALS])
def test_expression_vectors_meet_goal(testdata: Path, name: str, module: str, goal: float) -> None:
    path = testdata / "expressions" / name
    results = importlib.import_module(f"scorers.{module}").score(path)
    assert results, f"{name}: no cases scored"
    failed = [f"{r.id}: {r.detail}" for r in results if r.status == "failed"]
    assert rate(results) >= goal, f"{name}: {len(failed)} failed\n" + "\n".join(failed[:20])
