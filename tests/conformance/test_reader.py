"""Hold the workflow reader's level-1 score on GitHub's reader vectors (goal: >= 95%)."""

from __future__ import annotations

from pathlib import Path

from scorers.common import rate
from scorers.reader import score


def test_reader_vectors_level1(testdata: Path) -> None:
    results = score(testdata / "workflow-parser" / "reader")
    assert len(results) >= 100, "reader vectors missing"
    failed = [f"{r.id}: {r.detail}" for r in results if r.status == "failed"]
    assert rate(results) >= 0.99, "\n".join(failed)
