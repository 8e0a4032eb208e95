"""Scorer for `hashfiles.json`: hashFiles() over a fresh copy of the fixtures.

Each case's `workspace` (relative to the vector file) is copied to a new temporary folder that
becomes `github.workspace`; the result must equal `expected_github`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from github_runner.engine.expressions import EvalContext, ExpressionError, evaluate, parse

from .common import CaseResult


def score(path: Path) -> list[CaseResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    results: list[CaseResult] = []
    for case in data.get("cases") or []:
        source = path.parent / case.get("workspace", ".")
        with tempfile.TemporaryDirectory(prefix="hashfiles-") as tmp:
            workspace = Path(tmp) / "ws"
            shutil.copytree(source, workspace, symlinks=True)
            ctx = EvalContext({"github": {"workspace": str(workspace)}})
            try:
                got = evaluate(parse(case["expr"], named_values=["github"]), ctx)
                ok = got == case["expected_github"]
                detail = f"{case['expr']!r}: got {got!r}, want {case['expected_github']!r}"
            except ExpressionError as err:
                ok, detail = False, f"{case['expr']!r}: {err.kind} error {err}"
        results.append(CaseResult.check(case["id"], ok, detail))
    return results
