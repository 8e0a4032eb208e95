"""Egress control as the executors see it (`NetworkHook`) and as the engine sees it (`Reporter`).

The executor calls `attach(netns)` once the job's network namespace exists and before any job
process starts, and `detach()` on every exit path. The engine fans its events to
`EgressReporter`, which gives the audit log its step attribution (steps run one at a time, so
the step whose window contains an event owns it), prints the effective policy at job start,
turns blocked egress and detections into annotations when a step ends, and appends the egress
table to the job summary.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from github_runner.egress.audit import AuditLog, TextMasker
from github_runner.egress.gateway import Gateway, GatewayError, sweep_stale
from github_runner.egress.policy import EffectivePolicy
from github_runner.egress.procwatch import ProcessWatch, StepSnapshots, cgroup_of_pid
from github_runner.egress.report import summary_markdown
from github_runner.egress.settings import parse_hostport, system_resolver
from github_runner.engine.events import (
    Annotation,
    Event,
    JobFinished,
    JobStarted,
    LogLine,
    Reporter,
    StepFinished,
    StepStarted,
    SummaryAppended,
)
from github_runner.executors.base import ExecutorError

SUMMARY_STEP = "__egress"
MAX_ANNOTATIONS = 20


class EgressHook:
    """One job's egress gateway, built when the executor hands over the job's netns."""

    def __init__(
        self,
        policy: EffectivePolicy,
        *,
        job: str,
        audit_path: Path | None = None,
        masker: TextMasker | None = None,
        secrets: Iterable[str] = (),
        state_dir: Path | None = None,
    ) -> None:
        self.policy = policy
        self.job = job
        self.audit = AuditLog(audit_path, job, policy.mode, masker=masker, secrets=secrets)
        self.state_dir = state_dir
        self.gateway: Gateway | None = None
        self.on_detach: Callable[[], Awaitable[None]] | None = None  # e.g. the job-summary writer
        self.started = False  # a gateway ran for this job (so there is something to summarise)
        self.snapshots: StepSnapshots | None = None  # stray-process detection, when the cgroup is known
        self.failure: str | None = None  # a gateway part that failed mid-job (health.py)
        self.on_failure: Callable[[str], Awaitable[None]] | None = None  # the reporter's loud notice

    @property
    def active(self) -> bool:
        return self.policy.mode in ("audit", "block")

    async def attach(self, netns_path: Path) -> None:
        if not self.active:
            return
        s = self.policy.settings
        try:
            upstream = parse_hostport(s.upstream_dns) if s.upstream_dns else system_resolver()
        except ValueError as exc:
            raise ExecutorError(f"egress {self.policy.mode} mode: refusing to start the job: {exc}") from None
        await sweep_stale(self.state_dir)
        gateway = Gateway(netns_path, self.policy, self.audit, upstream, state_dir=self.state_dir)
        gateway.on_failure = self._gateway_failed
        try:
            await gateway.start()
        except GatewayError as exc:
            raise ExecutorError(
                f"egress {self.policy.mode} mode: refusing to start the job: {exc}"
            ) from exc
        self.gateway = gateway
        self.started = True
        m = re.fullmatch(r"/proc/(\d+)/ns/net", str(netns_path))
        cgroup = cgroup_of_pid(int(m.group(1))) if m else None
        own = cgroup_of_pid(os.getpid())
        if cgroup is not None and cgroup != own and len(cgroup.parts) > 5:  # the job's own, not a root
            self.snapshots = StepSnapshots(ProcessWatch(self.audit, cgroup))

    async def detach(self) -> None:
        if self.snapshots is not None:
            await self.snapshots.close()
            self.snapshots = None
        had_gateway = self.gateway is not None
        if self.gateway is not None:
            try:
                await self.gateway.check()
                await self.gateway.stop()
            finally:
                self.gateway = None
        self.audit.close()
        if had_gateway and self.on_detach is not None:
            await self.on_detach()

    async def _gateway_failed(self, component: str, reason: str) -> None:
        verdict = "the job fails" if self.policy.mode == "block" else "audit mode: the job goes on unobserved"
        self.failure = f"egress gateway failed mid-job ({component}): {reason}; {verdict}"
        if self.on_failure is not None:
            await self.on_failure(self.failure)

    @property
    def fail_reason(self) -> str | None:
        """Why egress fails this job, or None; the engine puts it in the job's error annotation."""
        if self.policy.mode == "block" and self.failure is not None:
            return self.failure
        if self.policy.settings.on_violation == "fail" and self.violations():
            return "egress: the job made connections its policy forbids"
        return None

    def violations(self) -> list[dict[str, Any]]:
        return [r for r in self.audit.records if r.get("action") in ("blocked", "refused")]

    @property
    def fails_job(self) -> bool:
        """`on_violation: fail`, or a gateway failure in block mode: the job fails even when
        every step succeeded (a step may well swallow the resulting network errors)."""
        return self.fail_reason is not None


def describe_record(rec: dict[str, Any]) -> str:
    """One line for an annotation (titled "egress"), naming what was blocked or detected and why."""
    if rec["event"] == "dns":
        return f"DNS {rec.get('qname')} {rec['action']} ({rec.get('reason', '')})"
    if rec["event"] == "connection":
        names = ",".join(rec.get("names") or []) or "no DNS name: direct IP"
        port = f":{rec['dport']}" if rec.get("dport") is not None else ""
        return (f"{rec.get('proto')} connection to {rec.get('dst')}{port} ({names}) "
                f"{rec['action']}: {rec.get('reason', '')}")
    what = rec.get("qname") or rec.get("dst") or rec.get("cmdline") or ""
    return f"detection {rec.get('kind')}: {what} ({'; '.join(rec.get('reasons', []))})"


class EgressReporter:
    """Feeds step windows to the audit log and reports egress back through `sink`."""

    def __init__(self, hook: EgressHook | None, sink: Reporter | None = None, job_id: str | None = None,
                 notices: Sequence[tuple[str, str]] = ()) -> None:
        self.hook = hook
        self.sink = sink
        self.job_id = job_id
        self.notices = list(notices)  # (step id, message), e.g. harden-runner steps not run
        self._mark = 0
        self._summarised = False
        self._step: str | None = None  # the running step's id, for mid-step notices

    async def gateway_failed(self, message: str) -> None:
        """Say it now, in the running step's log: an error in block mode, a warning in audit."""
        if self.sink is None or self.hook is None or self.job_id is None:
            return
        level: Literal["error", "warning"] = "error" if self.hook.policy.mode == "block" else "warning"
        await self.sink.emit(Annotation(job_id=self.job_id, step_id=self._step, level=level, title="egress",
                                        message=message))

    async def job_end(self) -> None:
        """Append the egress table to the job summary (once; also called from `detach`)."""
        if self._summarised or self.sink is None or self.hook is None or not self.hook.started or self.job_id is None:
            return
        self._summarised = True
        await self.sink.emit(SummaryAppended(job_id=self.job_id, step_id=SUMMARY_STEP,
                                             markdown=summary_markdown(self.hook.audit.records,
                                                                       self.hook.policy.mode)))

    async def emit(self, event: Event) -> None:
        if isinstance(event, JobStarted):
            self.job_id = self.job_id or event.job_id
            if self.sink is not None:
                for step_id, message in self.notices:
                    await self.sink.emit(Annotation(job_id=event.job_id, step_id=step_id, level="notice",
                                                    title="egress", message=message))
                for line in self.hook.policy.describe() if self.hook is not None else []:
                    await self.sink.emit(LogLine(job_id=event.job_id, step_id=None, text=line, kind="info"))
            return
        if self.hook is None:
            return
        audit = self.hook.audit
        if isinstance(event, StepStarted):
            outside = self.hook.snapshots.begin_step() if self.hook.snapshots is not None else []
            audit.set_step({"index": event.number, "name": event.name, "id": event.step_id,
                            "stage": event.stage})
            self._step = event.step_id
            self._mark = len(audit.records) - len(outside)  # annotate those in this step's log
        elif isinstance(event, StepFinished):
            if self.hook.snapshots is not None:
                self.hook.snapshots.end_step()
            await self._annotate(event.job_id, event.step_id)
            audit.set_step(None)
            self._step = None
        elif isinstance(event, JobFinished):
            self.job_id = self.job_id or event.job_id
            await self.job_end()

    async def _annotate(self, job_id: str, step_id: str) -> None:
        if self.sink is None or self.hook is None:
            return
        new = self.hook.audit.records[self._mark :]
        interesting = [r for r in new if r.get("action") in ("blocked", "refused") or r["event"] == "detection"]
        for rec in interesting[:MAX_ANNOTATIONS]:
            blocked = rec.get("action") in ("blocked", "refused") and rec["event"] != "detection"
            level: Literal["error", "warning"] = "error" if blocked else "warning"
            await self.sink.emit(Annotation(job_id=job_id, step_id=step_id, level=level,
                                            message=describe_record(rec), title="egress"))
        if len(interesting) > MAX_ANNOTATIONS:
            await self.sink.emit(Annotation(job_id=job_id, step_id=step_id, level="warning", title="egress",
                                            message=f"{len(interesting) - MAX_ANNOTATIONS} more events "
                                                    "in the audit log"))
