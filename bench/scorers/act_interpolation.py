"""Scorer for `act-interpolation.json`: `${{ }}` in strings and the `format()` rewrite.

Interpolation cases evaluate `template` and compare with `expected`. Rewrite cases check that
the project's rewrite produces `format_form` and that both forms evaluate to the same value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from github_runner.engine.expressions import (
    EvalContext,
    ExpressionError,
    evaluate,
    has_expression,
    interpolate,
    interpolate_string,
    to_format_expression,
    to_string,
)

from .common import CaseResult


def _value_of_form(form: str, ctx: EvalContext) -> Any:
    """A `format_form` is a template (plain text or `${{ }}`) or a bare `format(...)` call."""
    if has_expression(form) or not form.startswith("format("):
        return interpolate(form, ctx)
    return evaluate(form, ctx)


def score(path: Path) -> list[CaseResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    results: list[CaseResult] = []
    for case in data.get("interpolation") or []:
        ctx = EvalContext(case.get("contexts") or {})
        try:
            got = interpolate_string(case["template"], ctx)
            ok = isinstance(got, str) and got == case["expected"]
            detail = f"{case['template']!r}: got {got!r}, want {case['expected']!r}"
        except ExpressionError as err:
            ok, detail = False, f"{case['template']!r}: {err.kind} error {err}"
        results.append(CaseResult.check(case["id"], ok, detail))
    for case in data.get("rewrite") or []:
        ctx = EvalContext(case.get("contexts") or {})
        template, form = case["template"], case["format_form"]
        try:
            rewritten = to_format_expression(template, force_format=bool(case.get("force_format")))
            want_value = interpolate_string(template, ctx)
            form_value = to_string(_value_of_form(form, ctx))
            ok = rewritten == form and form_value == want_value
            detail = f"{template!r}: rewrite {rewritten!r} (want {form!r}); values {form_value!r} vs {want_value!r}"
        except ExpressionError as err:
            ok, detail = False, f"{template!r}: {err.kind} error {err}"
        results.append(CaseResult.check(case["id"], ok, detail))
    return results
