"""Scorer for `act-exprparser.json`: act's expression tests, judged by GitHub's truth.

Where act and GitHub's evaluator disagree, `github_truth` names the side matching the C#
runner; `official_result` is used when it says so. Status-function cases set the job status;
`workspace` cases run hashFiles in a fresh empty directory unless the field names an existing
folder beside the vector file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .common import CaseResult
from .expr_common import run_expression, score_expected

ERROR_KINDS = ("lexing", "parsing", "evaluation", "any")


def _expected(case: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if case.get("github_truth") == "official_result" and "official_result" in case:
        official = case["official_result"]
        if isinstance(official, dict) and official.get("kind") in ERROR_KINDS:
            return None, official
        return official, None
    return case.get("result"), case.get("error")


def score(path: Path) -> list[CaseResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    results: list[CaseResult] = []
    for case in data.get("cases") or []:
        result, error = _expected(case)
        kwargs: dict[str, Any] = {}
        status = case.get("status_functions")
        if isinstance(status, dict):
            kwargs["job_status"] = status.get("job_status")
            if "action_status" in status:
                kwargs["composite"] = True
                kwargs["action_status"] = status.get("action_status")
        with tempfile.TemporaryDirectory(prefix="expr-ws-") as tmp:
            if "workspace" in case:
                named = path.parent / str(case["workspace"])
                kwargs["workspace"] = named if named.is_dir() else Path(tmp)
            outcome = run_expression(case["expr"], case.get("contexts"), ctx_kwargs=kwargs)
        special = bool((result or {}).get("value_is_special_number") or case.get("value_is_special_number"))
        ok, detail = score_expected(
            outcome, result=result, error=error, special=special, message_must_contain=False
        )
        results.append(CaseResult.check(case["id"], ok, f"{case['expr']!r}: {detail}"))
    return results
