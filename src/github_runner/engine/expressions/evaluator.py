"""Entry points that evaluate text or trees, and the `if:` condition rule."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any

from .context import EvalContext
from .errors import ExpressionError
from .functions import BUILTINS
from .interpolation import OPEN, single_expression, to_format_expression
from .nodes import And, Call, Node
from .parser import parse
from .status import STATUS_FUNCTIONS
from .values import FilteredArray, fold, truthy


def evaluate(node_or_text: Node | str, ctx: EvalContext) -> Any:
    """Evaluate a parsed tree, or parse (cached, no name restrictions) and evaluate text.

    Text is the inside of `${{ }}`. Raises ExpressionError (any stage).
    """
    node = parse(node_or_text) if isinstance(node_or_text, str) else node_or_text
    try:
        return plain(node.eval(ctx))
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError("evaluation", "Maximum object depth exceeded") from None


def plain(value: Any) -> Any:
    """A filter result leaves the evaluator as an ordinary array, as the runner's context data
    does: stored back into a context, it must index like any other array."""
    return list(value) if type(value) is FilteredArray else value


def has_status_function(node: Node) -> bool:
    return any(isinstance(n, Call) and fold(n.name).lower() in STATUS_FUNCTIONS for n in node.walk())


_SUCCESS = BUILTINS["SUCCESS"]


def condition_node(
    if_text: Any,
    *,
    default: str = "success()",
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> Node:
    """The tree an `if:` value stands for (cacheable by the caller).

    Accepts the text with or without `${{ }}`; empty means `default`. Without any status
    function the expression is wrapped as `success() && (...)`, as the runner does.
    """
    if if_text is None:
        text = default
    elif isinstance(if_text, bool):
        text = "true" if if_text else "false"
    elif isinstance(if_text, (int, float)):
        text = repr(float(if_text))
    else:
        text = str(if_text).strip()
        if not text:
            text = default
        elif OPEN in text:
            inner = single_expression(text)
            text = inner if inner is not None else to_format_expression(text)
    nv = None if named_values is None else tuple(named_values)
    fn = None if functions is None else tuple(functions)
    return _wrapped(text, nv, fn)


@lru_cache(maxsize=4096)
def _wrapped(text: str, named_values: tuple[str, ...] | None, functions: tuple[str, ...] | None) -> Node:
    node = parse(text, named_values=named_values, functions=functions)
    if has_status_function(node):
        return node
    return And([Call("success", [], _SUCCESS.impl, 0), node])


def evaluate_condition(
    if_text: Any,
    ctx: EvalContext,
    *,
    default: str = "success()",
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> bool:
    """Evaluate a job or step `if:` to a boolean (see `condition_node`)."""
    node = condition_node(if_text, default=default, named_values=named_values, functions=functions)
    return truthy(evaluate(node, ctx))
