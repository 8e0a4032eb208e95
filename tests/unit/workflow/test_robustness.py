"""Any text either loads or fails with WorkflowError (GitHub-style lines), never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from github_runner.engine.workflow import WorkflowError
from github_runner.engine.workflow.loader import parse_workflow
from tests.conftest import TESTDATA

READER = TESTDATA / "workflow-parser" / "reader"
LINE = re.compile(r"^(w\.yml( \(Line: \d+, Col: \d+\))?: .+|.+)$", re.DOTALL)


def _corpus() -> list[str]:
    texts = []
    for path in sorted(Path(READER).glob("*.yml"))[:60]:
        parts = path.read_text().split("\n---\n")
        if len(parts) > 2:
            texts.append(parts[1])
    return texts or ["on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: a}]\n"]


CORPUS = _corpus()


def _load(text: str) -> None:
    try:
        parse_workflow("w.yml", text)
    except WorkflowError as exc:
        assert exc.errors, "a WorkflowError must carry at least one message"
        for message in exc.errors:
            assert LINE.match(message) and "Traceback" not in message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(list(":-[]{}&*!|>'\"#%@` \n\t${}")))
    ),
)
def test_mutated_workflows_fail_cleanly(base: str, edits: list[tuple[int, str]]) -> None:
    text = base
    for at, ch in edits:
        at %= len(text) + 1
        text = text[:at] + ch + text[at:]
    _load(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_fails_cleanly(text: str) -> None:
    _load(text)
