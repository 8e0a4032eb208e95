"""`${{ }}` inside YAML strings, with the workflow parser's rules.

A string that is exactly one `${{ x }}` yields x's raw value (an object stays an object);
anything else is the `format()` of its pieces: literal text plus each expression's string
form. A `}}` inside a quoted string literal does not close an expression.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from .errors import ExpressionError
from .parser import parse
from .values import CaseInsensitiveDict, FilteredArray, to_string

if TYPE_CHECKING:
    from .context import EvalContext
    from .nodes import Node

OPEN = "${{"
CLOSE = "}}"


class Segment(Struct, frozen=True):
    """A literal run (`is_expression` False) or the trimmed text inside one `${{ }}`."""

    text: str
    is_expression: bool
    offset: int  # 0-based offset of the segment (of `${{` for expressions)


def has_expression(value: Any) -> bool:
    """Whether a string holds at least one `${{`."""
    return isinstance(value, str) and OPEN in value


def split_template(template: str) -> list[Segment]:
    """Literal and expression segments of `template`, in order (literals may be empty-free)."""
    segments: list[Segment] = []
    start = template.find(OPEN)
    literal_from = 0
    while start >= 0:
        in_string = False
        end = -1
        i = start + len(OPEN)
        n = len(template)
        while i < n:
            c = template[i]
            if c == "'":
                in_string = not in_string
            elif not in_string and c == "}" and template[i - 1] == "}" and i - 1 >= start + len(OPEN):
                end = i
                break
            i += 1
        if end < 0:
            raise ExpressionError(
                "parsing",
                "The expression is not closed. An unescaped ${{ sequence was found, "
                "but the closing }} sequence was not found.",
            )
        if start > literal_from:
            segments.append(Segment(template[literal_from:start], False, literal_from))
        inner = template[start + len(OPEN) : end - 1].strip()
        if not inner:
            raise ExpressionError("parsing", "An expression was expected")
        segments.append(Segment(inner, True, start))
        literal_from = end + 1
        start = template.find(OPEN, literal_from)
    if literal_from < len(template):
        segments.append(Segment(template[literal_from:], False, literal_from))
    return segments


def single_expression(template: str) -> str | None:
    """The inner text if `template` is exactly one `${{ }}` and nothing else, else None."""
    if not template.startswith(OPEN) or not template.endswith(CLOSE):
        return None
    segments = split_template(template)
    if len(segments) == 1 and segments[0].is_expression:
        return segments[0].text
    return None


def _escape_literal(text: str) -> str:
    return text.replace("'", "''").replace("{", "{{").replace("}", "}}")


def to_format_expression(template: str, *, force_format: bool = False) -> str:
    """The template as the workflow parser rewrites it: one `format()` call.

    A template without expressions comes back unchanged; one that is exactly one `${{ x }}`
    is left as is unless `force_format`.
    """
    if OPEN not in template:
        return template
    segments = split_template(template)
    if not force_format and len(segments) == 1 and segments[0].is_expression:
        return template
    fmt: list[str] = []
    args: list[str] = []
    for seg in segments:
        if seg.is_expression:
            fmt.append("{" + str(len(args)) + "}")
            args.append(seg.text)
        else:
            fmt.append(_escape_literal(seg.text))
    return "format('" + "".join(fmt) + "', " + ", ".join(args) + ")"


@lru_cache(maxsize=4096)
def _compile(
    template: str, named_values: tuple[str, ...] | None, functions: tuple[str, ...] | None
) -> tuple[str | Node, ...]:
    """Literal strings and parsed trees of a template, cached like parsed expressions."""
    return tuple(
        parse(seg.text, named_values=named_values, functions=functions) if seg.is_expression else seg.text
        for seg in split_template(template)
    )


def interpolate(
    value: Any,
    ctx: EvalContext,
    *,
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> Any:
    """Evaluate every `${{ }}` in `value` (a string, or mappings/lists of them, recursively).

    Strings without `${{` come back unchanged (same object); non-string scalars too.
    """
    if isinstance(value, str):
        if OPEN not in value:
            return value
        nv = None if named_values is None else tuple(named_values)
        fn = None if functions is None else tuple(functions)
        pieces = _compile(value, nv, fn)
        if len(pieces) == 1 and not isinstance(pieces[0], str):
            value = pieces[0].eval(ctx)
            return list(value) if type(value) is FilteredArray else value
        return "".join(p if isinstance(p, str) else to_string(p.eval(ctx)) for p in pieces)
    if isinstance(value, Mapping):
        out = {
            to_string(interpolate(k, ctx, named_values=named_values, functions=functions)):
            interpolate(v, ctx, named_values=named_values, functions=functions)
            for k, v in value.items()
        }
        return CaseInsensitiveDict(out) if isinstance(value, CaseInsensitiveDict) else out
    if isinstance(value, list):
        return [interpolate(v, ctx, named_values=named_values, functions=functions) for v in value]
    return value


def interpolate_string(
    template: str,
    ctx: EvalContext,
    *,
    named_values: Collection[str] | None = None,
    functions: Collection[str] | None = None,
) -> str:
    """`interpolate` for a value that must end up a string (env values, `run:` scripts)."""
    return to_string(interpolate(template, ctx, named_values=named_values, functions=functions))
