"""Parse-time expression checks, delegated to the expressions package.

The reader only asks one question: does this expression parse with exactly the named values and
functions the schema allows at this key? The answer comes from `engine.expressions.parse`, so
the reader and the evaluator can never disagree about syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .schema import UNLIMITED


@lru_cache(maxsize=1)
def _parser() -> tuple[Callable[..., Any], type[Exception]] | None:
    try:
        from github_runner.engine.expressions import ExpressionError, parse
    except ImportError:  # the expressions package is not importable: syntax is not checked
        return None
    return parse, ExpressionError


# Always callable; the schema's `context` lists add the rest (status functions, hashFiles).
CORE_FUNCTIONS = (
    "contains",
    "startsWith",
    "endsWith",
    "format",
    "join",
    "toJSON",
    "fromJSON",
    "case",
)


@lru_cache(maxsize=4096)
def _check(expr: str, named: tuple[str, ...], functions: tuple[str, ...]) -> str | None:
    loaded = _parser()
    if loaded is None:
        return None
    parse, expression_error = loaded
    try:
        parse(expr, named_values=list(named), functions=[*CORE_FUNCTIONS, *functions])
    except expression_error as exc:
        return str(exc)
    return None


def check_expression(
    expr: str, named: list[str], functions: dict[str, tuple[int, int]]
) -> str | None:
    """GitHub's error text for `expr` at a key allowing `named` and `functions`, or None.

    Functions go to the parser with the schema's arity (`success(0,MAX)` at job level lets
    `success('build')` through, while a step's `success(0,0)` does not)."""
    specs = tuple(
        f"{name}({low},{'MAX' if high >= UNLIMITED else high})"
        for name, (low, high) in functions.items()
    )
    return _check(expr, tuple(named), specs)
