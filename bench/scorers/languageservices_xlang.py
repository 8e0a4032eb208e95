"""Scorer for `languageservices-xlang.json`: GitHub's cross-language expression vectors."""

from __future__ import annotations

import json
from pathlib import Path

from .common import CaseResult
from .expr_common import run_expression, score_expected


def score(path: Path) -> list[CaseResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    results: list[CaseResult] = []
    for case in data.get("cases") or []:
        outcome = run_expression(case["expr"], case.get("contexts"))
        ok, detail = score_expected(outcome, result=case.get("result"), error=case.get("error"))
        results.append(CaseResult.check(case["id"], ok, f"{case['expr']!r}: {detail}"))
    return results
