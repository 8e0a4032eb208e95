"""Matrix expansion and the needs graph: pure logic, checked against GitHub's documented rules."""

from __future__ import annotations

import pytest

from github_runner.engine import graph, matrix


def test_cross_product_order_last_key_fastest() -> None:
    combos = matrix.expand({"os": ["a", "b"], "node": [1, 2]})
    assert combos == [
        {"os": "a", "node": 1},
        {"os": "a", "node": 2},
        {"os": "b", "node": 1},
        {"os": "b", "node": 2},
    ]


def test_exclude_partial_match_and_include_rules() -> None:
    # GitHub docs example: include adds to matching combos, never overwrites originals.
    m = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert matrix.expand(m) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]
    ex = matrix.expand({"os": ["m", "w"], "v": [1, 2], "exclude": [{"os": "w"}]})
    assert ex == [{"os": "m", "v": 1}, {"os": "m", "v": 2}]


def test_include_only_and_empty() -> None:
    assert matrix.expand({"include": [{"def": "val"}]}) == [{"def": "val"}]
    assert matrix.expand(None) == []
    assert matrix.expand({"x": [0], "z": [0], "include": [{"def": "val", "z": 0}]}) == [
        {"x": 0, "z": 0, "def": "val"}
    ]


@pytest.mark.parametrize(
    "bad, text",
    [
        ({"test": [0, 1], "exclude": [{"test2": False}]}, "test2"),
        ({"a": []}, "matrix.a"),
        ({"a": "x"}, "matrix.a"),
        ({"include": "x"}, "include"),
    ],
)
def test_bad_matrix(bad: dict, text: str) -> None:
    with pytest.raises(matrix.MatrixError, match=text):
        matrix.expand(bad)


def test_filter_and_names() -> None:
    combos = matrix.expand({"os": ["u", "m"], "node": [4, 8]})
    f = matrix.parse_filter(["node:8", "node:8.x", "os:u"])
    assert matrix.apply_filter(combos, f) == [{"os": "u", "node": 8}]
    assert matrix.apply_filter([{"x": 1}], {"node": ["8"]}) == [{"x": 1}]
    assert matrix.job_suffix({"a": 1, "b": True, "c": 1.5, "d": {"k": 1}}) == '(1, true, 1.5, {"k":1})'
    with pytest.raises(matrix.MatrixError, match="--matrix"):
        matrix.parse_filter(["nocolon"])


def test_strategy_defaults() -> None:
    assert matrix.strategy_from(None) == (True, None)
    assert matrix.strategy_from({"fail-fast": False, "max-parallel": 2}) == (False, 2)
    with pytest.raises(matrix.MatrixError):
        matrix.strategy_from({"max-parallel": 0})


def test_graph_order_cycle_unknown_select() -> None:
    needs = {"a": [], "b": ["a"], "c": ["a", "b"], "d": []}
    assert graph.validate(needs) == ["a", "b", "c", "d"]
    with pytest.raises(graph.GraphError, match="a -> b -> a"):
        graph.validate({"a": ["b"], "b": ["a"]})
    with pytest.raises(graph.GraphError, match="unknown job 'z'"):
        graph.validate({"a": ["z"]})
    assert graph.select(needs, ["c"]) == ["a", "b", "c"]
    assert graph.dependents(needs, "a") == ["b", "c"]
    with pytest.raises(graph.GraphError, match="no job 'q'"):
        graph.select(needs, ["q"])


def test_go_duration_texts() -> None:
    from github_runner.engine.job import go_duration

    assert [go_duration(x) for x in (1.2, 60, 2700, 21600, 90.5)] == ["1.2s", "1m0s", "45m0s", "6h0m0s", "1m30.5s"]
