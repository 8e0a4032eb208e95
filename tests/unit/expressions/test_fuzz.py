"""Any text either parses or fails with ExpressionError; any tree evaluates or fails likewise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from github_runner.engine.expressions import (
    EvalContext,
    ExpressionError,
    evaluate,
    interpolate,
    parse,
)

ALPHABET = list("()[],.!=<>&|*'{}0123456789 abxeEoINfN-+_") + ["true", "null", "ctx", "format(", "fromJSON(",
                                                             "toJSON(", "join(", "case(", "contains(", "'{0}'"]
CTX = EvalContext({"ctx": {"a": [1, {"b": "x"}], "e": "", "n": 2.5}})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=25).map("".join))
def test_no_crash_on_arbitrary_expressions(text: str) -> None:
    try:
        node = parse(text, named_values=["ctx"])
    except ExpressionError as err:
        assert err.kind in ("lexing", "parsing")
        return
    try:
        evaluate(node, CTX)
    except ExpressionError as err:
        assert err.kind == "evaluation"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("${} 'ab")), max_size=20))
def test_no_crash_on_arbitrary_templates(text: str) -> None:
    try:
        result = interpolate(text, CTX)
    except ExpressionError:
        return
    if "${{" not in text:
        assert result == text
