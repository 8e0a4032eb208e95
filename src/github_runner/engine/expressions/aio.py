"""Async entry points for the engine's event loop.

Only `hashFiles()` touches the disk (it may read a whole repository); an expression that calls
it is evaluated in a worker thread so parallel jobs keep streaming logs. Everything else is
evaluated inline, since a thread hop would cost more than the evaluation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from .context import EvalContext
from .evaluator import condition_node, evaluate
from .interpolation import interpolate
from .nodes import Call, Node
from .parser import parse
from .values import fold, truthy

_IO_FUNCTIONS = frozenset(("HASHFILES",))


@lru_cache(maxsize=4096)
def uses_io(node: Node) -> bool:
    """Whether evaluating the tree may read files (trees are cached, so this is too)."""
    return any(isinstance(n, Call) and fold(n.name) in _IO_FUNCTIONS for n in node.walk())


def _mentions_io(value: Any) -> bool:
    if isinstance(value, str):
        return "${{" in value and "hashfiles" in value.lower()
    if isinstance(value, Mapping):
        return any(_mentions_io(k) or _mentions_io(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_mentions_io(v) for v in value)
    return False


async def evaluate_async(node_or_text: Node | str, ctx: EvalContext) -> Any:
    """`evaluate`, off the event loop when the expression calls hashFiles()."""
    node = parse(node_or_text) if isinstance(node_or_text, str) else node_or_text
    if uses_io(node):
        import asyncio  # here, not at module level: importing expressions stays cheap

        return await asyncio.to_thread(evaluate, node, ctx)
    return evaluate(node, ctx)


async def evaluate_condition_async(
    if_text: Any,
    ctx: EvalContext,
    *,
    default: str = "success()",
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> bool:
    """`evaluate_condition`, off the event loop when the condition calls hashFiles()."""
    node = condition_node(if_text, default=default, named_values=named_values, functions=functions)
    return truthy(await evaluate_async(node, ctx))


async def interpolate_async(
    value: Any,
    ctx: EvalContext,
    *,
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> Any:
    """`interpolate`, off the event loop when any `${{ }}` in `value` mentions hashFiles()."""
    if _mentions_io(value):
        import asyncio

        return await asyncio.to_thread(
            lambda: interpolate(value, ctx, named_values=named_values, functions=functions)
        )
    return interpolate(value, ctx, named_values=named_values, functions=functions)
