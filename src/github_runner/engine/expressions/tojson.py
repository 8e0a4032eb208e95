"""`toJSON` output byte-for-byte like the runner: two-space indentation, strings escaped as
Newtonsoft does, numbers in G15 (`1E+20`, `0.333333333333333`)."""

from __future__ import annotations

from typing import Any

from .values import Kind, format_number, kind_of

_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
    "\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029",
}


def json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def to_json(value: Any, indent: int = 0) -> str:
    k = kind_of(value)
    if k is Kind.NULL:
        return "null"
    if k is Kind.BOOLEAN:
        return "true" if value else "false"
    if k is Kind.NUMBER:
        return format_number(value)  # the runner writes numbers with G15, not round-trip
    if k is Kind.STRING:
        return json_string(str(value))
    pad = "  " * (indent + 1)
    end = "  " * indent
    if k is Kind.ARRAY:
        if not value:
            return "[]"
        items = [pad + to_json(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    if not value:
        return "{}"
    members = [f"{pad}{json_string(str(key))}: {to_json(v, indent + 1)}" for key, v in value.items()]
    return "{\n" + ",\n".join(members) + "\n" + end + "}"
