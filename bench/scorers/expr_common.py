"""Helpers shared by the expression scorers: run one case, compare typed results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from github_runner.engine.expressions import (
    EvalContext,
    ExpressionError,
    evaluate,
    kind_name,
    parse,
)

SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def same_value(actual: Any, expected: Any) -> bool:
    """Deep JSON equality; numbers by value (NaN equals NaN), objects ignoring key order."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        if math.isnan(expected):
            return math.isnan(actual)
        return float(actual) == float(expected)
    if isinstance(expected, str):
        return isinstance(actual, str) and actual == expected
    if isinstance(expected, list):
        return (
            isinstance(actual, (list, tuple))
            and len(actual) == len(expected)
            and all(same_value(a, e) for a, e in zip(actual, expected))
        )
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or len(actual) != len(expected):
            return False
        items = dict(actual.items())
        return all(k in items and same_value(items[k], v) for k, v in expected.items())
    return False


def check_result(actual: Any, kind: str, value: Any, special: bool = False) -> tuple[bool, str]:
    if (special or kind == "Number") and isinstance(value, str) and value in SPECIAL:
        value = SPECIAL[value]
    got_kind = kind_name(actual)
    if got_kind != kind:
        return False, f"kind {got_kind} != {kind}: got {actual!r}"
    if not same_value(actual, value):
        return False, f"value {actual!r} != {value!r}"
    return True, ""


def run_expression(
    expr: str,
    contexts: Mapping[str, Any] | None,
    *,
    ctx_kwargs: Mapping[str, Any] | None = None,
) -> tuple[str, Any]:
    """('ok', value) or (error kind, ExpressionError); names outside `contexts` fail to parse."""
    contexts = dict(contexts or {})
    try:
        node = parse(expr, named_values=list(contexts))
    except ExpressionError as err:
        return err.kind, err
    except Exception as exc:  # a crash is a failed case, not a failed run
        return "crash", f"{type(exc).__name__}: {exc}"
    try:
        return "ok", evaluate(node, EvalContext(contexts, **dict(ctx_kwargs or {})))
    except ExpressionError as err:
        return err.kind, err
    except Exception as exc:
        return "crash", f"{type(exc).__name__}: {exc}"


def score_expected(
    outcome: tuple[str, Any],
    *,
    result: Mapping[str, Any] | None,
    error: Mapping[str, Any] | None,
    special: bool = False,
    message_must_contain: bool = True,
) -> tuple[bool, str]:
    status, payload = outcome
    if error is not None:
        if status == "ok":
            return False, f"expected {error.get('kind')} error, got {payload!r}"
        kind = error.get("kind", "any")
        if kind != "any" and kind != status:
            return False, f"error kind {status} != {kind}: {payload}"
        want = error.get("value")
        if message_must_contain and want and want not in str(payload):
            return False, f"message {str(payload)!r} lacks {want!r}"
        return True, ""
    if status != "ok":
        return False, f"unexpected {status} error: {payload}"
    assert result is not None
    return check_result(payload, result["kind"], result.get("value"), special)
