"""What the engine tells the outside world, and the Reporter seam it tells it through.

The engine never prints. Every byte a step produces becomes a `LogLine` event that has already
been through the Masker; reporters (terminal, JSON, GitHub, egress step attribution) only ever
see masked text. Reporters are fanned out with `MultiReporter`.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol

from msgspec import Struct, field

Result = Literal["success", "failure", "cancelled", "skipped"]


class Event(Struct, frozen=True, kw_only=True):
    at: float = field(default_factory=time.time)  # keyword-only: last, after a subclass's fields


class RunStarted(Event, frozen=True):
    workflow: str
    event_name: str
    jobs: tuple[str, ...]


class JobStarted(Event, frozen=True):
    job_id: str  # unique per run, includes the matrix suffix: "build (1, linux)"
    name: str
    matrix: dict[str, Any] | None = None


class StepStarted(Event, frozen=True):
    job_id: str
    step_id: str  # the step's `id:` or a generated one (`__run`, `__run_2`, ...)
    name: str
    stage: Literal["pre", "main", "post"] = "main"
    number: int = 0  # 1-based position in the job's timeline


class LogLine(Event, frozen=True):
    job_id: str
    step_id: str | None  # None for job-level lines (set-up, clean-up)
    text: str  # one line, masked, no trailing newline
    kind: Literal["output", "command", "group", "endgroup", "debug", "info", "error"] = "output"


class Annotation(Event, frozen=True):
    job_id: str
    step_id: str | None
    level: Literal["error", "warning", "notice", "debug"]
    message: str  # masked
    title: str | None = None
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    col: int | None = None
    end_column: int | None = None


class StepFinished(Event, frozen=True):
    job_id: str
    step_id: str
    name: str
    outcome: Result  # before continue-on-error
    conclusion: Result  # after continue-on-error
    outputs: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0


class SummaryAppended(Event, frozen=True):
    job_id: str
    step_id: str
    markdown: str  # masked


class JobFinished(Event, frozen=True):
    job_id: str
    name: str
    result: Result
    outputs: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0


class RunFinished(Event, frozen=True):
    result: Result
    jobs: dict[str, Result] = field(default_factory=dict)


class Reporter(Protocol):
    """Receives every engine event, in order per job. Must not raise for ordinary events."""

    async def emit(self, event: Event) -> None: ...


class MultiReporter:
    """Fans one event stream out to several reporters, in registration order."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters: list[Reporter] = list(reporters)

    def add(self, reporter: Reporter) -> None:
        self.reporters.append(reporter)

    async def emit(self, event: Event) -> None:
        for reporter in self.reporters:
            await reporter.emit(event)


class CollectingReporter:
    """Keeps every event in memory; used by tests and by the conformance harness."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)

    def lines(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, LogLine)]
