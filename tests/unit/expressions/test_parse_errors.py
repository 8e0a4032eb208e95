"""Error kinds, messages and 1-based positions, as the C# runner reports them."""

from __future__ import annotations

import pytest

from github_runner.engine.expressions import ExpressionError, parse

CASES = [
    # (expression, kind, message start, position)
    ("a b", "parsing", "Unexpected symbol: 'b'", 3),
    ("a..b", "parsing", "Unexpected symbol: '.'", 3),
    ("a.", "parsing", "Unexpected end of expression: '.'", 2),
    ("a[", "parsing", "Unexpected end of expression: '['", 2),
    ("a[1", "parsing", "Unexpected end of expression: '1'", 3),
    ("(a", "parsing", "Unexpected end of expression: 'a'", 2),
    ("a)", "parsing", "Unexpected symbol: ')'", 2),
    ("a]", "parsing", "Unexpected symbol: ']'", 2),
    ("!", "parsing", "Unexpected end of expression: '!'", 1),
    ("a ==", "parsing", "Unexpected end of expression: '=='", 3),
    ("== a", "parsing", "Unexpected symbol: '=='", 1),
    ("a = b", "lexing", "Unexpected symbol: '='", 3),
    ("a & b", "lexing", "Unexpected symbol: '&'", 3),
    ("a | b", "lexing", "Unexpected symbol: '|'", 3),
    ("'abc", "lexing", "Unexpected symbol: ''abc'", 1),
    ("1 'it''s", "lexing", "Unexpected symbol: ''it''s'", 3),
    ("0x", "lexing", "Unexpected symbol: '0x'", 1),
    ("0o8", "lexing", "Unexpected symbol: '0o8'", 1),
    ("1.2.3", "lexing", "Unexpected symbol: '1.2.3'", 1),
    ("1e", "lexing", "Unexpected symbol: '1e'", 1),
    ("0x100000000", "lexing", "Unexpected symbol: '0x100000000'", 1),
    ("a.*b", "parsing", "Unexpected symbol: 'b'", 4),
    ("*", "parsing", "Unexpected symbol: '*'", 1),
    ("a.[0]", "parsing", "Unexpected symbol: '['", 3),
    ("a,b", "parsing", "Unexpected symbol: ','", 2),
    ("format(,)", "parsing", "Unexpected symbol: ','", 8),
    ("format('a',)", "parsing", "Unexpected symbol: ')'", 12),
    ("format", "parsing", "Unrecognized named-value: 'format'", 1),
    ("format ()", "parsing", "Too few parameters supplied: 'format'", 1),
    ("nope(1)", "parsing", "Unrecognized function: 'nope'", 1),
    ("contains(1)", "parsing", "Too few parameters supplied: 'contains'", 1),
    ("contains(1, 2, 3)", "parsing", "Too many parameters supplied: 'contains'", 1),
    ("case(true, 1)", "parsing", "Too few parameters supplied: 'case'", 1),
    ("always(1)", "parsing", "Too many parameters supplied: 'always'", 1),
    ("1 == nope(foo 2)", "parsing", "Unrecognized function: 'nope'", 6),
    ("TRUE", "parsing", "Unrecognized named-value: 'TRUE'", 1),
    ("é", "lexing", "Unexpected symbol: 'é'", 1),
    ("'😊' == x", "parsing", "Unrecognized named-value: 'x'", 9),  # UTF-16 positions
]


@pytest.mark.parametrize(("expr", "kind", "message", "position"), CASES)
def test_error(expr: str, kind: str, message: str, position: int | None) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(expr, named_values=["a", "b"])
    err = info.value
    assert err.kind == kind, str(err)
    assert err.message.startswith(message), err.message
    if position is not None:
        assert err.position == position
        assert str(err).endswith(f"Located at position {position} within expression: {expr}")


def test_first_error_in_text_order_wins() -> None:
    # The unknown function comes before the syntax error after it, as in the runner.
    with pytest.raises(ExpressionError, match="Unrecognized function: 'nope'"):
        parse("nope(1 2)")
    with pytest.raises(ExpressionError, match="Unexpected symbol: '2'"):
        parse("format(1 2)")


def test_depth_limit_is_fifty() -> None:
    parse("!" * 49 + "true")
    with pytest.raises(ExpressionError, match="Exceeded max expression depth 50") as info:
        parse("!" * 50 + "true")
    assert info.value.kind == "parsing"


def test_grouping_adds_no_depth_and_never_recurses() -> None:
    deep = "(" * 5000 + "1" + ")" * 5000
    assert parse(deep).eval(None) == 1  # type: ignore[arg-type]


def test_depth_error_on_huge_input_is_clean() -> None:
    with pytest.raises(ExpressionError, match="depth"):
        parse("!" * 20000 + "true")


def test_max_length() -> None:
    with pytest.raises(ExpressionError, match="Exceeded max expression length 21000"):
        parse("'" + "a" * 21000 + "'")


def test_named_values_and_functions_are_case_insensitive() -> None:
    parse("GitHub.sha", named_values=["github"])
    parse("TOJSON(github)", named_values=["github"], functions=["toJson"])
    with pytest.raises(ExpressionError, match="Unrecognized function: 'hashFiles'"):
        parse("hashFiles('x')", functions=["format"])


def test_schema_arity_overrides_builtin_arity() -> None:
    parse("success('build')", named_values=["needs"], functions=["success(0,MAX)"])
    parse("hashFiles('a', 'b')", functions=["hashFiles(1,255)"])
    with pytest.raises(ExpressionError, match="Too many parameters"):
        parse("success('build')", functions=["success(0,0)"])


def test_parse_is_cached() -> None:
    assert parse("github.sha == 'x'", named_values=["github"]) is parse(
        "github.sha == 'x'", named_values=("GITHUB",)
    )
