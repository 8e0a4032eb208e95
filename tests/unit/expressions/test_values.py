"""Coercions: G15 number formatting, string->number parsing, truthiness, key folding."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from github_runner.engine.expressions import (
    CaseInsensitiveDict,
    format_number,
    to_json,
    to_number,
    to_string,
    truthy,
)
from github_runner.engine.expressions.values import compare, loose_equal, parse_number

G15 = [
    (0.0, "0"),
    (-0.0, "0"),
    (1.0, "1"),
    (-1.5, "-1.5"),
    (0.1 + 0.2, "0.3"),
    (1 / 3, "0.333333333333333"),
    (2 / 3, "0.666666666666667"),
    (123456789012345.0, "123456789012345"),
    (1e15, "1E+15"),
    (1234567890123456.0, "1.23456789012346E+15"),
    (2.0**53, "9.00719925474099E+15"),
    (1e100, "1E+100"),
    (0.0001, "0.0001"),
    (0.00001, "1E-05"),
    (1.5e-7, "1.5E-07"),
    (5e-324, "4.94065645841247E-324"),
    (1.7976931348623157e308, "1.79769313486232E+308"),
    (math.inf, "Infinity"),
    (-math.inf, "-Infinity"),
    (math.nan, "NaN"),
    (12, "12"),
]


@pytest.mark.parametrize(("value", "text"), G15)
def test_g15(value: float, text: str) -> None:
    assert format_number(value) == text
    assert to_string(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_g15_keeps_fifteen_significant_digits(x: float) -> None:
    text = format_number(x)
    back, exact = Decimal(text), Decimal(x)
    assert abs(back - exact) <= abs(exact) * Decimal("5e-15")
    mantissa = text.split("E")[0].lstrip("-").replace(".", "").lstrip("0")
    assert len(mantissa) <= 15
    assert "e" not in text


NUMBERS = [
    ("", 0.0), ("  ", 0.0), (" 12 ", 12.0), ("+1", 1.0), ("-1", -1.0), ("1.", 1.0), (".5", 0.5),
    ("1e3", 1000.0), ("1E+3", 1000.0), ("1e-3", 0.001), ("0x1F", 31.0), ("0xFFFFFFFF", -1.0),
    ("0x7FFFFFFF", 2147483647.0), ("0o17", 15.0), ("Infinity", math.inf), ("-Infinity", -math.inf),
    ("infinity", math.inf), ("1e400", math.inf),
    ("0x", math.nan), ("0X1", math.nan), ("1e", math.nan), ("1,000", math.nan), ("--1", math.nan),
    ("1 2", math.nan), ("abc", math.nan), ("0x1FFFFFFFF", math.nan), ("-0x1", math.nan),
]


@pytest.mark.parametrize(("text", "value"), NUMBERS)
def test_parse_number(text: str, value: float) -> None:
    got = parse_number(text)
    if math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == value


@pytest.mark.parametrize(
    ("value", "number"),
    [(None, 0.0), (True, 1.0), (False, 0.0), ([], math.nan), ({}, math.nan), ("3", 3.0), (7, 7.0)],
)
def test_to_number(value: object, number: float) -> None:
    got = to_number(value)
    assert (math.isnan(got) and math.isnan(number)) or got == number


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), (False, False), (0.0, False), (-0.0, False), (math.nan, False), ("", False),
     (True, True), (0.5, True), ("0", True), ("false", True), ([], True), ({}, True)],
)
def test_truthy(value: object, expected: bool) -> None:
    assert truthy(value) is expected


def test_string_coercion_of_collections() -> None:
    assert to_string([1]) == "Array"
    assert to_string({"a": 1}) == "Object"
    assert to_string(None) == ""
    assert to_string(True) == "true"


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [("abc", "ABC", True), ("1", 1.0, True), (True, "1", True), (None, False, True), (None, "", True),
     ("ı", "I", False), ("ß", "SS", False), ("é", "É", True), ([], [], False), (math.nan, math.nan, False)],
)
def test_loose_equal(left: object, right: object, equal: bool) -> None:
    assert loose_equal(left, right) is equal
    assert loose_equal(right, left) is equal


scalars = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=8),
    st.sampled_from(["0x10", " 1 ", "Infinity", "abc", "ABC", "", "1e2"]),
)


@given(scalars, scalars)
def test_comparison_is_consistent(a: object, b: object) -> None:
    c1, c2 = compare(a, b), compare(b, a)
    if c1 is None:
        assert c2 is None
    else:
        assert c2 == -c1
        assert (c1 == 0) == loose_equal(a, b)


def test_case_insensitive_dict() -> None:
    d = CaseInsensitiveDict({"Key": 1})
    d["KEY"] = 2
    assert d["key"] == 2 and list(d) == ["Key"] and len(d) == 1
    assert "kEy" in d and d.get("missing") is None
    del d["key"]
    assert not d


def test_to_json_numbers_and_strings() -> None:
    assert to_json(1.0) == "1"
    assert to_json(-0.0) == "0"
    assert to_json(0.1) == "0.1"
    assert to_json(1e14) == "100000000000000"
    assert to_json(1e18) == "1E+18"  # numbers are written with G15, like everywhere else
    assert to_json(1 / 3) == "0.333333333333333"
    assert to_json(1e300) == "1E+300"
    assert to_json(1e-7) == "1E-07"
    assert to_json("a\u0001\n\"é") == '"a\\u0001\\n\\"é"'
    assert to_json({"a": [1, {}], "b": []}) == '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": []\n}'


def test_case_insensitive_dict_is_a_real_dict() -> None:
    import copy
    import json
    import pickle

    d = CaseInsensitiveDict({"Path": "/bin"})
    d |= {"PATH": "/usr/bin", "Home": "/root"}
    assert isinstance(d, dict) and json.dumps(d) == '{"Path": "/usr/bin", "Home": "/root"}'
    assert dict(d) == {"Path": "/usr/bin", "Home": "/root"}
    assert d.setdefault("home", "x") == "/root" and d.pop("HOME") == "/root" and "home" not in d
    for clone in (d.copy(), pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert isinstance(clone, CaseInsensitiveDict) and clone["path"] == "/usr/bin"
    d.clear()
    assert not d and "path" not in d


def test_whitespace_is_dotnet_whitespace() -> None:
    from github_runner.engine.expressions import ExpressionError, parse

    assert parse_number("\u00a0 7\u2028") == 7.0
    assert math.isnan(parse_number("\x1c7"))  # not whitespace in .NET
    assert evaluate_text("\u3000 1 ==\u00851") is True
    with pytest.raises(ExpressionError, match="Unexpected symbol"):
        parse("1 ==\x1f1")


def evaluate_text(expr: str) -> object:
    from github_runner.engine.expressions import EvalContext, evaluate

    return evaluate(expr, EvalContext({}))
