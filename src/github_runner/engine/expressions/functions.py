"""Built-in functions with the runner's semantics; the table the parser validates against.

Implementations receive unevaluated argument nodes so that `case()` and `format()` evaluate
only what they use, as the runner does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from .errors import ExpressionError
from .hashfiles import fn_hash_files
from .status import fn_always, fn_cancelled, fn_failure, fn_success
from .tojson import to_json
from .values import (
    CaseInsensitiveDict,
    Kind,
    fold,
    is_space,
    kind_name,
    kind_of,
    loose_equal,
    to_string,
)

if TYPE_CHECKING:
    from .context import EvalContext
    from .nodes import FunctionImpl, Node

UNLIMITED = 2**31 - 1


def _primitive(value: Any) -> bool:
    return kind_of(value) <= Kind.STRING


def fn_contains(ctx: EvalContext, args: Sequence[Node]) -> Any:
    left = args[0].eval(ctx)
    k = kind_of(left)
    if k <= Kind.STRING:
        right = args[1].eval(ctx)
        if _primitive(right):
            return fold(to_string(right)) in fold(to_string(left))
        return False
    if k is Kind.ARRAY and len(left) > 0:
        right = args[1].eval(ctx)
        return any(loose_equal(right, item) for item in left)
    return False


def _affix_test(ctx: EvalContext, args: Sequence[Node], test: Any) -> bool:
    left = args[0].eval(ctx)
    if not _primitive(left):
        return False
    right = args[1].eval(ctx)
    if not _primitive(right):
        return False
    return bool(test(fold(to_string(left)), fold(to_string(right))))


def fn_starts_with(ctx: EvalContext, args: Sequence[Node]) -> Any:
    return _affix_test(ctx, args, str.startswith)


def fn_ends_with(ctx: EvalContext, args: Sequence[Node]) -> Any:
    return _affix_test(ctx, args, str.endswith)


def _invalid_format(fmt: str) -> ExpressionError:
    return ExpressionError("evaluation", f"The following format string is invalid: {fmt}")


def _read_arg_index(fmt: str, start: int) -> tuple[int, int] | None:
    end = start
    while end < len(fmt) and fmt[end].isdigit():
        end += 1
    if end == start:
        return None
    digits = fmt[start:end]
    if not digits.isascii() or int(digits) > 255:
        return None
    return int(digits), end - 1


def _read_specifiers(fmt: str, start: int) -> tuple[str, int] | None:
    c = fmt[start] if start < len(fmt) else ""
    if c == "}":
        return "", start
    if c != ":":
        return None
    spec: list[str] = []
    i = start + 1
    while True:
        if i >= len(fmt):
            return None
        c = fmt[i]
        if c != "}":
            spec.append(c)
            i += 1
        elif i + 1 < len(fmt) and fmt[i + 1] == "}":
            spec.append("}")
            i += 2
        else:
            return "".join(spec), i


def format_string(fmt: str, get_arg: Any, arg_count: int) -> str:
    """The runner's `format()`: `{N}` placeholders, `{{`/`}}` escapes, strict errors.

    The whole format string is checked before any argument is evaluated, and arguments are
    evaluated only when referenced (once each), as in the runner.
    """
    segments: list[str | tuple[int, str]] = []
    index = 0
    n = len(fmt)
    while index < n:
        lbrace = fmt.find("{", index)
        rbrace = fmt.find("}", index)
        if lbrace >= 0 and (rbrace < 0 or rbrace > lbrace):
            if lbrace + 1 < n and fmt[lbrace + 1] == "{":
                segments.append(fmt[index : lbrace + 1])
                index = lbrace + 2
                continue
            arg = _read_arg_index(fmt, lbrace + 1) if rbrace > lbrace + 1 else None
            spec = _read_specifiers(fmt, arg[1] + 1) if arg is not None else None
            if arg is None or spec is None:
                raise _invalid_format(fmt)
            arg_index, _ = arg
            specifiers, rbrace = spec
            if arg_index >= arg_count:
                raise ExpressionError(
                    "evaluation",
                    f"The following format string references more arguments than were supplied: {fmt}",
                )
            if lbrace > index:
                segments.append(fmt[index:lbrace])
            segments.append((arg_index, specifiers))
            index = rbrace + 1
        elif rbrace >= 0:
            if rbrace + 1 < n and fmt[rbrace + 1] == "}":
                segments.append(fmt[index : rbrace + 1])
                index = rbrace + 2
            else:
                raise _invalid_format(fmt)
        else:
            segments.append(fmt[index:])
            break
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
            continue
        arg_index, specifiers = segment
        value = get_arg(arg_index)
        if specifiers:
            raise ExpressionError(
                "evaluation",
                f"The format specifiers '{specifiers}' are not valid for objects of type '{kind_name(value)}'",
            )
        out.append(to_string(value))
    return "".join(out)


def fn_format(ctx: EvalContext, args: Sequence[Node]) -> Any:
    fmt = to_string(args[0].eval(ctx))
    cache: dict[int, Any] = {}

    def get_arg(i: int) -> Any:
        if i not in cache:
            cache[i] = args[i + 1].eval(ctx)
        return cache[i]

    return format_string(fmt, get_arg, len(args) - 1)


def fn_join(ctx: EvalContext, args: Sequence[Node]) -> Any:
    items = args[0].eval(ctx)
    k = kind_of(items)
    if k is Kind.ARRAY and len(items) > 0:
        sep = ","
        if len(items) > 1 and len(args) > 1:
            sep_value = args[1].eval(ctx)
            if _primitive(sep_value):
                sep = to_string(sep_value)
        return sep.join(to_string(item) for item in items)
    if k <= Kind.STRING:
        return to_string(items)
    return ""


def fn_to_json(ctx: EvalContext, args: Sequence[Node]) -> Any:
    return to_json(args[0].eval(ctx))


def _json_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _json_object(pairs: list[tuple[str, Any]]) -> CaseInsensitiveDict:
    return CaseInsensitiveDict(pairs)


_DECODER = json.JSONDecoder(
    parse_int=float,
    parse_constant=_json_constant,
    object_pairs_hook=_json_object,
    strict=False,
)
JSON_MAX_DEPTH = 64


def _json_depth(value: Any) -> int:
    best = 0
    stack = [(value, 0)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, CaseInsensitiveDict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
        else:
            continue
        best = max(best, d + 1)
    return best


def from_json(text: str) -> Any:
    """Parse JSON as the runner's Newtonsoft reader does: one value, trailing text ignored,
    raw control characters allowed in strings, NaN/Infinity accepted, at most 64 levels deep.
    Numbers become floats; objects compare keys case-insensitively."""
    start = 0
    while start < len(text) and is_space(text[start]):
        start += 1
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError) as exc:
        raise ExpressionError("evaluation", f"Error parsing fromJson: {exc}") from None
    if _json_depth(value) > JSON_MAX_DEPTH:
        raise ExpressionError(
            "evaluation", f"Error parsing fromJson: the reader's maximum depth of {JSON_MAX_DEPTH} was exceeded"
        )
    return value


def fn_from_json(ctx: EvalContext, args: Sequence[Node]) -> Any:
    return from_json(to_string(args[0].eval(ctx)))


def fn_case(ctx: EvalContext, args: Sequence[Node]) -> Any:
    for i in range(0, len(args) - 1, 2):
        predicate = args[i].eval(ctx)
        if kind_of(predicate) is not Kind.BOOLEAN:
            raise ExpressionError("evaluation", "case predicate must evaluate to a boolean value")
        if predicate:
            return args[i + 1].eval(ctx)
    return args[-1].eval(ctx)


class FunctionSpec(Struct, frozen=True):
    name: str
    min_args: int
    max_args: int
    impl: FunctionImpl
    odd_args: bool = False


_SPECS = [
    FunctionSpec("contains", 2, 2, fn_contains),
    FunctionSpec("startsWith", 2, 2, fn_starts_with),
    FunctionSpec("endsWith", 2, 2, fn_ends_with),
    FunctionSpec("format", 1, UNLIMITED, fn_format),
    FunctionSpec("join", 1, 2, fn_join),
    FunctionSpec("toJSON", 1, 1, fn_to_json),
    FunctionSpec("fromJSON", 1, 1, fn_from_json),
    FunctionSpec("hashFiles", 1, UNLIMITED, fn_hash_files),
    FunctionSpec("success", 0, 0, fn_success),
    FunctionSpec("always", 0, 0, fn_always),
    FunctionSpec("cancelled", 0, 0, fn_cancelled),
    FunctionSpec("failure", 0, 0, fn_failure),
    FunctionSpec("case", 3, UNLIMITED, fn_case, odd_args=True),
]

BUILTINS: dict[str, FunctionSpec] = {fold(s.name): s for s in _SPECS}
