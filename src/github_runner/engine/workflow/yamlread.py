"""YAML text -> positioned tokens, with GitHub's YAML rules rather than a library's defaults.

ruamel.yaml supplies the event stream (positions, styles, tags); typing the scalars is done here
with the YAML 1.2 core schema exactly as GitHub applies it: `on`/`yes`/`off` stay strings,
`12_345` is a string, only plain scalars are typed implicitly, and an explicit `!!float test`
is an error rather than a string. Anchors and aliases are refused as GitHub refuses them.
"""

from __future__ import annotations

import copy
import io
import math
import re

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from .errors import Pos
from .tokens import LiteralToken, MappingToken, SequenceToken, Token

TAG = "tag:yaml.org,2002:"

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT_DEC = re.compile(r"[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")


class YamlFatal(Exception):
    """A problem that stops reading the file; GitHub then reports it alone."""

    def __init__(self, message: str, pos: Pos | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _parse_null(text: str) -> tuple[bool, None]:
    return text in _NULL, None


def _parse_bool(text: str) -> tuple[bool, bool | None]:
    if text in _TRUE:
        return True, True
    if text in _FALSE:
        return True, False
    return False, None


def _as_double(value: int) -> int | float:
    """GitHub's numbers are doubles: exact up to 2**53, then rounded, then infinite."""
    if abs(value) <= 2**53:
        return value
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _int32(value: int) -> int | None:
    """Hex and octal literals are 32-bit in GitHub's reader: past 0xFFFFFFFF they are invalid,
    and above 0x7FFFFFFF they wrap to negative numbers."""
    if value > 0xFFFFFFFF:
        return None
    return value - 2**32 if value >= 2**31 else value


def _parse_int(text: str) -> tuple[bool, int | float | None]:
    if _INT_DEC.match(text):
        return True, _as_double(int(text))
    for pattern, base in ((_INT_OCT, 8), (_INT_HEX, 16)):
        if pattern.match(text):
            value = _int32(int(text[2:], base))
            if value is None:
                raise ValueError(text)
            return True, value
    return False, None


def _parse_float(text: str) -> tuple[bool, float | int | None]:
    if _FLOAT.match(text):
        value = float(text)
        return True, int(value) if value.is_integer() and abs(value) < 2**53 else value
    if _INF.match(text):
        return True, -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return True, math.nan
    return False, None


def _number(text: str) -> tuple[bool, int | float | None]:
    ok, value = _parse_int(text)
    if ok:
        return ok, value
    return _parse_float(text)


_STYLE_NAMES = {"'": "SingleQuoted", '"': "DoubleQuoted", "|": "Literal", ">": "Folded"}
_TAGGED = {
    TAG + "null": ("null", _parse_null),
    TAG + "bool": ("boolean", _parse_bool),
    TAG + "int": ("number", _parse_int),
    TAG + "float": ("number", _parse_float),
}


def _invalid(value: str, tag: str, pos: Pos) -> YamlFatal:
    return YamlFatal(
        f"The value '{value}' on line {pos.line} and column {pos.col} is invalid for the type '{tag}'"
    )


def scalar_token(value: str, tag: str | None, style: str | None, pos: Pos) -> LiteralToken:
    """Type one scalar the way GitHub's reader does (YAML 1.2 core schema); `style` is None
    for a plain scalar, else its quote or block indicator."""
    if tag and tag != "!":
        if tag == TAG + "str":
            return LiteralToken(pos, "string", value)
        if style is not None:
            raise YamlFatal(
                f"The scalar style '{_STYLE_NAMES.get(style, style)}' on line {pos.line} and column "
                f"{pos.col} is not valid with the tag '{tag}'"
            )
        if tag not in _TAGGED:
            raise YamlFatal(f"Unexpected tag '{tag}'")
        kind, parse = _TAGGED[tag]
        try:
            ok, parsed = parse(value)
        except ValueError:
            ok, parsed = False, None
        if not ok:
            raise _invalid(value, tag, pos)
        return LiteralToken(pos, kind, parsed)  # type: ignore[arg-type]
    if style is not None or tag == "!":
        return LiteralToken(pos, "string", value)
    if value in _NULL:
        return LiteralToken(pos, "null", None)
    ok_bool, boolean = _parse_bool(value)
    if ok_bool:
        return LiteralToken(pos, "boolean", boolean)
    try:
        ok_num, number = _number(value)
    except ValueError:
        raise _invalid(value, TAG + "int", pos) from None
    if ok_num:
        return LiteralToken(pos, "number", number)
    return LiteralToken(pos, "string", value)


def _is_value(stack: list[Token], pending_key: list[Token | None]) -> bool:
    return bool(stack) and isinstance(stack[-1], MappingToken) and pending_key[-1] is not None


MAX_YAML_NODES = 50_000  # YAML events read, aliases replayed: stops "billion laughs" files


def _measure(token: Token) -> tuple[int, int]:
    """(YAML events, collection depth) of a subtree: a scalar is one event, a collection two."""
    children: list[Token] = []
    if isinstance(token, SequenceToken):
        children = token.items
    elif isinstance(token, MappingToken):
        children = [t for pair in token.pairs for t in pair]
    is_collection = isinstance(token, (SequenceToken, MappingToken))
    nodes, depth = (2 if is_collection else 1), 0
    for child in children:
        n, d = _measure(child)
        nodes += n
        depth = max(depth, d)
    return nodes, depth + (1 if is_collection else 0)


def read_yaml(
    file: str, text: str, max_depth: int = 50, allow_anchors: bool = True
) -> Token | None:
    """Read the first document of `text`; None for an empty file. Raises YamlFatal.

    With `allow_anchors` (github.com since 2025) an alias stands for a copy of its anchored
    node; without it (GitHub's older C# parser) any anchor is an error.
    """
    parser = YAML(typ="safe", pure=True)
    anchors: dict[str, Token] = {}
    events = 0

    def pos_of(event: Event) -> Pos:
        return Pos(file, event.start_mark.line + 1, event.start_mark.column + 1)

    stack: list[Token] = []
    pending_key: list[Token | None] = []
    root: Token | None = None
    last_end = None  # end of the previous scalar (a key, when an empty value follows)

    def attach(token: Token) -> None:
        nonlocal root
        if not stack:
            root = token
            return
        parent = stack[-1]
        if isinstance(parent, SequenceToken):
            parent.items.append(token)
        elif isinstance(parent, MappingToken):
            if pending_key[-1] is None:
                pending_key[-1] = token
            else:
                parent.pairs.append((pending_key[-1], token))
                pending_key[-1] = None

    try:
        for event in parser.parse(io.StringIO(text)):
            if isinstance(event, (StreamStartEvent, StreamEndEvent, DocumentEndEvent)):
                continue
            if isinstance(event, DocumentStartEvent):
                if root is not None:
                    break  # only the first document is the workflow
                continue
            events += 1
            if events > MAX_YAML_NODES:
                raise YamlFatal("Maximum YAML nodes exceeded")
            anchor = getattr(event, "anchor", None)
            if anchor and not allow_anchors:
                raise YamlFatal(
                    f"Anchors are not currently supported. Remove the anchor '{anchor}'"
                )
            if isinstance(event, AliasEvent):
                target = anchors.get(str(anchor))
                if target is None or any(t is target for t in stack):
                    raise YamlFatal(f"Unknown anchor '{anchor}'")
                nodes, depth = _measure(target)
                events += nodes - 1
                if events > MAX_YAML_NODES:
                    raise YamlFatal("Maximum YAML nodes exceeded")
                if len(stack) + depth > max_depth:
                    raise YamlFatal("Maximum object depth exceeded")
                attach(copy.deepcopy(target))
                continue
            if isinstance(event, ScalarEvent):
                style = event.style or None
                pos = pos_of(event)
                if (
                    style is None
                    and not event.value
                    and last_end is not None
                    and _is_value(stack, pending_key)
                ):
                    # An empty value sits right after its key's colon, not at the next token.
                    pos = Pos(file, last_end.line + 1, last_end.column + 2)
                scalar = scalar_token(event.value, event.tag, style, pos)
                attach(scalar)
                if anchor:
                    anchors[str(anchor)] = scalar
                last_end = event.end_mark
            elif isinstance(event, (SequenceStartEvent, MappingStartEvent)):
                if len(stack) >= max_depth:
                    raise YamlFatal("Maximum object depth exceeded")
                token: Token = (
                    SequenceToken(pos_of(event))
                    if isinstance(event, SequenceStartEvent)
                    else MappingToken(pos_of(event))
                )
                attach(token)
                if anchor:
                    anchors[str(anchor)] = token
                stack.append(token)
                pending_key.append(None)
            elif isinstance(event, (SequenceEndEvent, MappingEndEvent)):
                stack.pop()
                pending_key.pop()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "Invalid YAML").strip()
        pos = Pos(file, mark.line + 1, mark.column + 1) if mark else None
        raise YamlFatal(problem[:1].upper() + problem[1:], pos) from None
    except YAMLError as exc:
        raise YamlFatal(str(exc)) from None
    return root
