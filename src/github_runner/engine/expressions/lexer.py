"""Tokenizer with the C# runner's token rules.

Two failure kinds come out of here, because GitHub tells them apart: a *lexing* error when a
run of characters is no token at all (`0xZZ`, `@`, an unterminated string), and a *parsing*
error when a well-formed token may not follow the previous one (`foo 2`, `(1,`). The sequence
check lives here, like in the runner, because it needs the same look-behind state as `.` vs a
number and `(` as a call vs a group.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum, auto

from msgspec import Struct

from .errors import ExpressionError
from .values import is_space, parse_number


class T(Enum):
    START_GROUP = auto()  # "(" grouping
    START_INDEX = auto()  # "["
    START_PARAMS = auto()  # "(" call
    END_GROUP = auto()
    END_INDEX = auto()
    END_PARAMS = auto()
    SEPARATOR = auto()
    DEREF = auto()
    WILDCARD = auto()
    OPERATOR = auto()  # ! == != < <= > >= && ||
    NULL = auto()
    BOOLEAN = auto()
    NUMBER = auto()
    STRING = auto()
    PROPERTY = auto()
    FUNCTION = auto()
    NAMED_VALUE = auto()


class Token(Struct, frozen=True):
    kind: T
    raw: str
    index: int  # 0-based offset in the expression
    value: object = None


_BOUNDARY = frozenset("([)],.!><=&|")
_TWO_CHAR_OPS = frozenset(("!=", ">=", "<=", "==", "&&", "||"))
_ONE_CHAR_OPS = frozenset("!><")
_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")

_VALUE_END = frozenset(
    (T.END_GROUP, T.END_PARAMS, T.END_INDEX, T.WILDCARD, T.NULL, T.BOOLEAN, T.NUMBER, T.STRING,
     T.PROPERTY, T.NAMED_VALUE)
)
_OPERAND_START = frozenset((None, T.SEPARATOR, T.START_INDEX, T.START_GROUP, T.START_PARAMS, T.OPERATOR))
_INDEXABLE = frozenset((T.END_GROUP, T.END_PARAMS, T.END_INDEX, T.WILDCARD, T.PROPERTY, T.NAMED_VALUE))

# Which previous token kinds each token kind may follow (None: start of expression).
_LEGAL_AFTER: dict[T, frozenset[T | None]] = {
    T.START_GROUP: frozenset((None, T.SEPARATOR, T.START_GROUP, T.START_PARAMS, T.START_INDEX, T.OPERATOR)),
    T.START_INDEX: _INDEXABLE,
    T.START_PARAMS: frozenset((T.FUNCTION,)),
    T.END_GROUP: _VALUE_END,
    T.END_INDEX: _VALUE_END,
    T.END_PARAMS: _VALUE_END | {T.START_PARAMS},
    T.SEPARATOR: _VALUE_END,
    T.DEREF: _INDEXABLE,
    T.WILDCARD: frozenset((T.START_INDEX, T.DEREF)),
    T.NULL: _OPERAND_START,
    T.BOOLEAN: _OPERAND_START,
    T.NUMBER: _OPERAND_START,
    T.STRING: _OPERAND_START,
    T.PROPERTY: frozenset((T.DEREF,)),
    T.FUNCTION: _OPERAND_START,
    T.NAMED_VALUE: _OPERAND_START,
}
_CLOSES = {T.END_GROUP: T.START_GROUP, T.END_INDEX: T.START_INDEX, T.END_PARAMS: T.START_PARAMS}


def _is_boundary(ch: str) -> bool:
    return ch in _BOUNDARY or is_space(ch)


def position(expr: str, index: int) -> int:
    """1-based position in UTF-16 code units, as the C# runner counts."""
    head = expr[:index]
    if head.isascii():
        return index + 1
    return len(head.encode("utf-16-le")) // 2 + 1


def _unexpected(expr: str, raw: str, index: int, kind: str) -> ExpressionError:
    return ExpressionError(kind, f"Unexpected symbol: '{raw}'", position(expr, index), expr)  # type: ignore[arg-type]


OnToken = Callable[[Token, int], None]


def tokenize(expr: str, on_token: OnToken | None = None) -> tuple[list[Token], list[Token]]:
    """All tokens of `expr` plus the still-unclosed `(`/`[` tokens at the end.

    Raises ExpressionError (lexing or parsing) at the first bad token, as the runner does.
    `on_token(token, n)` is called, in order, for each function and named-value token (n=-1) and
    for each closed call with the function token and its argument count, so the parser reports
    unknown names and wrong arity at the same point in the text as the runner.
    """
    tokens: list[Token] = []
    unclosed: list[Token] = []
    args: list[int] = []  # separators seen in each unclosed "(" call, parallel to `unclosed`
    calls: list[Token] = []  # function token of each unclosed call
    n = len(expr)
    i = 0
    last: T | None = None
    while True:
        while i < n and is_space(expr[i]):
            i += 1
        if i >= n:
            return tokens, unclosed
        start = i
        c = expr[i]
        value: object = None
        if c == "(":
            kind = T.START_PARAMS if last is T.FUNCTION else T.START_GROUP
            raw = c
            i += 1
        elif c == "[":
            kind, raw = T.START_INDEX, c
            i += 1
        elif c == ")":
            kind = T.END_PARAMS if unclosed and unclosed[-1].kind is T.START_PARAMS else T.END_GROUP
            raw = c
            i += 1
        elif c == "]":
            kind, raw = T.END_INDEX, c
            i += 1
        elif c == ",":
            kind, raw = T.SEPARATOR, c
            i += 1
        elif c == "*":
            kind, raw = T.WILDCARD, c
            i += 1
        elif c == "'":
            i += 1
            parts: list[str] = []
            closed = False
            while i < n:
                ch = expr[i]
                i += 1
                if ch == "'":
                    if i >= n or expr[i] != "'":
                        closed = True
                        break
                    i += 1
                parts.append(ch)
            raw = expr[start:i]
            if not closed:
                raise _unexpected(expr, raw, start, "lexing")
            kind, value = T.STRING, "".join(parts)
        elif c in "!><=&|":
            two = expr[i : i + 2]
            if two in _TWO_CHAR_OPS:
                kind, raw = T.OPERATOR, two
                i += 2
            elif c in _ONE_CHAR_OPS:
                kind, raw = T.OPERATOR, c
                i += 1
            else:
                i += 1
                while i < n and not _is_boundary(expr[i]):
                    i += 1
                raise _unexpected(expr, expr[start:i], start, "lexing")
        elif c == "." and last not in _OPERAND_START:
            kind, raw = T.DEREF, c
            i += 1
        elif c == "." or c == "-" or c == "+" or "0" <= c <= "9":
            i += 1
            while i < n and (not _is_boundary(expr[i]) or expr[i] == "."):
                i += 1
            raw = expr[start:i]
            number = parse_number(raw)
            if number != number:
                raise _unexpected(expr, raw, start, "lexing")
            kind, value = T.NUMBER, number
        else:
            i += 1
            while i < n and not _is_boundary(expr[i]):
                i += 1
            raw = expr[start:i]
            if not _KEYWORD.match(raw):
                raise _unexpected(expr, raw, start, "lexing")
            if last is T.DEREF:
                kind = T.PROPERTY
            elif raw == "null":
                kind = T.NULL
            elif raw == "true":
                kind, value = T.BOOLEAN, True
            elif raw == "false":
                kind, value = T.BOOLEAN, False
            elif raw == "NaN":
                kind, value = T.NUMBER, float("nan")
            elif raw == "Infinity":
                kind, value = T.NUMBER, float("inf")
            else:
                j = i
                while j < n and is_space(expr[j]):
                    j += 1
                kind = T.FUNCTION if j < n and expr[j] == "(" else T.NAMED_VALUE

        token = Token(kind, raw, start, value)
        if kind is T.OPERATOR:
            legal = (last in _OPERAND_START) if raw == "!" else (last in _VALUE_END)
        else:
            legal = last in _LEGAL_AFTER[kind]
        if legal:
            if kind is T.START_GROUP or kind is T.START_INDEX:
                unclosed.append(token)
                args.append(0)
            elif kind is T.START_PARAMS:
                unclosed.append(token)
                args.append(0)
                calls.append(tokens[-1])
            elif kind in _CLOSES:
                legal = bool(unclosed) and unclosed[-1].kind is _CLOSES[kind]
                if legal:
                    unclosed.pop()
                    seps = args.pop()
                    if kind is T.END_PARAMS and on_token is not None:
                        on_token(calls.pop(), 0 if last is T.START_PARAMS else seps + 1)
                    elif kind is T.END_PARAMS:
                        calls.pop()
            elif kind is T.SEPARATOR:
                legal = bool(unclosed) and unclosed[-1].kind is T.START_PARAMS
                if legal:
                    args[-1] += 1
        if not legal:
            raise _unexpected(expr, raw, start, "parsing")
        if on_token is not None and (kind is T.FUNCTION or kind is T.NAMED_VALUE):
            on_token(token, -1)
        tokens.append(token)
        last = kind
