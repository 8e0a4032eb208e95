"""Scorer for `runner-condition-functions.json`: status functions and named-value checks."""

from __future__ import annotations

import json
from pathlib import Path

from github_runner.engine.expressions import EvalContext, ExpressionError, evaluate, parse

from .common import CaseResult


def score(path: Path) -> list[CaseResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    results: list[CaseResult] = []
    for i, case in enumerate((data.get("job_level") or {}).get("cases") or []):
        ctx = EvalContext({}, job_status=case.get("job_status"))
        got = evaluate(parse(case["fn"], named_values=[]), ctx)
        results.append(CaseResult.check(
            f"job_level/{i}", got is case["expected"],
            f"{case['fn']} with job {case.get('job_status')}: got {got!r}",
        ))
    for i, case in enumerate((data.get("composite") or {}).get("cases") or []):
        ctx = EvalContext(
            {}, job_status=case.get("job_status"), action_status=case.get("action_status"), composite=True
        )
        got = evaluate(parse(case["fn"], named_values=[]), ctx)
        results.append(CaseResult.check(
            f"composite/{i}", got is case["expected"],
            f"{case['fn']} job {case.get('job_status')} action {case.get('action_status')}: got {got!r}",
        ))
    for i, case in enumerate((data.get("named_values") or {}).get("cases") or []):
        expect = str(case.get("expect", ""))
        should_fail = expect.startswith("parse error")
        try:
            parse(case["expr"], named_values=case.get("allowed") or [])
            ok, detail = not should_fail, "parsed"
        except ExpressionError as err:
            wanted = expect.split(":", 1)[1].strip() if ":" in expect else ""
            ok = should_fail and err.kind in ("lexing", "parsing") and wanted in str(err)
            detail = f"{err.kind}: {err}"
        results.append(CaseResult.check(f"named_values/{i}", ok, f"{case['expr']!r} -> {detail}; want {expect}"))
    return results
