"""`${{ }}` in strings, the `format()` rewrite, and the `if:` rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from github_runner.engine.expressions import (
    EvalContext,
    ExpressionError,
    condition_node,
    evaluate,
    evaluate_condition,
    has_expression,
    interpolate,
    interpolate_string,
    split_template,
    to_format_expression,
)

CTX = EvalContext({"obj": {"a": [1, 2]}, "n": 3.0, "s": "x"})


def test_single_expression_keeps_type() -> None:
    assert interpolate("${{ obj }}", CTX) == {"a": [1, 2]}
    assert interpolate("${{ n }}", CTX) == 3.0
    assert interpolate("${{ obj.none }}", CTX) is None


def test_mixed_text_is_a_string() -> None:
    assert interpolate(" ${{ n }}", CTX) == " 3"
    assert interpolate("${{ obj }}-${{ obj.a }}-${{ obj.x }}", CTX) == "Object-Array-"
    assert interpolate_string("${{ obj.none }}", CTX) == ""


def test_closing_braces_inside_string_literals() -> None:
    assert interpolate("${{ '}}' }}", CTX) == "}}"
    assert interpolate("a${{ 'it''s }}' }}b", CTX) == "ait's }}b"
    assert [s.text for s in split_template("x${{ 1 }}y${{2}}")] == ["x", "1", "y", "2"]


def test_template_errors() -> None:
    with pytest.raises(ExpressionError, match="not closed"):
        interpolate("a ${{ 1 ", CTX)
    with pytest.raises(ExpressionError, match="An expression was expected"):
        interpolate("a ${{ }}", CTX)
    with pytest.raises(ExpressionError, match="Unrecognized named-value: 'nope'"):
        interpolate("${{ nope }}", CTX, named_values=["obj"])


def test_collections_and_plain_values() -> None:
    assert interpolate({"k${{ n }}": ["${{ s }}", 1]}, CTX) == {"k3": ["x", 1]}
    plain = "no expression"
    assert interpolate(plain, CTX) is plain
    assert interpolate(5, CTX) == 5
    assert has_expression("a ${{ b }}") and not has_expression("a { b }")


def test_format_rewrite() -> None:
    assert to_format_expression("a ${{ s }} {b}'") == "format('a {0} {{b}}''', s)"
    assert to_format_expression("${{ s }}") == "${{ s }}"
    assert to_format_expression("${{ s }}", force_format=True) == "format('{0}', s)"
    assert to_format_expression("plain") == "plain"


literal = st.text(alphabet=st.sampled_from(list("ab {}'$")), max_size=6).filter(lambda t: "${{" not in t)
expression = st.sampled_from(["s", "n", "obj", "obj.a", "'q''}}'", "1 == 1", "null", "format('{{{0}}}', s)"])


@given(st.lists(st.tuples(literal, expression), min_size=1, max_size=4), literal)
def test_rewrite_evaluates_like_interpolation(pieces: list[tuple[str, str]], tail: str) -> None:
    template = "".join(f"{text}${{{{ {expr} }}}}" for text, expr in pieces) + tail
    expected = interpolate_string(template, CTX)
    rewritten = to_format_expression(template, force_format=True)
    assert evaluate(rewritten, CTX) == expected


@pytest.mark.parametrize(
    ("condition", "job_status", "expected"),
    [
        (None, "success", True),
        ("", "failure", False),
        ("true", "failure", False),  # wrapped: success() && (true)
        ("${{ true }}", "failure", False),
        ("always()", "failure", True),
        ("${{ always() }}", "cancelled", True),
        ("failure()", "failure", True),
        ("failure() || true", "success", True),
        ("!cancelled()", "failure", True),
        ("s == 'x'", "success", True),
        ("s == 'X'", "success", True),
        ("${{ s }} == 'y'", "success", True),  # a format() string: non-empty, truthy
        (False, "success", False),
        (True, "success", True),
    ],
)
def test_condition(condition: object, job_status: str, expected: bool) -> None:
    ctx = EvalContext({"s": "x"}, job_status=job_status)
    assert evaluate_condition(condition, ctx) is expected


def test_condition_default_and_restrictions() -> None:
    ctx = EvalContext({}, job_status="failure")
    assert evaluate_condition("", ctx, default="always()") is True
    with pytest.raises(ExpressionError, match="Unrecognized named-value: 'secrets'"):
        condition_node("secrets.x", named_values=["github"])
