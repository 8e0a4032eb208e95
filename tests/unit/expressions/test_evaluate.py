"""Evaluation semantics the vectors cover thinly: indexing, filters, laziness, status."""

from __future__ import annotations

from typing import Any

import pytest

from github_runner.engine.expressions import EvalContext, ExpressionError, evaluate, parse

CTX = {
    "github": {
        "Event": {"labels": [{"name": "bug"}, {"name": "docs", "extra": {"x": 1}}, "plain", None]},
        "matrix_list": [[1, 2], [3]],
    },
    "env": {"MiXeD": "v"},
}


def run(expr: str, **kwargs: Any) -> Any:
    return evaluate(parse(expr, named_values=list(CTX) + ["needs"]), EvalContext(CTX, **kwargs))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("github.event.LABELS[0].NAME", "bug"),
        ("github['event']['labels'][1]['name']", "docs"),
        ("env.mixed", "v"),
        ("env['MIXED']", "v"),
        ("github.event.labels[1.9].name", "docs"),
        ("github.event.labels['1'].name", "docs"),
        ("github.event.labels[true].name", "docs"),
        ("github.event.labels[null].name", "bug"),
        ("github.event.labels[-1]", None),
        ("github.event.labels[99]", None),
        ("github.event.labels.name", None),
        ("github.event.labels.*.name", ["bug", "docs"]),
        ("github.event.labels[*].name", ["bug", "docs"]),
        ("github.event.labels.*.extra.x", [1]),
        ("github.event.labels.*.*", ["bug", "docs", {"x": 1}]),
        ("github.matrix_list.*[0]", [1, 3]),
        ("github.matrix_list.*.*", [1, 2, 3]),
        ("github.event.nothing.*", []),
        ("github.event.labels.*.name[0]", []),
        ("github.sha.x", None),
        ("toJSON(github.event.labels.*.name)", '[\n  "bug",\n  "docs"\n]'),
        ("contains(github.event.labels.*.name, 'DOCS')", True),
        ("contains(github.event.labels.*.name, 'doc')", False),
        ("contains('Hello', 'ELL')", True),
        ("contains(fromJSON('[1, \"2\"]'), 2)", True),
        ("startsWith(1.5, '1.')", True),
        ("endsWith(true, 'UE')", True),
        ("startsWith(github, 'x')", False),
        ("1 && 'x'", "x"),
        ("0 && 'x'", 0.0),
        ("'' || null", None),
        ("'' || 'b' || 'c'", "b"),
        ("!0", True),
        ("null >= null", True),
        ("null > null", False),
        ("'a' < 'B'", True),
        ("true > false", True),
        ("fromJSON('{\"A\": 1}').a", 1.0),
        ("case(false, 'a', true, 'b', 'c')", "b"),
        ("case(false, 'a', false, 'b', 'c')", "c"),
        ("case(true, 'a', fromJSON('bad'), 'b', 'c')", "a"),
        ("format('{0}', 'x', fromJSON('bad'))", "x"),
        ("format('{1}{0}{1}', 'a', 'b')", "bab"),
        ("join(github.event.labels.*.name, 0)", "bug0docs"),
    ],
)
def test_value(expr: str, expected: Any) -> None:
    got = run(expr)
    assert got == expected
    if not isinstance(expected, list):
        assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("fromJSON('{')", "Error parsing fromJson"),
        ("fromJSON('')", "Error parsing fromJson"),
        ("format('{0:x}', 1)", "format specifiers"),
        ("format('{256}', 1)", "The following format string is invalid"),
        ("case(1, 'a', 'b')", "case predicate must evaluate to a boolean value"),
    ],
)
def test_evaluation_errors(expr: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        run(expr)
    assert info.value.kind == "evaluation"
    assert message in str(info.value)


def test_objects_compare_by_identity() -> None:
    assert run("github == github") is True
    assert run("github.event != github.event") is False
    assert run("fromJSON('{}') == fromJSON('{}')") is False


def test_status_functions_job_level() -> None:
    assert run("success()", job_status=None) is True
    assert run("success()", job_status="failure") is False
    assert run("failure()", job_status="failure") is True
    assert run("cancelled()", job_status="cancelled") is True
    assert run("always()", job_status="cancelled") is True


def test_status_functions_composite_use_action_status() -> None:
    assert run("failure()", job_status="success", composite=True, action_status="failure") is True
    assert run("success()", job_status="failure", composite=True, action_status=None) is True
    assert run("cancelled()", job_status="cancelled", composite=True, action_status="success") is True


def test_job_level_status_functions_with_needs_arguments() -> None:
    ctx = EvalContext({"needs": {"build": {"result": "success"}, "test": {"result": "failure"}}})
    node = parse("success('build')", named_values=["needs"], functions=["success(0,MAX)"])
    assert evaluate(node, ctx) is True
    node = parse("failure('build', 'TEST')", named_values=["needs"], functions=["failure(0,MAX)"])
    assert evaluate(node, ctx) is True
    node = parse("success('build', 'test')", named_values=["needs"], functions=["success(0,MAX)"])
    assert evaluate(node, ctx) is False


def test_evaluate_accepts_text() -> None:
    assert evaluate("format('{0}', 1 == 1)", EvalContext({})) == "true"


def test_unrestricted_parse_allows_job_level_status_arguments() -> None:
    ctx = EvalContext({"needs": {"a": {"result": "success"}}})
    assert evaluate("success('a')", ctx) is True
    with pytest.raises(ExpressionError, match="Too many parameters supplied: 'success'"):
        parse("success('a')", functions=["success"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [(' [1, "a\nb"] trailing text', [1.0, "a\nb"]), ("NaN", "nan"), ("\u00a0\v{\"K\": {}}", {"K": {}})],
)
def test_from_json_reads_like_newtonsoft(text: str, expected: Any) -> None:
    from github_runner.engine.expressions import from_json

    got = from_json(text)
    assert str(got) == expected if expected == "nan" else got == expected


def test_from_json_depth_limit() -> None:
    from github_runner.engine.expressions import from_json

    assert from_json("[" * 64 + "]" * 64)
    with pytest.raises(ExpressionError, match="maximum depth of 64"):
        from_json("[" * 65 + "]" * 65)


def test_format_checks_the_whole_string_before_evaluating_arguments() -> None:
    with pytest.raises(ExpressionError, match="format string is invalid"):
        run("format('{0}{1', fromJSON('bad'))")
    with pytest.raises(ExpressionError, match="more arguments than were supplied"):
        run("format('{0}{1}', fromJSON('bad'))")
    with pytest.raises(ExpressionError, match="Error parsing fromJson"):
        run("format('{0}', fromJSON('bad'))")


def test_filter_results_leave_as_plain_arrays() -> None:
    from github_runner.engine.expressions import FilteredArray, interpolate

    ctx = EvalContext({"c": {"items": [{"n": {"x": 1}}, {"n": {"x": 2}}]}})
    names = evaluate("c.items.*.n", ctx)
    assert names == [{"x": 1}, {"x": 2}] and type(names) is list
    assert type(interpolate("${{ c.items.*.n }}", ctx)) is list
    # Stored back in a context, it indexes like any array: `.x` on an array is null.
    again = EvalContext({"m": {"names": names}})
    assert evaluate("m.names.x", again) is None
    assert evaluate("m.names.*.x", again) == [1, 2]
    assert not isinstance(names, FilteredArray)


@pytest.mark.parametrize(
    "expr",
    ["c.a.b.c", "c.A.B", "c.list.b", "c.s.length", "c.n.x", "c.missing.x.y", "c.a.Infinity"],
)
def test_folded_property_paths_match_index_chains(expr: str) -> None:
    from github_runner.engine.expressions.nodes import Index, NamedValue, PropertyName

    ctx = EvalContext({"c": {"a": {"b": {"c": 5}}, "list": [{"b": 1}], "s": "str", "n": None}})
    root, *keys = expr.split(".")
    chain: Any = NamedValue(root)
    for key in keys:
        chain = Index(chain, PropertyName(key))
    assert type(parse(expr, named_values=["c"])).__name__ == "PropertyPath"
    assert evaluate(expr, ctx) == chain.eval(ctx)
