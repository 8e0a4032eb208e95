"""Problem matchers: matcher files validated like the runner, single/multi-line/loop matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from github_runner.engine.commands import CommandProcessor, Issue, JobCommandState, Output
from github_runner.engine.commands.matchers import MatcherError, parse_matchers
from github_runner.secrets.masker import Masker

GCC = {"problemMatcher": [{
    "owner": "gcc",
    "pattern": [{"regexp": r"^(.+):(\d+):(\d+):\s+(warning|error):\s+(.*)$",
                 "file": 1, "line": 2, "column": 3, "severity": 4, "message": 5}],
}]}
STYLISH = {"problemMatcher": [{
    "owner": "stylish",
    "severity": "warning",
    "pattern": [
        {"regexp": r"^([^\s].*)$", "file": 1},
        {"regexp": r"^\s+(\d+):(\d+)\s+(\w+)\s+(.*?)\s{2,}(\S+)$",
         "line": 1, "column": 2, "severity": 3, "message": 4, "code": 5, "loop": True},
    ],
}]}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.c").write_text("int main;\n")
    (tmp_path / "src" / "b.js").write_text("x\n")
    (tmp_path / "gcc.json").write_text(json.dumps(GCC))
    (tmp_path / "stylish.json").write_text(json.dumps(STYLISH))
    return tmp_path


def processor(workspace: Path, job: JobCommandState | None = None) -> CommandProcessor:
    return CommandProcessor(Masker(min_length=1), job=job, workspace=str(workspace), runner_env={})


def test_single_line_matcher_makes_annotations(workspace: Path) -> None:
    p = processor(workspace)
    added = p.process_line("::add-matcher::gcc.json").effects
    assert added[0] == Output("Added matchers: 'gcc'. Problem matchers scan action output for known "
                              "warning or error strings and report these inline.")
    line = f"{workspace}/src/a.c:3:7: warning: unused \x1b[1mvariable\x1b[0m"
    (issue,) = p.process_line(line).effects
    assert issue == Issue("warning", "unused variable", {"line": "3", "col": "7", "file": "src/a.c"},
                          log_message=f"{workspace}/src/a.c:3:7: warning: unused variable")
    assert p.process_line("no match here").effects == (Output("no match here"),)
    # A file outside the workspace, or missing, is dropped from the annotation.
    (outside,) = p.process_line("/etc/passwd:1:1: error: x").effects
    assert isinstance(outside, Issue) and "file" not in outside.properties and outside.level == "error"


def test_multi_line_loop_matcher(workspace: Path) -> None:
    p = processor(workspace)
    p.process_line("::add-matcher::stylish.json")
    out = [p.process_line(line).effects for line in [
        "src/b.js",
        "  1:5  error  Missing semicolon  semi",
        "  2:1  warning  Unexpected var  no-var",
        "",
        "  3:1  error  not part of a file block  rule",
    ]]
    assert out[0] == (Output("src/b.js"),)
    assert out[1][0] == Issue("error", "Missing semicolon", {"line": "1", "col": "5", "code": "semi", "file": "src/b.js"},
                              log_message="  1:5  error  Missing semicolon  semi")
    first_2 = out[2][0]
    assert isinstance(first_2, Issue) and first_2.level == "warning" and first_2.properties["file"] == "src/b.js"
    assert out[3] == (Output(""),) and out[4] == (Output("  3:1  error  not part of a file block  rule"),)


def test_matchers_are_job_wide_and_removable(workspace: Path) -> None:
    job = JobCommandState()
    processor(workspace, job).process_line("::add-matcher::gcc.json")
    later = processor(workspace, job)
    assert isinstance(later.process_line("src/a.c:1:1: error: boom").effects[0], Issue)
    assert later.process_line("::remove-matcher owner=GCC::").processed
    assert later.process_line("src/a.c:1:1: error: boom").effects == (Output("src/a.c:1:1: error: boom"),)
    assert job.matchers == []


@pytest.mark.parametrize(("document", "error"), [
    ({"problemMatcher": [{"pattern": [{"regexp": "x", "message": 0}]}]}, "Owner must not be empty"),
    ({"problemMatcher": [{"owner": "a", "severity": "fatal", "pattern": [{"regexp": "x", "message": 0}]}]},
     "Matcher 'a' contains unexpected default severity 'fatal'"),
    ({"problemMatcher": [{"owner": "a", "pattern": []}]}, "Matcher 'a' does not contain any patterns"),
    ({"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "file": 1}]}]},
     "At least one pattern must set 'message'"),
    ({"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "message": 2}]}]},
     "The property 'message' is set to 2 which is out of range"),
    ({"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "message": 1, "loop": True}]}]},
     "Only the last pattern in a multiline matcher may set 'loop'"),
    ({"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "message": 1},
                                                    {"regexp": "(y)", "message": 1}]}]},
     "The property 'message' is set twice"),
    ({"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "x", "message": 0}]},
                         {"owner": "A", "pattern": [{"regexp": "x", "message": 0}]}]}, "Duplicate owner name 'A'"),
])
def test_invalid_matcher_files(document: dict, error: str) -> None:
    with pytest.raises(MatcherError) as info:
        parse_matchers(document)
    assert str(info.value) == error


def test_invalid_matcher_file_fails_the_step(workspace: Path) -> None:
    (workspace / "bad.json").write_text('{"problemMatcher": [{"owner": ""}]}')
    p = processor(workspace)
    effects = p.process_line("::add-matcher::bad.json").effects
    assert p.failed and Issue("error", "Owner must not be empty") in effects


def test_a_pathological_matcher_times_out_and_is_removed(workspace: Path) -> None:
    slow = {"problemMatcher": [{"owner": "slow", "pattern": [{"regexp": r"^(a|aa)+$", "message": 0}]}]}
    (workspace / "slow.json").write_text(json.dumps(slow))
    p = CommandProcessor(Masker(min_length=1), workspace=str(workspace),
                         runner_env={"GITHUB_ACTIONS_RUNNER_ISSUE_MATCHER_TIMEOUT": "00:00:00.02"})
    p.process_line("::add-matcher::slow.json")
    effects = p.process_line("a" * 40 + "!").effects
    assert [type(e).__name__ for e in effects] == ["Debug", "Debug", "Issue", "Output"]
    assert effects[2] == Issue("warning", effects[2].message)  # type: ignore[union-attr]
    assert effects[2].message.startswith("Removing issue matcher 'slow'. Matcher failed 3 times.")  # type: ignore[union-attr]
    assert p.matchers.live == [] and len(p.job.matchers) == 1  # removed for this step only
    assert p.process_line("aaaa").effects == (Output("aaaa"),)


@pytest.mark.parametrize(("text", "seconds"), [
    ("00:00:02", 2.0), ("00:01:00.5", 60.5), ("1.00:00:00", 86400.0), ("3", 3 * 86400.0),
    ("", None), ("abc", None), ("00:61:00", None), (None, None),
])
def test_timespan_parsing(text: str | None, seconds: float | None) -> None:
    from github_runner.engine.commands.matchers import parse_timespan

    assert parse_timespan(text) == seconds
