"""Expression tree nodes; each evaluates itself against an EvalContext.

Evaluation lives on the nodes (rather than in a visitor) because expressions run on the
per-step hot path: one virtual call per node is the cheapest walk Python offers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .values import (
    FilteredArray,
    Kind,
    compare,
    kind_of,
    lookup,
    loose_equal,
    to_number,
    to_string,
    truthy,
)

if TYPE_CHECKING:
    from .context import EvalContext

_INT32_MAX = 2**31 - 1


class Node:
    """Base class; `children` lets callers walk the tree (e.g. to find status functions)."""

    __slots__ = ()

    def eval(self, ctx: EvalContext) -> Any:
        raise NotImplementedError

    @property
    def children(self) -> Sequence[Node]:
        return ()

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def eval(self, ctx: EvalContext) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"Literal({self.value!r})"


class PropertyName(Literal):
    """The `b` of `a.b`: always a keyword, so never an array index (`arr.b` is null)."""

    __slots__ = ()


class Wildcard(Node):
    __slots__ = ()

    def eval(self, ctx: EvalContext) -> Any:
        return None

    def __repr__(self) -> str:
        return "Wildcard()"


class NamedValue(Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def eval(self, ctx: EvalContext) -> Any:
        return ctx.named_value(self.name)

    def __repr__(self) -> str:
        return f"NamedValue({self.name!r})"


def _int_index(index: Any) -> int | None:
    if kind_of(index) > Kind.STRING:
        return None
    d = to_number(index)
    if d != d or d < 0 or d > _INT32_MAX + 1:
        return None
    d = math.floor(d)
    return int(d) if d <= _INT32_MAX else None


def _str_index(index: Any) -> str | None:
    if kind_of(index) > Kind.STRING:
        return None
    return to_string(index)


class Index(Node):
    """`a.b`, `a['b']`, `a[0]`, `a.*`, `a[*]` - never fails, misses give null."""

    __slots__ = ("left", "right")

    def __init__(self, left: Node, right: Node) -> None:
        self.left = left
        self.right = right

    @property
    def children(self) -> Sequence[Node]:
        return (self.left, self.right)

    def eval(self, ctx: EvalContext) -> Any:
        left = self.left.eval(ctx)
        right = self.right
        wildcard = type(right) is Wildcard
        if isinstance(left, FilteredArray):
            return self._filtered(ctx, left, wildcard)
        k = kind_of(left)
        if k is Kind.OBJECT:
            if wildcard:
                return FilteredArray(left.values())
            key = right.value if type(right) is Literal and type(right.value) is str else _str_index(right.eval(ctx))
            if key is None:
                return None
            return lookup(left, key)[1]
        if k is Kind.ARRAY:
            if wildcard:
                return FilteredArray(left)
            i = _int_index(right.eval(ctx))
            return left[i] if i is not None and i < len(left) else None
        return FilteredArray() if wildcard else None

    def _filtered(self, ctx: EvalContext, items: FilteredArray, wildcard: bool) -> FilteredArray:
        out = FilteredArray()
        index = None if wildcard else self.right.eval(ctx)
        for item in items:
            k = kind_of(item)
            if k is Kind.OBJECT:
                if wildcard:
                    out.extend(item.values())
                else:
                    key = _str_index(index)
                    if key is not None:
                        found, value = lookup(item, key)
                        if found:
                            out.append(value)
            elif k is Kind.ARRAY:
                if wildcard:
                    out.extend(item)
                else:
                    i = _int_index(index)
                    if i is not None and i < len(item):
                        out.append(item[i])
        return out

    def __repr__(self) -> str:
        return f"Index({self.left!r}, {self.right!r})"


class Not(Node):
    __slots__ = ("operand",)

    def __init__(self, operand: Node) -> None:
        self.operand = operand

    @property
    def children(self) -> Sequence[Node]:
        return (self.operand,)

    def eval(self, ctx: EvalContext) -> Any:
        return not truthy(self.operand.eval(ctx))


class _Logical(Node):
    """`&&` / `||`: the value of the operand that decides, not a bool (`'' || 'b'` is 'b')."""

    __slots__ = ("operands",)
    stops_on_truthy = False

    def __init__(self, operands: list[Node]) -> None:
        self.operands = operands

    @property
    def children(self) -> Sequence[Node]:
        return self.operands

    def eval(self, ctx: EvalContext) -> Any:
        value = None
        stop = self.stops_on_truthy
        for op in self.operands:
            value = op.eval(ctx)
            if truthy(value) is stop:
                return value
        return value


class And(_Logical):
    """Returns the first falsy operand's value, else the last one's."""

    __slots__ = ()
    stops_on_truthy = False


class Or(_Logical):
    """Returns the first truthy operand's value, else the last one's."""

    __slots__ = ()
    stops_on_truthy = True


def _eq(a: Any, b: Any) -> bool:
    return loose_equal(a, b)


def _ne(a: Any, b: Any) -> bool:
    return not loose_equal(a, b)


def _lt(a: Any, b: Any) -> bool:
    c = compare(a, b)
    return c is not None and c < 0


def _le(a: Any, b: Any) -> bool:
    c = compare(a, b)
    return c is not None and c <= 0


def _gt(a: Any, b: Any) -> bool:
    c = compare(a, b)
    return c is not None and c > 0


def _ge(a: Any, b: Any) -> bool:
    c = compare(a, b)
    return c is not None and c >= 0


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq, "!=": _ne, "<": _lt, "<=": _le, ">": _gt, ">=": _ge,
}


class Compare(Node):
    __slots__ = ("_fn", "left", "op", "right")

    def __init__(self, op: str, left: Node, right: Node) -> None:
        self.op = op
        self.left = left
        self.right = right
        self._fn = COMPARATORS[op]

    @property
    def children(self) -> Sequence[Node]:
        return (self.left, self.right)

    def eval(self, ctx: EvalContext) -> Any:
        return self._fn(self.left.eval(ctx), self.right.eval(ctx))


FunctionImpl = Callable[["EvalContext", Sequence[Node]], Any]


class Call(Node):
    """A function call; the implementation receives unevaluated arguments (for laziness)."""

    __slots__ = ("args", "impl", "name", "position")

    def __init__(self, name: str, args: list[Node], impl: FunctionImpl, position: int) -> None:
        self.name = name
        self.args = args
        self.impl = impl
        self.position = position

    @property
    def children(self) -> Sequence[Node]:
        return self.args

    def eval(self, ctx: EvalContext) -> Any:
        return self.impl(ctx, self.args)

    def __repr__(self) -> str:
        return f"Call({self.name!r}, {self.args!r})"


class PropertyPath(Node):
    """`name.a.b.c` folded into one node: the common context access, evaluated in one loop.

    Only chains of `.keyword` steps are folded; on anything but an object a step gives null,
    exactly what the equivalent Index nodes give.
    """

    __slots__ = ("keys", "name")

    def __init__(self, name: str, keys: tuple[str, ...]) -> None:
        self.name = name
        self.keys = keys

    def eval(self, ctx: EvalContext) -> Any:
        value = ctx.named_value(self.name)
        for key in self.keys:
            if type(value) is dict:
                found = value.get(key, _MISSING)
                value = found if found is not _MISSING else lookup(value, key)[1]
            elif isinstance(value, Mapping):
                value = lookup(value, key)[1]
            else:
                return None
        return value

    def __repr__(self) -> str:
        return f"PropertyPath({self.name!r}, {self.keys!r})"


_MISSING = object()


def fold_paths(node: Node) -> Node:
    """Rewrite `NamedValue.prop.prop...` chains into PropertyPath nodes (after depth checks)."""
    if type(node) is Index:
        keys: list[str] = []
        current: Node = node
        while type(current) is Index and type(current.right) is PropertyName:
            keys.append(current.right.value)
            current = current.left
        if type(current) is NamedValue and type(node) is Index and type(node.right) is PropertyName:
            return PropertyPath(current.name, tuple(reversed(keys)))
        node.left = fold_paths(node.left)
        node.right = fold_paths(node.right)
        return node
    if isinstance(node, Not):
        node.operand = fold_paths(node.operand)
    elif isinstance(node, _Logical):
        node.operands = [fold_paths(op) for op in node.operands]
    elif isinstance(node, Compare):
        node.left = fold_paths(node.left)
        node.right = fold_paths(node.right)
    elif isinstance(node, Call):
        node.args[:] = [fold_paths(arg) for arg in node.args]
    return node


def depth(node: Node) -> int:
    """Tree depth counted like the runner (a lone value is depth 1); iterative, any size."""
    best = 0
    stack = [(node, 1)]
    while stack:
        current, d = stack.pop()
        best = max(best, d)
        stack.extend((child, d + 1) for child in current.children)
    return best


__all__ = [
    "And",
    "Call",
    "Compare",
    "FunctionImpl",
    "Index",
    "Literal",
    "Mapping",
    "NamedValue",
    "Node",
    "Not",
    "Or",
    "Wildcard",
    "depth",
]
