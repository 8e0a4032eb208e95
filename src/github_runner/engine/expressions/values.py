"""Value model and coercions, with the C# runner's rules (not JavaScript's, not act's).

Values are plain Python objects: None, bool, float (int accepted from contexts), str, a
sequence (Array) or a mapping (Object). Property names compare like .NET's
`StringComparison.OrdinalIgnoreCase`, numbers print like .NET's `G15` format.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any


class Kind(IntEnum):
    NULL = 0
    BOOLEAN = 1
    NUMBER = 2
    STRING = 3
    ARRAY = 4
    OBJECT = 5


KIND_NAMES = {
    Kind.NULL: "Null",
    Kind.BOOLEAN: "Boolean",
    Kind.NUMBER: "Number",
    Kind.STRING: "String",
    Kind.ARRAY: "Array",
    Kind.OBJECT: "Object",
}

_EXACT_KINDS: dict[type, Kind] = {
    type(None): Kind.NULL,
    bool: Kind.BOOLEAN,
    float: Kind.NUMBER,
    int: Kind.NUMBER,
    str: Kind.STRING,
    list: Kind.ARRAY,
    tuple: Kind.ARRAY,
    dict: Kind.OBJECT,
}


class FilteredArray(list):  # type: ignore[type-arg]
    """The result of a `*` filter: an array that a following index applies to element-wise."""


def kind_of(value: Any) -> Kind:
    """The expression-language kind of a Python value (unknown scalars count as strings)."""
    k = _EXACT_KINDS.get(type(value))
    if k is not None:
        return k
    if isinstance(value, bool):
        return Kind.BOOLEAN
    if isinstance(value, (int, float)):
        return Kind.NUMBER
    if isinstance(value, str):
        return Kind.STRING
    if isinstance(value, Mapping):
        return Kind.OBJECT
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return Kind.ARRAY
    return Kind.STRING


def kind_name(value: Any) -> str:
    return KIND_NAMES[kind_of(value)]


def is_primitive(value: Any) -> bool:
    return kind_of(value) <= Kind.STRING


# --- case-insensitive keys -------------------------------------------------------------------


def fold(key: str) -> str:
    """Key used for OrdinalIgnoreCase comparison: per-UTF-16-unit upper-casing, never longer.

    Python's `str.upper()` may expand characters ('ß' -> 'SS'); .NET's ordinal ignore-case maps
    one code unit to one code unit, so expanding mappings are left as they are.
    """
    if key.isascii():
        return key.upper()
    out = []
    for ch in key:
        up = ch.upper()
        # .NET never folds a non-ASCII letter onto ASCII (dotless i, long s) nor expands one.
        out.append(up if len(up) == 1 and (ch.isascii() or not up.isascii()) else ch)
    return "".join(out)


class CaseInsensitiveDict(dict):  # type: ignore[type-arg]
    """A dict whose keys compare like GitHub's contexts: ordinal, ignoring case.

    A real `dict` subclass (so `json.dumps`, `isinstance(x, dict)` and `dict(x)` keep working);
    it stores the first spelling of each key and keeps an index of folded keys beside it.
    """

    __slots__ = ("_keys",)

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, **kw: Any) -> None:
        super().__init__()
        self._keys: dict[str, str] = {}
        if data is not None:
            self.update(data)
        if kw:
            self.update(kw)

    def _original(self, key: Any) -> Any:
        if isinstance(key, str):
            original = self._keys.get(fold(key))
            if original is not None:
                return original
        raise KeyError(key)

    def __getitem__(self, key: Any) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            return dict.__getitem__(self, self._original(key))

    def __setitem__(self, key: str, value: Any) -> None:
        folded = fold(key)
        original = self._keys.get(folded)
        if original is None:
            self._keys[folded] = key
            original = key
        dict.__setitem__(self, original, value)

    def __delitem__(self, key: Any) -> None:
        original = self._original(key)
        del self._keys[fold(original)]
        dict.__delitem__(self, original)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and fold(key) in self._keys

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def update(self, *args: Any, **kw: Any) -> None:
        for data in (*args, kw):
            items = data.items() if isinstance(data, Mapping) else data
            for k, v in items:
                self[k] = v

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: Any, *default: Any) -> Any:
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        key, value = dict.popitem(self)
        del self._keys[fold(key)]
        return key, value

    def clear(self) -> None:
        dict.clear(self)
        self._keys.clear()

    def copy(self) -> CaseInsensitiveDict:
        return CaseInsensitiveDict(self)

    def __or__(self, other: Any) -> CaseInsensitiveDict:
        new = self.copy()
        new.update(other)
        return new

    def __ior__(self, other: Any) -> CaseInsensitiveDict:
        self.update(other)
        return self

    def __reduce__(self) -> Any:
        return (CaseInsensitiveDict, (list(self.items()),))

    def __repr__(self) -> str:
        return f"CaseInsensitiveDict({dict.__repr__(self)})"


def lookup(obj: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """Case-insensitive property lookup on any mapping; `(found, value)`."""
    if isinstance(obj, CaseInsensitiveDict):
        original = obj._keys.get(fold(key))
        return (False, None) if original is None else (True, dict.__getitem__(obj, original))
    try:
        return True, obj[key]
    except (KeyError, TypeError):
        pass
    folded = fold(key)
    for k in obj:
        if isinstance(k, str) and fold(k) == folded:
            return True, obj[k]
    return False, None


def to_case_insensitive(value: Any) -> Any:
    """Deep-copy plain JSON-like data so every object is a CaseInsensitiveDict."""
    if isinstance(value, Mapping):
        return CaseInsensitiveDict((str(k), to_case_insensitive(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [to_case_insensitive(v) for v in value]
    return value


# --- whitespace ------------------------------------------------------------------------------

_ASCII_SPACE = frozenset("\t\n\v\f\r ")


def is_space(ch: str) -> bool:
    """.NET `char.IsWhiteSpace` (Python's `isspace` also counts U+001C..U+001F)."""
    if ch < "\x80":
        return ch in _ASCII_SPACE
    return ch in ("\x85", "\xa0") or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def dotnet_trim(text: str) -> str:
    """.NET `string.Trim()`."""
    start, end = 0, len(text)
    while start < end and is_space(text[start]):
        start += 1
    while end > start and is_space(text[end - 1]):
        end -= 1
    return text[start:end]


# --- numbers ---------------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_DEC_CHARS = frozenset("0123456789+-.eE")


def _dotnet_double(text: str) -> float | None:
    """`double.TryParse` with AllowLeadingSign|AllowDecimalPoint|AllowExponent, invariant."""
    if not text:
        return None
    if not set(text) <= _DEC_CHARS:
        # .NET Core 3+ also takes the culture's infinity/NaN symbols, ignoring case.
        special = text.upper()
        if special in ("INFINITY", "+INFINITY"):
            return math.inf
        if special == "-INFINITY":
            return -math.inf
        if special in ("NAN", "+NAN", "-NAN"):
            return math.nan
        return None
    body = text[1:] if text[0] in "+-" else text
    if not body or body[0] in "+-":
        return None
    mant, _, exp = body.partition("e") if "e" in body else body.partition("E")
    if "e" in mant or "E" in mant:
        return None
    if not mant or mant == "." or mant.count(".") > 1 or "+" in mant or "-" in mant:
        return None
    if "e" in body or "E" in body:
        sign_exp = exp[1:] if exp[:1] in ("+", "-") else exp
        if not sign_exp.isdigit():
            return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_number(text: str) -> float:
    """String -> number as the runner does: trimmed, '' is 0, 0x/0o prefixes, else NaN."""
    s = dotnet_trim(text)
    if not s:
        return 0.0
    d = _dotnet_double(s)
    if d is not None:
        return d
    if len(s) > 2 and s[0] == "0" and s[1] == "x" and set(s[2:]) <= _HEX:
        digits = s[2:].lstrip("0") or "0"
        if len(digits) <= 8:
            v = int(digits, 16)
            return float(v - (1 << 32) if v >= 1 << 31 else v)
        return math.nan
    if len(s) > 2 and s[0] == "0" and s[1] == "o" and set(s[2:]) <= _OCT:
        v = int(s[2:], 8)
        if v < 1 << 32:
            return float(v - (1 << 32) if v >= 1 << 31 else v)
        return math.nan
    if s == "Infinity":
        return math.inf
    if s == "-Infinity":
        return -math.inf
    if s == "NaN":
        return math.nan
    return math.nan


def to_number(value: Any) -> float:
    """GitHub's number coercion: null 0, booleans 1/0, strings parsed, arrays/objects NaN."""
    if value is None:
        return 0.0
    t = type(value)
    if t is float:
        return value  # type: ignore[no-any-return]
    if t is bool:
        return 1.0 if value else 0.0
    if t is int:
        return float(value)
    if t is str:
        return parse_number(value)
    k = kind_of(value)
    if k is Kind.NUMBER:
        return float(value)
    if k is Kind.BOOLEAN:
        return 1.0 if value else 0.0
    if k is Kind.STRING:
        return parse_number(str(value))
    return math.nan


def format_number(value: float) -> str:
    """.NET `G15` with the invariant culture (and -0 printed as 0, as GitHub does)."""
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    if value == 0:
        return "0"
    if type(value) is int and abs(value) < 10**15:
        return str(value)
    text = format(float(value), ".15g")
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}E{exp}"
    return text


# --- strings and truth -----------------------------------------------------------------------


def to_string(value: Any) -> str:
    """GitHub's string coercion: null '', 'true'/'false', G15 numbers, 'Array'/'Object'."""
    if value is None:
        return ""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if t is bool:
        return "true" if value else "false"
    if t is float or t is int:
        return format_number(value)
    k = kind_of(value)
    if k is Kind.BOOLEAN:
        return "true" if value else "false"
    if k is Kind.NUMBER:
        return format_number(float(value))
    if k is Kind.ARRAY:
        return "Array"
    if k is Kind.OBJECT:
        return "Object"
    return str(value)


def truthy(value: Any) -> bool:
    """GitHub truthiness: null, false, 0, NaN and '' are false; arrays and objects are true."""
    if value is None:
        return False
    t = type(value)
    if t is bool:
        return value  # type: ignore[no-any-return]
    if t is str:
        return bool(value != "")
    if t is float or t is int:
        return bool(value == value and value != 0)
    k = kind_of(value)
    if k is Kind.NUMBER:
        return bool(value == value and value != 0)
    if k is Kind.STRING:
        return str(value) != ""
    return True


# --- comparisons -----------------------------------------------------------------------------


def _coerce(left: Any, lk: Kind, right: Any, rk: Kind) -> tuple[Any, Kind, Any, Kind]:
    """C# `CoerceTypes`: number<->string, and null/boolean -> number, until kinds meet."""
    while lk != rk:
        if lk is Kind.NUMBER and rk is Kind.STRING:
            right, rk = to_number(right), Kind.NUMBER
        elif lk is Kind.STRING and rk is Kind.NUMBER or lk is Kind.BOOLEAN or lk is Kind.NULL:
            left, lk = to_number(left), Kind.NUMBER
        elif rk is Kind.BOOLEAN or rk is Kind.NULL:
            right, rk = to_number(right), Kind.NUMBER
        else:
            break
    return left, lk, right, rk


def _compare_strings(a: str, b: str) -> int:
    """Ordinal ignore-case order: upper-cased UTF-16 code units."""
    if a.isascii() and b.isascii():
        ka, kb = a.upper(), b.upper()
        return (ka > kb) - (ka < kb)
    ea, eb = fold(a).encode("utf-16-be"), fold(b).encode("utf-16-be")
    return (ea > eb) - (ea < eb)


def loose_equal(left: Any, right: Any) -> bool:
    """`==`: coerce as the runner does, strings ignoring case, collections by identity."""
    tl, tr = type(left), type(right)
    if tl is str and tr is str:  # the common case: no coercion needed
        return bool(left == right or fold(left) == fold(right))
    lk, rk = kind_of(left), kind_of(right)
    left, lk, right, rk = _coerce(left, lk, right, rk)
    if lk != rk:
        return False
    if lk is Kind.NULL:
        return True
    if lk is Kind.NUMBER:
        return float(left) == float(right)
    if lk is Kind.STRING:
        if left == right:
            return True
        return fold(str(left)) == fold(str(right))
    if lk is Kind.BOOLEAN:
        return bool(left) == bool(right)
    return left is right


def compare(left: Any, right: Any) -> int | None:
    """-1/0/1 after coercion, or None when the two are not ordered (NaN, arrays, objects)."""
    lk, rk = kind_of(left), kind_of(right)
    left, lk, right, rk = _coerce(left, lk, right, rk)
    if lk != rk:
        return None
    if lk is Kind.NUMBER:
        a, b = float(left), float(right)
        if a != a or b != b:
            return None
        return (a > b) - (a < b)
    if lk is Kind.STRING:
        return _compare_strings(str(left), str(right))
    if lk is Kind.BOOLEAN:
        return int(bool(left)) - int(bool(right))
    if lk is Kind.NULL:
        return 0
    return None
