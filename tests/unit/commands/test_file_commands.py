"""File commands through real files: StepFiles life cycle, readers, PATH order, summaries."""

from __future__ import annotations

import codecs
import os
import subprocess
from pathlib import Path

import pytest

from github_runner.engine.commands import (
    AddPath,
    CommandFailed,
    Issue,
    SaveState,
    SetEnv,
    SetOutput,
    StepFiles,
    StepSummary,
    build_path,
    prepend_path,
)
from github_runner.engine.commands.file_commands import FILE_COMMANDS, decode_text, iter_key_values
from github_runner.engine.commands.summary import SUMMARY_SIZE_LIMIT, read_step_summary
from github_runner.secrets.masker import Masker


def test_files_are_created_empty_before_each_step_and_replaced(tmp_path: Path) -> None:
    first = StepFiles.create(tmp_path / "fc")
    assert set(first.paths) == set(FILE_COMMANDS)
    assert all(p.exists() and p.stat().st_size == 0 for p in first.paths.values())
    second = StepFiles.create(tmp_path / "fc", previous=first)
    assert not any(p.exists() for p in first.paths.values())
    assert first.paths["GITHUB_ENV"] != second.paths["GITHUB_ENV"]
    second.remove()
    assert list((tmp_path / "fc").iterdir()) == []


def test_a_real_step_writes_every_file_command(tmp_path: Path) -> None:
    files = StepFiles.create(tmp_path)
    script = r"""
set -e
echo "PLAIN=one" >> "$GITHUB_ENV"
{ echo 'MULTI<<ghadelimiter_1'; printf 'a\nb\n'; echo 'ghadelimiter_1'; } >> "$GITHUB_ENV"
echo "NODE_OPTIONS=--inspect" >> "$GITHUB_ENV"
echo "out=42" >> "$GITHUB_OUTPUT"
echo "st=s" >> "$GITHUB_STATE"
echo "/opt/first" >> "$GITHUB_PATH"
echo "/opt/second" >> "$GITHUB_PATH"
echo "# Hi s3cretvalue" >> "$GITHUB_STEP_SUMMARY"
"""
    env = {"PATH": os.environ["PATH"], **files.environment()}
    subprocess.run(["bash", "-e", "-c", script], env=env, check=True)
    masker = Masker(min_length=1)
    masker.add("s3cretvalue")
    result = files.process(masker.mask)
    assert not result.failed
    assert result.effects == [
        AddPath("/opt/first"),
        AddPath("/opt/second"),
        SetEnv("PLAIN", "one"),
        SetEnv("MULTI", "a\nb"),
        Issue("error", "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command."),
        StepSummary("# Hi ***\n"),
        SaveState("st", "s"),
        SetOutput("out", "42"),
    ]


def test_a_bad_file_fails_the_step_but_keeps_earlier_pairs(tmp_path: Path) -> None:
    files = StepFiles.create(tmp_path)
    files.paths["GITHUB_OUTPUT"].write_text("a=1\nbroken\nb=2\n")
    result = files.process(lambda s: s)
    assert result.failed
    assert result.effects[:2] == [SetOutput("a", "1"), Issue("error", "Unable to process file command 'output' successfully.")]
    assert Issue("error", "Invalid format 'broken'") in result.effects
    assert isinstance(result.effects[-1], CommandFailed)
    assert SetOutput("b", "2") not in result.effects


@pytest.mark.parametrize(("content", "expected"), [
    ("A=1\r\nB=2", [("A", "1\r"), ("B", "2")]),  # only LF ends a line on Linux
    ("A<<E\nx\r\nE\r\nE", [("A", "x\r\nE\r")]),
    ("A<<E\n\nE", [("A", "")]),
    ("A<<E\n\n\nE", [("A", "\n")]),
    ("A=x<<y\nB<<z=\nv\nz=", [("A", "x<<y"), ("B", "v")]),
    ("A=1\nA=2", [("A", "1"), ("A", "2")]),
])
def test_key_value_edge_cases(content: str, expected: list[tuple[str, str]]) -> None:
    assert list(iter_key_values(content)) == expected


@pytest.mark.parametrize(("content", "error"), [
    ("=x", "Invalid format '=x'. Name must not be empty"),
    ("A<<", "Invalid format 'A<<'. Name must not be empty and delimiter must not be empty"),
    ("A<<E\nx", "Invalid value. EOF marker missing new line."),
    ("A<<E\nx\n", "Invalid value. Matching delimiter not found 'E'"),
])
def test_key_value_errors(content: str, error: str) -> None:
    with pytest.raises(Exception, match=None) as info:
        list(iter_key_values(content))
    assert str(info.value) == error


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_byte_order_marks_are_honoured(bom: bytes) -> None:
    encoding = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}[bom]
    assert decode_text(bom + "K=é".encode(encoding)) == "K=é"


def test_path_order_matches_the_runner() -> None:
    prepend: list[str] = []
    prepend_path(prepend, ["/a", "/b"])
    prepend_path(prepend, ["/c", "/a"])
    assert build_path(prepend, "/usr/bin") == "/a:/c:/b:/usr/bin"
    assert build_path([], "/usr/bin") == "/usr/bin"
    assert build_path(["/x"], "") == "/x"


def test_summary_size_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_bytes(b"x" * SUMMARY_SIZE_LIMIT)
    assert [type(e) for e in read_step_summary(path, str)] == [StepSummary]
    path.write_bytes(b"x" * (SUMMARY_SIZE_LIMIT + 1))
    (issue,) = read_step_summary(path, str)
    assert isinstance(issue, Issue) and issue.level == "error"
    assert issue.message.startswith("$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of 1024k, got 1024k.")
    assert read_step_summary(tmp_path / "missing", str) == []


def test_summary_masks_each_line_and_keeps_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_bytes(codecs.BOM_UTF8 + b"a TOKEN\r\nb TOKEN\nTOK\nEN")
    masker = Masker(min_length=1)
    masker.add("TOKEN")
    assert read_step_summary(path, masker.mask) == [StepSummary("a ***\r\nb ***\nTOK\nEN")]


def test_summary_honours_a_utf16_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_bytes(codecs.BOM_UTF16_LE + "# Überschrift\n".encode("utf-16-le"))
    assert read_step_summary(path, str) == [StepSummary("# Überschrift\n")]
