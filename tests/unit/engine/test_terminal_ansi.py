"""The terminal reporter's own styling, and its summary table: rich on a terminal, plain columns
when piped."""

from __future__ import annotations

import asyncio
import io

from github_runner.engine.events import JobFinished, LogLine, RunFinished, StepStarted
from rich.cells import cell_len

from github_runner.engine.reporters.ansi import cell_width, colour_wanted, style, summary_table
from github_runner.engine.reporters.terminal import TerminalReporter


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_aligns_wide_characters_and_right_justifies() -> None:
    rows = [[("日本", None), ("✓ success", "green"), ("1.5s", None)],
            [("a-much-longer-job", None), ("✗ failure", "bold red"), ("12.0s", None)]]
    lines = summary_table("Run summary", ["Job", "Result", "Duration"], "llr", rows, colour=False)
    assert lines[0].strip() == "Run summary"
    assert lines[1].split("┃") == [" Job               ", " Result    ", " Duration "]
    assert set(lines[2]) == {"━", "╇"}
    assert lines[3].split("│") == [" 日本              ", " ✓ success ", "     1.5s "]
    assert {cell_len(line) for line in lines[1:]} == {42}


def test_piped_table_is_plain_aligned_columns() -> None:
    rows = [[("日本", None), ("✓ success", "green"), ("1.5s", None)],
            [("a-much-longer-job", None), ("✗ failure", "bold red"), ("12.0s", None)]]
    lines = summary_table("Run summary", ["Job", "Result", "Duration"], "llr", rows, colour=False, boxed=False)
    assert lines == [
        "Run summary",
        "Job                Result     Duration",
        "日本               ✓ success      1.5s",
        "a-much-longer-job  ✗ failure     12.0s",
    ]
    coloured = summary_table("t", ["A", "B"], "lr", [[("ok", "green"), ("1", None)]], colour=True, boxed=False)
    assert coloured[2] == "\x1b[32mok\x1b[0m  1"
    assert cell_width("日本") == 4 and cell_width("e\u0301") == 1 and cell_width("abc") == 3


def test_reporter_boxes_the_table_only_on_a_terminal() -> None:
    async def go(out: io.StringIO) -> str:
        reporter = TerminalReporter(file=out, colour=False)
        await reporter.emit(JobFinished("j", "j", "success", duration=1.0))
        await reporter.emit(RunFinished("success", {"j": "success"}))
        return out.getvalue()

    assert "┃" in asyncio.run(go(_Tty()))
    piped = asyncio.run(go(io.StringIO()))
    assert "┃" not in piped and "j    ✓ success" in piped


def test_styles_only_when_colour_is_on() -> None:
    assert style("x", "bold red") == "\x1b[1;31mx\x1b[0m"
    coloured = summary_table("t", ["A"], "l", [[("ok", "green")]], colour=True)
    assert "\x1b[32mok\x1b[0m" in coloured[3]
    assert "ok" in summary_table("t", ["A"], "l", [[("ok", "green")]], colour=False)[3]
    assert "\x1b[" not in "".join(summary_table("t", ["A"], "l", [[("ok", "green")]], colour=False))
    assert colour_wanted(_Tty(), {}) is True
    assert colour_wanted(_Tty(), {"NO_COLOR": "1"}) is False
    assert colour_wanted(_Tty(), {"TERM": "dumb"}) is False
    assert colour_wanted(io.StringIO(), {}) is False
    assert colour_wanted(io.StringIO(), {"FORCE_COLOR": "1"}) is True


def test_reporter_colours_a_terminal_and_keeps_user_text_verbatim() -> None:
    out = _Tty()
    reporter = TerminalReporter(file=out, colour=True)

    async def go() -> None:
        await reporter.emit(StepStarted("j", "s", "Say \x1b[0m[bold]hi"))
        await reporter.emit(LogLine("j", "s", "plain [red]text"))
        await reporter.emit(JobFinished("j", "j", "failure", duration=2.0))
        await reporter.emit(RunFinished("failure", {"j": "failure"}))

    asyncio.run(go())
    text = out.getvalue()
    assert "\x1b[36m[j]\x1b[0m \x1b[1m▶ Say \x1b[0m[bold]hi\x1b[0m" in text
    assert "\x1b[36m[j]\x1b[0m | plain [red]text\n" in text
    assert text.rstrip().endswith("\x1b[1;31mRun failure\x1b[0m")
