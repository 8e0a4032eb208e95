"""The terminal reporter: coloured, grouped step logs, annotations and a final summary table.

Jobs run in parallel, so every line carries its job's name as a prefix (`[build (1)]`) and a
colour of its own; `::group::` sections are shown as an indented, titled block. The summary
table at the end lists every job with its result and duration, then the step failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from rich.console import Console

_JOB_COLOURS = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta")
_RESULT_STYLE = {"success": "green", "failure": "bold red", "cancelled": "yellow", "skipped": "dim"}
_RESULT_MARK = {"success": "✓", "failure": "✗", "cancelled": "⊘", "skipped": "○"}
_ANSI = {"cyan": "36", "magenta": "35", "blue": "34", "green": "32", "yellow": "33",
         "bright_cyan": "96", "bright_magenta": "95"}
_LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "notice": "cyan", "debug": "dim"}


class TerminalReporter:
    def __init__(self, console: Console | None = None, *, show_debug: bool = False) -> None:
        if console is None:
            from rich.console import Console

            console = Console(highlight=False, soft_wrap=True)
        self.console = console
        self.show_debug = show_debug
        self._colour: dict[str, str] = {}
        self._group_depth: dict[str, int] = {}
        self._jobs: dict[str, JobFinished] = {}
        self._failed_steps: list[tuple[str, str]] = []
        self._annotations: list[Annotation] = []
        self._plain_prefix: dict[str, str] = {}
        self._header: dict[str, str] = {}
        self._gone = False  # the terminal went away (broken pipe)  # job -> "next" (a step just started) or "in"
        self._colour_on = console.color_system is not None and not console.no_color

    def _prefix(self, job_id: str) -> str:
        colour = self._colour.setdefault(job_id, _JOB_COLOURS[len(self._colour) % len(_JOB_COLOURS)])
        return f"[{colour}]\\[{_escape(job_id)}][/{colour}]"

    def _print(self, markup: str) -> None:
        self.console.print(markup, highlight=False)

    async def emit(self, event: Event) -> None:
        if self._gone:
            return
        try:
            self._emit(event)
        except (BrokenPipeError, SystemExit):  # rich turns EPIPE into SystemExit
            # `exec ... | head`: the reader left. The run goes on (its exit code still counts);
            # only this reporter stops.
            self._gone = True

    def _emit(self, event: Event) -> None:
        if isinstance(event, LogLine):
            self._line(event)
        elif isinstance(event, StepStarted):
            self._header[event.job_id] = "next"
            stage = "" if event.stage == "main" else f"{event.stage.capitalize()} "
            self._print(f"{self._prefix(event.job_id)} [bold]▶ {stage}{_escape(event.name)}[/bold]")
        elif isinstance(event, StepFinished):
            style = _RESULT_STYLE[event.conclusion]
            mark = _RESULT_MARK[event.conclusion]
            extra = "" if event.outcome == event.conclusion else f" (outcome: {event.outcome})"
            self._print(
                f"{self._prefix(event.job_id)} [{style}]{mark} {_escape(event.name)}{extra}[/{style}]"
                f" [dim]{event.duration:.2f}s[/dim]"
            )
            if event.outcome == "failure":
                note = "" if event.conclusion == "failure" else " (continue-on-error)"
                self._failed_steps.append((event.job_id, event.name + note))
            self._group_depth[event.job_id] = 0
        elif isinstance(event, Annotation):
            self._annotation(event)
        elif isinstance(event, JobStarted):
            self._print(f"{self._prefix(event.job_id)} [bold]🚀 Job {_escape(event.name)}[/bold]")
        elif isinstance(event, JobFinished):
            self._jobs[event.job_id] = event
            style = _RESULT_STYLE[event.result]
            self._print(
                f"{self._prefix(event.job_id)} [{style}]{_RESULT_MARK[event.result]} Job "
                f"{event.result}[/{style}]"
            )
        elif isinstance(event, SummaryAppended):
            self._print(f"{self._prefix(event.job_id)} [dim]step summary:[/dim]")
            for line in event.markdown.splitlines():
                self._print(f"{self._prefix(event.job_id)}   {_escape(line)}")
        elif isinstance(event, RunStarted):
            self._print(
                f"[bold]Workflow {_escape(event.workflow)}[/bold] [dim]on {event.event_name}:"
                f" {len(event.jobs)} job(s)[/dim]"
            )
        elif isinstance(event, RunFinished):
            self._summary(event)

    def _fast_prefix(self, job_id: str) -> str:
        """The job prefix as ready-made text: output lines bypass rich's markup engine, which
        costs ~0.2 ms a line (20 s for a 100 000-line build log)."""
        cached = self._plain_prefix.get(job_id)
        if cached is None:
            self._prefix(job_id)
            colour = self._colour[job_id]
            text = f"[{job_id}]"
            if self._colour_on:
                code = _ANSI.get(colour, "36")
                text = f"\x1b[{code}m{text}\x1b[0m"
            cached = self._plain_prefix[job_id] = text
        return cached

    def _line(self, event: LogLine) -> None:
        # The step header group (script, shell, env) repeats what the step line shows: only
        # with --debug. Everything else goes out.
        header = self._header.pop(event.job_id, None)
        if header == "next" and event.kind == "group" and event.text.startswith("Run ") and not self.show_debug:
            self._header[event.job_id] = "in"
            return
        if header == "in":
            if event.kind != "endgroup":
                self._header[event.job_id] = "in"
            return
        if event.kind == "output":
            depth = self._group_depth.get(event.job_id, 0)
            file = self.console.file
            file.write(f"{self._fast_prefix(event.job_id)} {'  ' * depth}| {event.text}\n")
            return
        prefix = self._prefix(event.job_id)
        depth = self._group_depth.get(event.job_id, 0)
        if event.kind == "group":
            self._print(f"{prefix} {'  ' * depth}[bold]▼ {_escape(event.text)}[/bold]")
            self._group_depth[event.job_id] = depth + 1
            return
        if event.kind == "endgroup":
            self._group_depth[event.job_id] = max(0, depth - 1)
            return
        if event.kind == "debug" and not self.show_debug:
            return
        style = {"debug": "dim", "error": "red", "command": "dim cyan", "info": "dim"}.get(event.kind)
        text = _escape(event.text)
        body = f"[{style}]{text}[/{style}]" if style else text
        self._print(f"{prefix} {'  ' * depth}| {body}")

    def _annotation(self, event: Annotation) -> None:
        if event.level == "debug" and not self.show_debug:
            return
        self._annotations.append(event)
        style = _LEVEL_STYLE[event.level]
        where = ""
        if event.file:
            where = f" {event.file}"
            if event.line:
                where += f":{event.line}"
                if event.col:
                    where += f":{event.col}"
        title = f" {event.title}:" if event.title else ""
        self._print(
            f"{self._prefix(event.job_id)} [{style}]{event.level.capitalize()}{_escape(where)}:"
            f"{_escape(title)} {_escape(event.message)}[/{style}]"
        )

    def _summary(self, event: RunFinished) -> None:
        from rich.table import Table

        table = Table(title="Run summary", title_justify="left", show_edge=False)
        table.add_column("Job")
        table.add_column("Result")
        table.add_column("Duration", justify="right")
        for job_id, result in event.jobs.items():
            finished = self._jobs.get(job_id)
            duration = f"{finished.duration:.1f}s" if finished else "-"
            style = _RESULT_STYLE[result]
            table.add_row(_escape(job_id), f"[{style}]{_RESULT_MARK[result]} {result}[/{style}]", duration)
        self.console.print()
        self.console.print(table)
        for job_id, name in self._failed_steps:
            self._print(f"[red]  failed step:[/red] {_escape(job_id)} / {_escape(name)}")
        counts = {lvl: sum(a.level == lvl for a in self._annotations) for lvl in ("error", "warning")}
        if any(counts.values()):
            self._print(f"[dim]  annotations: {counts['error']} error(s), {counts['warning']} warning(s)[/dim]")
        style = _RESULT_STYLE[event.result]
        self._print(f"[{style}]Run {event.result}[/{style}]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
