"""The positioned tree a workflow file is read into before it becomes the typed model.

Why not plain Python values: the schema walk, the post-parse checks and every error message
need the position of each node and the difference between `true` and `"true"`, `1` and `"1"`,
a literal and a `${{ }}` expression. These tokens keep all of that; `to_raw()` drops it once
validation is done.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any
from typing import Literal as Lit

from msgspec import Struct, field

from .errors import Pos

Kind = Lit["null", "boolean", "number", "string"]


def format_number(value: float) -> str:
    """Numbers print like GitHub's (C# "G15"): 1.0 -> "1", 1e20 -> "1E+20"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.15G}"
    if "E" in text:
        mantissa, exp = text.split("E")
        sign = exp[0]
        digits = exp[1:].lstrip("0") or "0"
        text = f"{mantissa}E{sign}{digits.zfill(2)}"
    return text


class Token(Struct):
    pos: Pos | None

    @property
    def is_expression(self) -> bool:
        return False

    def to_raw(self) -> Any:
        raise NotImplementedError


class LiteralToken(Token):
    kind: Kind
    value: str | bool | int | float | None
    # Block scalars are multi-line in the source; expression positions are computed from it.
    source: str | None = None

    def __str__(self) -> str:
        if self.kind == "null":
            return ""
        if self.kind == "boolean":
            return "true" if self.value else "false"
        if self.kind == "number":
            return format_number(self.value)  # type: ignore[arg-type]
        return str(self.value)

    def to_raw(self) -> Any:
        return self.value

    def as_string(self) -> LiteralToken:
        return LiteralToken(self.pos, "string", str(self))


class ExpressionToken(Token):
    """A value that is an expression: `expr` is the text GitHub evaluates (a `format()` call when
    literal text surrounds `${{ }}`); `raw` is the value as written."""

    expr: str
    raw: str
    directive: str | None = None  # "insert" for `${{ insert }}`

    @property
    def is_expression(self) -> bool:
        return True

    def __str__(self) -> str:
        if self.directive:
            return f"${{{{ {self.directive} }}}}"
        return f"${{{{ {self.expr} }}}}"

    def to_raw(self) -> Any:
        return self.raw


class SequenceToken(Token):
    items: list[Token] = field(default_factory=list)

    def __iter__(self) -> Iterator[Token]:
        return iter(self.items)

    def to_raw(self) -> list[Any]:
        return [item.to_raw() for item in self.items]


class MappingToken(Token):
    pairs: list[tuple[Token, Token]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[Token, Token]]:
        return iter(self.pairs)

    def get(self, key: str) -> Token | None:
        for k, v in self.pairs:
            if isinstance(k, LiteralToken) and k.kind == "string" and k.value == key:
                return v
        return None

    def key_token(self, key: str) -> Token | None:
        for k, _ in self.pairs:
            if isinstance(k, LiteralToken) and k.kind == "string" and k.value == key:
                return k
        return None

    def to_raw(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for k, v in self.pairs:
            key = k.to_raw() if isinstance(k, ExpressionToken) else str(k)
            out[key] = v.to_raw()
        return out


def is_string(token: Token | None) -> bool:
    return isinstance(token, LiteralToken) and token.kind == "string"


def string_value(token: Token | None) -> str | None:
    if isinstance(token, LiteralToken) and token.kind == "string":
        return str(token.value)
    return None
