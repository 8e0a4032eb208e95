"""GitHubReporter: engine events -> GitHub's view of the job (steps, logs, annotations, summary).

Events are queued and sent by one background task so a slow or failing GitHub never stalls
the job; `finish()` drains the queue. Reporting is best effort (retried a few times, then
logged), as in the official runner: only completion decides the job's result.

Step results follow the official runner: the runner's own "Set up job" and "Complete job"
records frame the job's steps; a failed `continue-on-error` step is reported with conclusion
`succeeded` plus an error annotation (only `steps.<id>.outcome` says failure).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from msgspec.structs import asdict

from github_runner.engine.events import (
    Annotation,
    Event,
    JobFinished,
    JobStarted,
    LogLine,
    StepFinished,
    StepStarted,
    SummaryAppended,
)
from github_runner.engine.plan import JobPlan
from github_runner.github.errors import GitHubError
from github_runner.github.models import RESULT_TO_TASK
from github_runner.github.transport import GitHubTransport, StepRecord

log = logging.getLogger("github_runner.worker.reporter")

FEED_INTERVAL = 0.5


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1e7) % 10**7:07d}Z"


class _Buffer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.summary: list[str] = []
        self.fed = 0


class GitHubReporter:
    def __init__(self, transport: GitHubTransport, plan: JobPlan, *, attempts: int = 4,
                 retry_delay: float = 0.5) -> None:
        self.transport = transport
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.record_ids = {s.id: s.record_id or str(uuid.uuid4()) for s in plan.steps}
        self.kinds = {s.id: ("run" if s.kind == "run" else "action") for s in plan.steps}
        self.refs = {s.id: (s.uses or "run") for s in plan.steps}
        self.records: list[StepRecord] = []
        self.buffers: dict[str, _Buffer] = {}
        self.by_key: dict[tuple[str, str], StepRecord] = {}
        self.current: StepRecord | None = None
        self.setup = self._new_record(str(uuid.uuid4()), "Set up job", "setup_job", "runner")
        self.teardown: StepRecord | None = None
        self.job_annotations: list[dict[str, Any]] = []
        self.job_lines: list[str] = []
        self.result: str | None = None
        self.outputs: dict[str, str] = {}
        self.failures = 0
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._feeder: asyncio.Task[None] | None = None
        self.first_step_at: float | None = None

    # ------------------------------------------------------------------ life cycle
    async def start(self, job_name: str) -> None:
        self.setup.status, self.setup.started_at = "in_progress", time.time()
        self.current = self.setup
        self._task = asyncio.create_task(self._consume(job_name))
        self._feeder = asyncio.create_task(self._feed_loop())

    async def emit(self, event: Event) -> None:
        if isinstance(event, StepStarted) and self.first_step_at is None:
            self.first_step_at = time.monotonic()
        await self._queue.put(event)

    async def finish(self) -> None:
        """Drain queued events, close the last records and upload the job log."""
        await self._queue.put(None)
        if self._task is not None:
            await self._task
        if self._feeder is not None:
            self._feeder.cancel()
            await asyncio.gather(self._feeder, return_exceptions=True)
        await self._flush_feed()
        await self.transport.close()
        now = time.time()
        if self.setup.status != "completed":
            await self._close(self.setup, "succeeded", now)
        if self.teardown is None:
            self.teardown = self._new_record(str(uuid.uuid4()), "Complete job", "complete_job",
                                             "runner")
            self.teardown.started_at = now
            self.current = self.teardown
        self.job_lines.append(f"{stamp(now)} Cleaning up orphan processes")
        self.buffers[self.teardown.record_id].lines.append(f"{stamp(now)} Cleaning up orphan processes")
        await self._close(self.teardown, "succeeded", time.time())
        text = "\n".join(self.job_lines) + "\n"
        await self._safe(lambda: self.transport.upload_job_log(text, len(self.job_lines)),
                         "job log")

    # ------------------------------------------------------------------ internals
    def _new_record(self, record_id: str, name: str, ref: str, kind: str) -> StepRecord:
        rec = StepRecord(record_id, len(self.records) + 1, name, ref, kind)
        self.records.append(rec)
        self.buffers[record_id] = _Buffer()
        return rec

    async def _safe(self, fn: Callable[[], Awaitable[Any]], what: str) -> bool:
        for attempt in range(self.attempts):
            try:
                await fn()
                return True
            except GitHubError as exc:
                if attempt + 1 == self.attempts:
                    self.failures += 1
                    log.warning("reporting %s failed (best effort): %s", what, exc)
                    return False
                await asyncio.sleep(self.retry_delay * (2**attempt))
        return False

    async def _consume(self, job_name: str) -> None:
        # in the background: the first step need not wait for these round trips
        await self._safe(lambda: self.transport.job_started(job_name), "job start")
        await self._safe(lambda: self.transport.update_steps([self.setup]), "step update")
        while True:
            event = await self._queue.get()
            if event is None:
                return
            try:
                await self._handle(event)
            except Exception:  # noqa: BLE001 - reporting must never take the job down
                log.exception("reporting %s failed", type(event).__name__)

    async def _handle(self, ev: Event) -> None:
        if isinstance(ev, JobStarted):
            return
        if isinstance(ev, StepStarted):
            await self._step_started(ev)
        elif isinstance(ev, LogLine):
            self._line(ev.step_id, ev.text, ev.at, ev.kind)
        elif isinstance(ev, Annotation):
            rec = self._record_for(ev.step_id)
            a = {k: v for k, v in asdict(ev).items() if k in (
                "level", "message", "title", "file", "line", "col")}
            a["endLine"], a["endColumn"] = ev.end_line, ev.end_column
            (rec.annotations if rec is not None else self.job_annotations).append(a)
            prefix = {"error": "##[error]", "warning": "##[warning]", "notice": "##[notice]"}
            self._line(ev.step_id, prefix.get(ev.level, "##[debug]") + ev.message, ev.at, "output")
        elif isinstance(ev, SummaryAppended):
            rec = self._record_for(ev.step_id)
            if rec is not None:
                self.buffers[rec.record_id].summary.append(ev.markdown)
        elif isinstance(ev, StepFinished):
            await self._step_finished(ev)
        elif isinstance(ev, JobFinished):
            self.result = RESULT_TO_TASK.get(ev.result, "failed")
            self.outputs = dict(ev.outputs)
            if self.current is not None and self.current is not self.setup and \
                    self.current.status != "completed":
                await self._close(self.current, "canceled", ev.at)
            self.teardown = self._new_record(str(uuid.uuid4()), "Complete job", "complete_job",
                                             "runner")
            self.teardown.started_at, self.teardown.status = ev.at, "in_progress"
            self.current = self.teardown

    def _record_for(self, step_id: str | None) -> StepRecord | None:
        if step_id is None:
            return self.current
        for stage in ("post", "main", "pre"):
            rec = self.by_key.get((step_id, stage))
            if rec is not None and (rec.status == "in_progress" or rec is self.current):
                return rec
        return self.by_key.get((step_id, "main")) or self.current

    def _line(self, step_id: str | None, text: str, at: float, kind: str) -> None:
        rec = self._record_for(step_id)
        prefix = {"command": "[command]", "group": "##[group]", "endgroup": "##[endgroup]",
                  "debug": "##[debug]", "error": "##[error]"}.get(kind, "")
        line = f"{stamp(at)} {prefix}{text}"
        self.job_lines.append(line)
        if rec is not None:
            self.buffers[rec.record_id].lines.append(line)

    async def _step_started(self, ev: StepStarted) -> None:
        if self.setup.status != "completed":
            await self._close(self.setup, "succeeded", ev.at, upload=True)
        base = self.record_ids.get(ev.step_id, str(uuid.uuid5(uuid.NAMESPACE_URL, ev.step_id)))
        rid = base if ev.stage == "main" else str(uuid.uuid5(uuid.UUID(base), ev.stage))
        rec = self.by_key.get((ev.step_id, ev.stage))
        if rec is None:
            name = ev.name if ev.stage == "main" else f"{ev.stage.capitalize()} {ev.name}"
            rec = self._new_record(rid, name, self.refs.get(ev.step_id, ev.step_id),
                                   self.kinds.get(ev.step_id, "run"))
            self.by_key[(ev.step_id, ev.stage)] = rec
        rec.status, rec.started_at = "in_progress", ev.at
        self.current = rec
        await self._safe(lambda: self.transport.update_steps([rec]), "step update")

    async def _step_finished(self, ev: StepFinished) -> None:
        rec = self._record_for(ev.step_id)
        if rec is None:
            return
        conclusion = RESULT_TO_TASK.get(ev.conclusion, "failed")
        if ev.outcome == "failure" and ev.conclusion == "success":
            if not any(a["level"] == "error" for a in rec.annotations):
                rec.annotations.append({"level": "error", "message": f"Step {ev.name!r} failed "
                                        "(continue-on-error: the job goes on)"})
        await self._close(rec, conclusion, ev.at, upload=True)
        self.current = None

    async def _close(self, rec: StepRecord, conclusion: str, at: float, *,
                     upload: bool = True) -> None:
        rec.status, rec.conclusion, rec.completed_at = "completed", conclusion, at
        if rec.started_at is None:
            rec.started_at = at
        buf = self.buffers[rec.record_id]
        if upload:
            await self._flush_feed()
            text = "\n".join(buf.lines) + ("\n" if buf.lines else "")
            await self._safe(lambda: self.transport.upload_step_log(rec, text, len(buf.lines)),
                             f"log of step {rec.number}")
            if buf.summary:
                md = "".join(buf.summary)
                await self._safe(lambda: self.transport.upload_summary(rec, md),
                                 f"summary of step {rec.number}")
        await self._safe(lambda: self.transport.update_steps([rec]), "step update")

    async def _feed_loop(self) -> None:
        while True:
            await asyncio.sleep(FEED_INTERVAL)
            await self._flush_feed()

    async def _flush_feed(self) -> None:
        for rec in self.records:
            buf = self.buffers[rec.record_id]
            if buf.fed < len(buf.lines):
                start = buf.fed
                lines = [x.split(" ", 1)[-1] for x in buf.lines[buf.fed:]]  # no timestamp live
                buf.fed = len(buf.lines)
                try:  # live console: best effort, never retried
                    await self.transport.feed(rec, lines, start + 1)
                except GitHubError:
                    pass

    def step_results(self) -> list[StepRecord]:
        return list(self.records)
