"""Evaluating the template values of a JobPlan (strings with `${{ }}` inside JSON-like values).

The expression engine evaluates one string; plans hold whole mappings and lists (`env`, `with`,
`outputs`), and errors must say which key failed. This module walks the value and labels errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from github_runner.engine.expressions import EvalContext, ExpressionError, interpolate, to_string


class TemplateError(Exception):
    """An expression in a plan value failed; the message names where (`step 'x' env.FOO`)."""


def evaluate(value: Any, ctx: EvalContext, where: str) -> Any:
    """Evaluate every `${{ }}` in `value`; a string that is one expression keeps its type."""
    try:
        if isinstance(value, str):
            return interpolate(value, ctx) if "${{" in value else value
        if isinstance(value, list):
            return [evaluate(v, ctx, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            return {
                to_string(evaluate(k, ctx, where)): evaluate(v, ctx, f"{where}.{k}")
                for k, v in value.items()
            }
    except ExpressionError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    return value


def evaluate_string(value: Any, ctx: EvalContext, where: str) -> str:
    return to_string(evaluate(value, ctx, where))


def evaluate_mapping(value: Any, ctx: EvalContext, where: str) -> dict[str, str]:
    """An `env:`-like value (a mapping or one expression giving a mapping) -> str -> str."""
    if value is None:
        return {}
    result = evaluate(value, ctx, where)
    if result is None or result == "":
        return {}
    if not isinstance(result, Mapping):
        raise TemplateError(f"{where}: expected a mapping, got {to_string(result)!r}")
    return {str(k): to_string(v) for k, v in result.items()}


def evaluate_bool(value: Any, ctx: EvalContext, where: str) -> bool:
    result = evaluate(value, ctx, where)
    if isinstance(result, str):
        lowered = result.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise TemplateError(f"{where}: expected a boolean, got {result!r}")
    return bool(result)


def evaluate_number(value: Any, ctx: EvalContext, where: str) -> float | None:
    result = evaluate(value, ctx, where)
    if result is None or result == "":
        return None
    try:
        return float(result)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}: expected a number, got {to_string(result)!r}") from None
