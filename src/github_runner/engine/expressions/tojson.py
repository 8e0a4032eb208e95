"""`toJSON` output byte-for-byte like the runner (Newtonsoft, indented by two spaces)."""

from __future__ import annotations

import math
from typing import Any

from .values import Kind, kind_of

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


def json_number(value: float) -> str:
    """Integral values within Int64 print as integers; others in .NET round-trip form."""
    d = float(value)
    if d != d:
        return "NaN"
    if math.isinf(d):
        return "Infinity" if d > 0 else "-Infinity"
    if d == math.floor(d) and -(2**63) <= d <= 2**63 - 1:
        return str(int(d))
    text = repr(d)
    if "e" in text:
        mant, exp = text.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        text = f"{mant}E{sign}{digits}"
    return text


def to_json(value: Any, indent: int = 0) -> str:
    k = kind_of(value)
    if k is Kind.NULL:
        return "null"
    if k is Kind.BOOLEAN:
        return "true" if value else "false"
    if k is Kind.NUMBER:
        return json_number(value)
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
