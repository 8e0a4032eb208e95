"""The terminal reporter: coloured, grouped step logs, annotations and a final summary table.

Jobs run in parallel, so every line carries its job's name as a prefix (`[build (1)]`) and a
colour of its own; `::group::` sections are shown as an indented, titled block. The summary
table at the end lists every job with its result and duration, then the step failures.

Lines are written as plain text with ANSI styles (see `ansi.py`), not through rich: its markup
and rendering engine cost ~0.5 ms a line, and a line needs no more than a colour. The summary
table at the end is drawn by rich on a terminal, as plain columns when piped. User text is
never interpreted as markup.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from github_runner.engine.events import (
    Annotation,
    Event,
    JobFinished,
    JobStarted,
    LogLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    SummaryAppended,
)
from github_runner.engine.reporters.ansi import colour_wanted, is_terminal, style, summary_table

_JOB_COLOURS = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta")
_RESULT_STYLE = {"success": "green", "failure": "bold red", "cancelled": "yellow", "skipped": "dim"}
_RESULT_MARK = {"success": "✓", "failure": "✗", "cancelled": "⊘", "skipped": "○"}
_LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "notice": "cyan", "debug": "dim"}
_KIND_STYLE = {"debug": "dim", "error": "red", "command": "dim cyan", "info": "dim"}


class TerminalReporter:
    """`console` may be a rich Console (its file and colour settings are used, for callers
    that already hold one); by default lines go to stdout, coloured on a terminal unless
    NO_COLOR is set."""

    def __init__(
        self,
        console: Any = None,
        *,
        show_debug: bool = False,
        file: IO[str] | None = None,
        colour: bool | None = None,
    ) -> None:
        if console is not None:
            file = console.file
            if colour is None:
                colour = console.color_system is not None and not console.no_color
        self._file: IO[str] = file if file is not None else sys.stdout
        self._colour_on = colour_wanted(self._file) if colour is None else colour
        self._terminal = is_terminal(self._file)
        self.show_debug = show_debug
        self._colour: dict[str, str] = {}
        self._group_depth: dict[str, int] = {}
        self._jobs: dict[str, JobFinished] = {}
        self._failed_steps: list[tuple[str, str]] = []
        self._annotations: list[Annotation] = []
        self._prefixes: dict[str, str] = {}
        self._header: dict[str, str] = {}  # job -> "next" (a step just started) or "in"
        self._gone = False  # the terminal went away (broken pipe)

    def _s(self, text: str, name: str) -> str:
        return style(text, name) if self._colour_on else text

    def _prefix(self, job_id: str) -> str:
        cached = self._prefixes.get(job_id)
        if cached is None:
            colour = self._colour.setdefault(job_id, _JOB_COLOURS[len(self._colour) % len(_JOB_COLOURS)])
            cached = self._prefixes[job_id] = self._s(f"[{job_id}]", colour)
        return cached

    def _print(self, text: str = "") -> None:
        self._file.write(text + "\n")
        self._file.flush()

    async def emit(self, event: Event) -> None:
        if self._gone:
            return
        try:
            self._emit(event)
        except BrokenPipeError:
            # `exec ... | head`: the reader left. The run goes on (its exit code still counts);
            # only this reporter stops, and stdout points at /dev/null so that the
            # interpreter's last flush does not complain either.
            self._gone = True
            _silence(self._file)

    def _emit(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self._line(event)
        elif isinstance(event, StepStarted):
            self._header[event.job_id] = "next"
            stage = "" if event.stage == "main" else f"{event.stage.capitalize()} "
            self._print(f"{self._prefix(event.job_id)} {self._s(f'▶ {stage}{event.name}', 'bold')}")
        elif isinstance(event, StepFinished):
            extra = "" if event.outcome == event.conclusion else f" (outcome: {event.outcome})"
            mark = _RESULT_MARK[event.conclusion]
            self._print(
                f"{self._prefix(event.job_id)} "
                f"{self._s(f'{mark} {event.name}{extra}', _RESULT_STYLE[event.conclusion])}"
                f" {self._s(f'{event.duration:.2f}s', 'dim')}"
            )
            if event.outcome == "failure":
                note = "" if event.conclusion == "failure" else " (continue-on-error)"
                self._failed_steps.append((event.job_id, event.name + note))
            self._group_depth[event.job_id] = 0
        elif isinstance(event, Annotation):
            self._annotation(event)
        elif isinstance(event, JobStarted):
            self._print(f"{self._prefix(event.job_id)} {self._s(f'🚀 Job {event.name}', 'bold')}")
        elif isinstance(event, JobFinished):
            self._jobs[event.job_id] = event
            text = f"{_RESULT_MARK[event.result]} Job {event.result}"
            self._print(f"{self._prefix(event.job_id)} {self._s(text, _RESULT_STYLE[event.result])}")
        elif isinstance(event, SummaryAppended):
            prefix = self._prefix(event.job_id)
            self._print(f"{prefix} {self._s('step summary:', 'dim')}")
            for line in event.markdown.splitlines():
                self._print(f"{prefix}   {line}")
        elif isinstance(event, RunStarted):
            self._print(
                f"{self._s(f'Workflow {event.workflow}', 'bold')} "
                f"{self._s(f'on {event.event_name}: {len(event.jobs)} job(s)', 'dim')}"
            )
        elif isinstance(event, RunFinished):
            self._summary(event)

    def _line(self, event: LogLine) -> None:
        # The step header group (script, shell, env) repeats what the step line shows: only
        # with --debug. Everything else goes out.
        job_id, kind = event.job_id, event.kind
        header = self._header.pop(job_id, None)
        if header == "next" and kind == "group" and event.text.startswith("Run ") and not self.show_debug:
            self._header[job_id] = "in"
            return
        if header == "in":
            if kind != "endgroup":
                self._header[job_id] = "in"
            return
        depth = self._group_depth.get(job_id, 0)
        if kind == "output":  # the hot path: no flush per line (step and job lines flush)
            self._file.write(f"{self._prefix(job_id)} {'  ' * depth}| {event.text}\n")
            return
        if kind == "group":
            self._print(f"{self._prefix(job_id)} {'  ' * depth}{self._s(f'▼ {event.text}', 'bold')}")
            self._group_depth[job_id] = depth + 1
            return
        if kind == "endgroup":
            self._group_depth[job_id] = max(0, depth - 1)
            return
        if kind == "debug" and not self.show_debug:
            return
        name = _KIND_STYLE.get(kind)
        body = self._s(event.text, name) if name else event.text
        self._print(f"{self._prefix(job_id)} {'  ' * depth}| {body}")

    def _annotation(self, event: Annotation) -> None:
        if event.level == "debug" and not self.show_debug:
            return
        self._annotations.append(event)
        where = ""
        if event.file:
            where = f" {event.file}"
            if event.line:
                where += f":{event.line}"
                if event.col:
                    where += f":{event.col}"
        title = f" {event.title}:" if event.title else ""
        text = f"{event.level.capitalize()}{where}:{title} {event.message}"
        self._print(f"{self._prefix(event.job_id)} {self._s(text, _LEVEL_STYLE[event.level])}")

    def _summary(self, event: RunFinished) -> None:
        rows: list[list[tuple[str, str | None]]] = []
        for job_id, result in event.jobs.items():
            finished = self._jobs.get(job_id)
            duration = f"{finished.duration:.1f}s" if finished else "-"
            rows.append([(job_id, None), (f"{_RESULT_MARK[result]} {result}", _RESULT_STYLE[result]),
                         (duration, None)])
        self._print()
        table = summary_table("Run summary", ["Job", "Result", "Duration"], "llr", rows,
                              colour=self._colour_on, boxed=self._terminal)
        for line in table:
            self._file.write(line + "\n")
        for job_id, name in self._failed_steps:
            self._print(f"{self._s('  failed step:', 'red')} {job_id} / {name}")
        counts = {lvl: sum(a.level == lvl for a in self._annotations) for lvl in ("error", "warning")}
        if any(counts.values()):
            self._print(self._s(f"  annotations: {counts['error']} error(s), {counts['warning']} warning(s)", "dim"))
        self._print(self._s(f"Run {event.result}", _RESULT_STYLE[event.result]))


def _silence(file: IO[str]) -> None:
    """Point a broken stdout at /dev/null (what rich did): later writes and the final flush
    at exit then go nowhere instead of raising again."""
    if file is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
