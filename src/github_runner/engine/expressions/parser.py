"""Tokens -> tree, with the runner's operator-precedence (shunting-yard) algorithm.

Iterative on purpose: deeply nested parentheses are legal (they make no nodes) and must not
hit Python's recursion limit. Every lexing/parsing error is raised in text order by the lexer
pass; this module only adds the end-of-expression, length and depth checks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import NoReturn

from msgspec.structs import replace

from .errors import ExpressionError
from .functions import BUILTINS, UNLIMITED, FunctionSpec
from .lexer import T, Token, position, tokenize
from .nodes import (
    And,
    Call,
    Compare,
    Index,
    Literal,
    NamedValue,
    Node,
    Not,
    Or,
    PropertyName,
    Wildcard,
    depth,
    fold_paths,
)
from .values import fold

MAX_DEPTH = 50
MAX_LENGTH = 21000

_PRECEDENCE = {
    T.START_GROUP: 20, T.START_INDEX: 19, T.START_PARAMS: 19, T.DEREF: 19,
    T.END_GROUP: 1, T.END_INDEX: 1, T.END_PARAMS: 1, T.SEPARATOR: 1,
}
_OP_PRECEDENCE = {"!": 16, ">": 11, ">=": 11, "<": 11, "<=": 11, "==": 10, "!=": 10, "&&": 6, "||": 5}
_OPERATOR_KINDS = frozenset(_PRECEDENCE) | {T.OPERATOR}
_OPENERS = frozenset((T.START_GROUP, T.START_INDEX, T.START_PARAMS, T.SEPARATOR))
_CLOSERS = frozenset((T.END_GROUP, T.END_INDEX, T.END_PARAMS))


class EmptyExpression(Node):
    """An expression with no tokens; evaluates to null like the runner's empty tree."""

    __slots__ = ()

    def eval(self, ctx: object) -> None:
        return None

    def __repr__(self) -> str:
        return "EmptyExpression()"


def _precedence(tok: Token) -> int:
    if tok.kind is T.OPERATOR:
        return _OP_PRECEDENCE[tok.raw]
    return _PRECEDENCE.get(tok.kind, 0)


FunctionKey = tuple[str, int | None, int | None]


def _spec_key(entry: str) -> FunctionKey:
    """`name` or the schema's `name(min,max)` (MAX = unlimited) -> (folded name, min, max)."""
    name, paren, rest = entry.partition("(")
    if not paren:
        return fold(name.strip()), None, None
    low, _, high = rest.rstrip(")").partition(",")
    try:
        lo = int(low)
        hi = UNLIMITED if high.strip().upper() == "MAX" else int(high)
    except ValueError:
        return fold(name.strip()), None, None
    return fold(name.strip()), lo, hi


# With no restriction, the widest arity any schema key grants: job-level `if:` allows
# `success('build')` / `failure('a', 'b')` (the schema's `success(0,MAX)`).
_UNRESTRICTED: dict[str, FunctionSpec] = {
    **BUILTINS,
    "SUCCESS": replace(BUILTINS["SUCCESS"], max_args=UNLIMITED),
    "FAILURE": replace(BUILTINS["FAILURE"], max_args=UNLIMITED),
}


def _function_table(keys: frozenset[FunctionKey] | None) -> Mapping[str, FunctionSpec]:
    if keys is None:
        return _UNRESTRICTED
    table: dict[str, FunctionSpec] = {}
    for name, lo, hi in keys:
        spec = BUILTINS.get(name)
        if spec is None:
            continue
        if lo is not None and hi is not None:
            spec = replace(spec, min_args=lo, max_args=hi)
        table[name] = spec
    return table


class _Checker:
    """Validates names and arity as the lexer reaches them (so errors come in text order)."""

    def __init__(self, expr: str, named_values: frozenset[str] | None, functions: Mapping[str, FunctionSpec]) -> None:
        self.expr = expr
        self.named_values = named_values
        self.functions = functions

    def __call__(self, tok: Token, count: int) -> None:
        if tok.kind is T.NAMED_VALUE:
            if self.named_values is not None and fold(tok.raw) not in self.named_values:
                self._fail(f"Unrecognized named-value: '{tok.raw}'", tok)
            return
        spec = self.functions.get(fold(tok.raw))
        if spec is None:
            self._fail(f"Unrecognized function: '{tok.raw}'", tok)
        if count < 0:
            return
        if count < spec.min_args:
            self._fail(f"Too few parameters supplied: '{tok.raw}'", tok)
        if count > spec.max_args:
            self._fail(f"Too many parameters supplied: '{tok.raw}'", tok)
        if spec.odd_args and count % 2 == 0:
            self._fail(
                f"Even number of parameters supplied, requires an odd number of parameters: '{tok.raw}'", tok
            )

    def _fail(self, message: str, tok: Token) -> NoReturn:
        raise ExpressionError("parsing", message, position(self.expr, tok.index), self.expr)


def _build(expr: str, tokens: list[Token], functions: Mapping[str, FunctionSpec]) -> Node:
    operands: list[Node] = []
    operators: list[Token] = []

    def pop_operands(count: int) -> list[Node]:
        if count == 0:
            return []
        taken = operands[-count:]
        del operands[-count:]
        return taken

    def flush_top(current: Token, last: Token | None) -> None:
        top = operators[-1]
        if top.kind is T.END_INDEX:
            operators.pop()
            operators.pop()
            left, right = pop_operands(2)
            operands.append(Index(left, right))
            return
        if top.kind is T.END_GROUP:
            operators.pop()
            operators.pop()
            return
        if top.kind is T.END_PARAMS:
            operators.pop()
            args: list[Node] = []
            if last is None or last.kind is not T.START_PARAMS:
                count = 1
                while operators[-1].kind is T.SEPARATOR:
                    count += 1
                    operators.pop()
                args = pop_operands(count)
            operators.pop()  # "("
            call = operands[-1]
            assert isinstance(call, Call)
            call.args.extend(args)
            return
        op = operators.pop()
        if op.kind is T.DEREF:
            left, right = pop_operands(2)
            operands.append(Index(left, right))
        elif op.raw == "!":
            operands.append(Not(operands.pop()))
        elif op.raw in ("&&", "||"):
            cls = And if op.raw == "&&" else Or
            flat: list[Node] = []
            for operand in pop_operands(2):
                if type(operand) is cls:
                    flat.extend(operand.operands)
                else:
                    flat.append(operand)
            operands.append(cls(flat))
        else:
            left, right = pop_operands(2)
            operands.append(Compare(op.raw, left, right))

    last: Token | None = None
    for tok in tokens:
        kind = tok.kind
        if kind in _OPERATOR_KINDS:
            left_to_right = kind is not T.START_GROUP and not (kind is T.OPERATOR and tok.raw == "!")
            if left_to_right:
                prec = _precedence(tok)
                while operators:
                    top = operators[-1]
                    if prec <= _precedence(top) and top.kind not in _OPENERS:
                        flush_top(tok, last)
                        continue
                    break
            operators.append(tok)
            if kind in _CLOSERS:
                flush_top(tok, last)
        elif kind is T.FUNCTION:
            spec = functions[fold(tok.raw)]
            operands.append(Call(tok.raw, [], spec.impl, position(expr, tok.index)))
        elif kind is T.NAMED_VALUE:
            operands.append(NamedValue(tok.raw))
        elif kind is T.WILDCARD:
            operands.append(Wildcard())
        elif kind is T.PROPERTY:
            operands.append(PropertyName(tok.raw))
        else:
            operands.append(Literal(tok.value))
        last = tok

    while operators:
        flush_top(last, last)  # type: ignore[arg-type]
    return operands[-1]


def _check_end(expr: str, tokens: list[Token], unclosed: list[Token]) -> None:
    last = tokens[-1]
    dangling = last.kind is T.FUNCTION or (last.kind in _OPERATOR_KINDS and last.kind not in _CLOSERS)
    if dangling or unclosed:
        raise ExpressionError(
            "parsing", f"Unexpected end of expression: '{last.raw}'", position(expr, last.index), expr
        )


@lru_cache(maxsize=4096)
def _parse_cached(expr: str, named_values: frozenset[str] | None, functions: frozenset[FunctionKey] | None) -> Node:
    if len(expr) > MAX_LENGTH:
        raise ExpressionError("parsing", f"Exceeded max expression length {MAX_LENGTH}")
    table = _function_table(functions)
    tokens, unclosed = tokenize(expr, _Checker(expr, named_values, table))
    if not tokens:
        return EmptyExpression()
    _check_end(expr, tokens, unclosed)
    root = _build(expr, tokens, table)
    if depth(root) > MAX_DEPTH:
        raise ExpressionError("parsing", f"Exceeded max expression depth {MAX_DEPTH}")
    return fold_paths(root)


def parse(
    text: str,
    *,
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> Node:
    """Parse the text inside `${{ }}` into a tree (cached; trees are immutable once built).

    `named_values`/`functions` restrict what the text may use (None: anything known, with the
    widest arities any key allows, e.g. job-level `success('build')`); names
    compare case-insensitively. A function entry may carry the schema's `(min,max)` suffix
    (`success(0,MAX)` at job level), which then replaces the built-in arity.
    Raises ExpressionError with kind `lexing` or `parsing`.
    """
    nv = None if named_values is None else frozenset(fold(n) for n in named_values)
    fn = None if functions is None else frozenset(_spec_key(f) for f in functions)
    return _parse_cached(text, nv, fn)
