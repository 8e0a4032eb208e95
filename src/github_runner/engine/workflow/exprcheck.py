"""Parse-time expression checks, delegated to the expressions package.

The reader only asks one question: does this expression parse with exactly the named values and
functions the schema allows at this key? The answer comes from `engine.expressions.parse`, so
the reader and the evaluator can never disagree about syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _parser() -> tuple[Callable[..., Any], type[Exception]] | None:
    try:
        from github_runner.engine.expressions import ExpressionError, parse
    except ImportError:  # the expressions package is not importable: syntax is not checked
        return None
    return parse, ExpressionError


# Always callable; the schema's `context` lists add the rest (status functions, hashFiles).
CORE_FUNCTIONS = ("contains", "startsWith", "endsWith", "format", "join", "toJSON", "fromJSON", "case")
_BUILTIN_MAX = {"success": 0, "failure": 0, "cancelled": 0, "always": 0}
_TOO_MANY = re.compile(r"^Too many parameters supplied: '([A-Za-z0-9_]+)'")


@lru_cache(maxsize=4096)
def _check(expr: str, named: tuple[str, ...], functions: tuple[tuple[str, int], ...]) -> str | None:
    loaded = _parser()
    if loaded is None:
        return None
    parse, expression_error = loaded
    names = [*CORE_FUNCTIONS, *(name for name, _ in functions)]
    try:
        parse(expr, named_values=list(named), functions=names)
    except expression_error as exc:
        message = str(exc)
        # The schema may allow more arguments than the evaluator's default arity (job-level
        # `success(0,MAX)`: `success('build')`); the parser does not take arities yet.
        match = _TOO_MANY.match(getattr(exc, "message", message))
        if match:
            name = match.group(1).lower()
            wanted = {k.lower(): v for k, v in functions}.get(name)
            if wanted is not None and wanted > _BUILTIN_MAX.get(name, wanted):
                return None
        return message
    return None


def check_expression(
    expr: str, named: list[str], functions: dict[str, tuple[int, int]]
) -> str | None:
    """GitHub's error text for `expr` at a key allowing `named` and `functions`, or None."""
    return _check(expr, tuple(named), tuple((k, v[1]) for k, v in functions.items()))
