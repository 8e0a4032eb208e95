"""The output path (bytes -> lines) and the two reporters, driven with real event objects."""

from __future__ import annotations

import asyncio
import io
import json

from rich.console import Console

from github_runner.engine.events import (
    Annotation, JobFinished, JobStarted, LogLine, RunFinished, RunStarted, StepFinished, StepStarted,
)
from github_runner.engine.output import JobLog, StepOutput
from github_runner.engine.reporters.jsonl import JsonlReporter
from github_runner.engine.reporters.terminal import TerminalReporter
from github_runner.secrets.masker import Masker


def _lines(chunks: list[bytes]) -> list[str]:
    got: list[str] = []

    async def on_line(text: str) -> None:
        got.append(text)

    async def go() -> None:
        out = StepOutput(on_line)
        for c in chunks:
            await out.write(c)
        await out.close()

    asyncio.run(go())
    return got


def test_lines_split_across_chunks_crlf_and_multibyte() -> None:
    data = "a\r\nbé\rc\n€ tail".encode()
    whole = _lines([data])
    assert whole == ["a", "bé", "c", "€ tail"]
    for cut in range(1, len(data)):
        assert _lines([data[:cut], data[cut:]]) == whole, cut
    assert _lines([b"\xff\xfe ok\n"]) == ["\ufffd\ufffd ok"]


def test_joblog_masks_lines_and_annotations() -> None:
    masker = Masker()
    masker.add("hunter2-secret", source="test")
    events = []

    class Collect:
        async def emit(self, e) -> None:
            events.append(e)

    async def go() -> None:
        log = JobLog("j", Collect(), masker)
        await log.line("x hunter2-secret y\nsecond", step_id="s")
        await log.annotate("error", "bad hunter2-secret", title="t hunter2-secret", file="f")

    asyncio.run(go())
    assert [e.text for e in events if isinstance(e, LogLine)] == ["x *** y", "second"]
    note = events[-1]
    assert isinstance(note, Annotation) and note.message == "bad ***" and note.title == "t ***"


def _run_events(reporter) -> None:
    async def go() -> None:
        for e in (
            RunStarted("wf", "push", ("j",)),
            JobStarted("j", "j"),
            StepStarted("j", "s", "Say [bold]hi"),
            LogLine("j", "s", "grp", kind="group"),
            LogLine("j", "s", "inside [red]not markup"),
            LogLine("j", "s", "", kind="endgroup"),
            LogLine("j", "s", "hidden debug", kind="debug"),
            Annotation("j", "s", "warning", "careful", file="a.py", line=3, col=2),
            StepFinished("j", "s", "Say [bold]hi", "failure", "success", duration=0.5),
            JobFinished("j", "j", "success", duration=1.0),
            RunFinished("success", {"j": "success"}),
        ):
            await reporter.emit(e)

    asyncio.run(go())


def test_terminal_reporter_groups_annotations_summary() -> None:
    buf = io.StringIO()
    _run_events(TerminalReporter(Console(file=buf, width=200, color_system=None)))
    out = buf.getvalue()
    assert "[j] ▶ Say [bold]hi" in out  # user text is escaped, not interpreted as markup
    assert "[j]   | inside [red]not markup" in out  # indented inside the group
    assert "hidden debug" not in out
    assert "Warning a.py:3:2: careful" in out
    assert "(outcome: failure)" in out
    assert "Run summary" in out and "Run success" in out


def test_jsonl_reporter_one_object_per_event() -> None:
    buf = io.StringIO()
    _run_events(JsonlReporter(buf))
    records = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["type"] for r in records][:3] == ["RunStarted", "JobStarted", "StepStarted"]
    assert records[-1] == {**records[-1], "type": "RunFinished", "result": "success"}


def test_terminal_hides_the_step_header_unless_debug() -> None:
    async def feed(reporter) -> None:
        for e in (
            StepStarted("j", "s", "Run make"),
            LogLine("j", "s", "Run make", kind="group"),
            LogLine("j", "s", "make", kind="info"),
            LogLine("j", "s", "shell: /usr/bin/bash -e {0}", kind="info"),
            LogLine("j", "s", "", kind="endgroup"),
            LogLine("j", "s", "compiling"),
        ):
            await reporter.emit(e)

    quiet, loud = io.StringIO(), io.StringIO()
    asyncio.run(feed(TerminalReporter(Console(file=quiet, width=200, color_system=None))))
    asyncio.run(feed(TerminalReporter(Console(file=loud, width=200, color_system=None), show_debug=True)))
    assert "shell: /usr/bin/bash" not in quiet.getvalue() and "| compiling" in quiet.getvalue()
    assert "shell: /usr/bin/bash" in loud.getvalue() and "| compiling" in loud.getvalue()


def test_terminal_reporter_survives_a_closed_pipe() -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    reporter = TerminalReporter(Console(file=Closed(), width=100, color_system=None))
    _run_events(reporter)  # must not raise: the run goes on without a reader
    assert reporter._gone
