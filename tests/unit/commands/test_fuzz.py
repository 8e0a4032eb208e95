"""Arbitrary step output must never crash the processor or the file-command reader."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from github_runner.engine.commands import CommandProcessor, JobCommandState, Output
from github_runner.engine.commands.file_commands import FileCommandError, iter_key_values
from github_runner.secrets.masker import Masker

FRAGMENTS = ["::", "##[", "]", " ", ",", ";", "=", "%0A", "%25", "%3A", "<<", "\n", "\r", "x", "é",
             "warning", "error", "notice", "debug", "group", "endgroup", "echo", "on", "add-mask",
             "set-output", "save-state", "set-env", "add-path", "stop-commands", "tok", "name",
             "line", "endLine", "col", "endColumn", "file", "title", "-1", "7", "2147483648", "EOF"]
lines = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(lines, min_size=1, max_size=8))
def test_processor_never_raises(batch: list[str]) -> None:
    processor = CommandProcessor(Masker(min_length=1), job=JobCommandState(), runner_env={},
                                 workspace="/w", repository="o/r")
    for line in batch:
        result = processor.process_line(line)
        if not result.processed and len(result.effects) == 1 and isinstance(result.effects[0], Output):
            # Unconsumed output is passed on unchanged (bar the runner-marker defusing).
            assert result.effects[0].text == line or "##[" in line


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "=", "<<", "EOF", "\n", "\r\n", "", " ", "x"]), max_size=20).map("".join))
def test_key_value_reader_fails_only_with_its_own_error(text: str) -> None:
    try:
        pairs = list(iter_key_values(text))
    except FileCommandError:
        return
    assert all(key for key, _ in pairs)
