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


def plain(value: Any) -> Any:
    """Expression results (case-insensitive mappings, filtered arrays) as plain dicts/lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _is_single_expression(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("${{") and stripped.endswith("}}") and stripped.count("${{") == 1


def _is_insert(key: Any) -> bool:
    return isinstance(key, str) and key.replace(" ", "") == "${{insert}}"


def evaluate(value: Any, ctx: EvalContext, where: str) -> Any:
    """Evaluate every `${{ }}` in `value`; a string that is one expression keeps its type.

    A mapping key `${{ insert }}` merges its (mapping) value into the enclosing mapping.
    """
    try:
        if isinstance(value, str):
            return plain(interpolate(value, ctx)) if "${{" in value else value
        if isinstance(value, list):
            items: list[Any] = []
            for i, v in enumerate(value):
                result = evaluate(v, ctx, f"{where}[{i}]")
                if isinstance(v, str) and _is_single_expression(v) and isinstance(result, list):
                    items.extend(result)  # a sequence item that evaluates to a sequence is spliced
                else:
                    items.append(result)
            return items
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                if _is_insert(k):
                    merged = evaluate(v, ctx, f"{where}.${{{{ insert }}}}")
                    if not isinstance(merged, Mapping):
                        raise TemplateError(f"{where}: `${{{{ insert }}}}` needs a mapping value")
                    out.update(merged)
                    continue
                out[to_string(evaluate(k, ctx, where))] = evaluate(v, ctx, f"{where}.{k}")
            return out
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
