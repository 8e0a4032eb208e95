"""Holds the workflow-command and file-command conformance scores at 100%."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import score_path  # bench/ is on sys.path (tests/conftest.py)

FILES = ["runner-command-parsing.json", "runner-command-processing.json", "runner-file-commands.json"]


@pytest.mark.parametrize("name", FILES)
def test_shared_vectors_all_pass(testdata: Path, name: str) -> None:
    _, results = score_path(testdata / "commands" / name)
    failed = [f"{r.id}: {r.detail}" for r in results if r.status == "failed"]
    assert not failed, "\n".join(failed)
    # Only scenarios that state a rule without any lines to run may be skipped.
    skipped = [r for r in results if r.status == "skipped"]
    assert all(r.detail.startswith("states a rule only") for r in skipped), skipped
    assert len(skipped) < len(results)


def _with_case(testdata: Path, tmp_path: Path, name: str, edit) -> list:  # type: ignore[no-untyped-def]
    base = next(f for f in FILES if name.startswith(f.removesuffix(".json")))
    doc = json.loads((testdata / "commands" / base).read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / name  # same format, another place and other cases
    path.write_text(json.dumps(doc), encoding="utf-8")
    return score_path(path)[1]


def test_parsing_scorer_detects_a_wrong_expectation(testdata: Path, tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["cases"] = [{"id": "x", "line": "::do-something k=a%2Cb::d%0Ae", "expect": {
            "command": "do-something", "properties": {"k": "a,b"}, "data": "d\ne"}},
            {"id": "wrong", "line": "::do-something::x", "expect": None}]

    results = {r.id: r.status for r in _with_case(testdata, tmp_path, "runner-command-parsing-extra.json", edit)}
    assert results == {"x": "passed", "wrong": "failed"}


def test_file_command_scorer_detects_a_wrong_expectation(testdata: Path, tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["cases"] = [
            {"id": "crlf", "content": "A<<X\nb\r\nX\n", "written_with_utf8_bom": True, "expect": {"A": "b\r"}},
            {"id": "wrong", "content": "A=1", "written_with_utf8_bom": False, "expect": {"A": "2"}},
        ]
        doc["env_only_cases"], doc["step_summary_cases"] = [], []

    results = {r.id: r.status for r in _with_case(testdata, tmp_path, "runner-file-commands-x.json", edit)}
    # On Linux only LF ends a line, so the CR stays in the heredoc value.
    assert results == {"crlf": "passed", "wrong": "failed"}


def test_processing_scorer_detects_a_wrong_expectation(testdata: Path, tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["scenarios"] = [
            {"id": "right", "lines": [{"line": "::group::a", "processed": True, "log_line": "##[group]a"},
                                      {"line": "text ::x::", "processed": False}]},
            {"id": "wrong", "lines": [{"line": "::endgroup::", "processed": False}]},
            {"id": "mask", "lines": [{"line": "::add-mask::abcdefgh", "processed": True}],
             "checks": [{"mask": "xabcdefghx", "expect": "x***x"}]},
        ]

    results = {r.id: r.status for r in _with_case(testdata, tmp_path, "runner-command-processing-x.json", edit)}
    assert results == {"right": "passed", "wrong": "failed", "mask": "passed"}
