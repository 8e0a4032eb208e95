"""GitHubTransport: what the worker tells GitHub about one job, over v2 or v1.

v2 (github.com): run service (renew/complete) + results service (steps, logs, summaries).
v1 (GHES): job request lock, timeline records, live feed, logs, attachments, `JobCompleted`.
Both are used only with the job-scoped token from the job message.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

from msgspec import Struct, field

from github_runner.github import runservice
from github_runner.github.actions import (
    LOC_ATTACHMENTS,
    LOC_FEED,
    LOC_JOBREQUESTS,
    LOC_LOGS,
    LOC_RECORDS,
    VssConnection,
    vss_error_key,
)
from github_runner.github.completion import complete
from github_runner.github.errors import GitHubError, HTTPStatusError, JobNotFoundError
from github_runner.github.http import ApiClient, StaticCredential
from github_runner.github.livefeed import LiveFeed
from github_runner.github.models import CONCLUSION_NUM, EMPTY_GUID, STATUS_NUM, JobEssentials
from github_runner.github.results import ResultsClient, ts

ANNOTATION_LEVEL = {"error": "failure", "warning": "warning", "notice": "notice", "debug": "notice"}


class StepRecord(Struct):
    record_id: str
    number: int
    name: str
    ref_name: str = ""
    kind: str = "run"  # runner | run | action
    status: str = "pending"  # pending | in_progress | completed
    conclusion: str | None = None  # TaskResult
    started_at: float | None = None
    completed_at: float | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    log_id: int | None = None

    def results_json(self) -> dict[str, Any]:
        return {"external_id": self.record_id, "number": self.number, "name": self.name,
                "status": STATUS_NUM[self.status], "started_at": ts(self.started_at),
                "completed_at": ts(self.completed_at),
                "conclusion": CONCLUSION_NUM.get(self.conclusion or "unknown", 0)}

    def step_result(self) -> dict[str, Any]:
        return {"external_id": self.record_id, "number": self.number, "name": self.name,
                "action_name": self.ref_name, "type": self.kind, "status": "completed",
                "conclusion": self.conclusion or "skipped", "started_at": ts(self.started_at),
                "completed_at": ts(self.completed_at),
                "annotations": [_run_annotation(a, self.number) for a in self.annotations]}

    def timeline_json(self, job_id: str) -> dict[str, Any]:
        state = {"pending": "pending", "in_progress": "inProgress", "completed": "completed"}
        issues = [{"type": a["level"] if a["level"] != "debug" else "notice",
                   "category": "General", "message": a["message"], "isInfrastructureIssue": False,
                   "data": {k: str(v) for k, v in a.items()
                            if k in ("file", "line", "col", "endLine", "endColumn", "title")
                            and v is not None} | {"stepNumber": str(self.number)}}
                  for a in self.annotations]
        rec: dict[str, Any] = {
            "id": self.record_id, "parentId": job_id, "type": "Task", "name": self.name,
            "refName": self.ref_name, "order": self.number, "state": state[self.status],
            "result": self.conclusion, "startTime": ts(self.started_at),
            "finishTime": ts(self.completed_at), "issues": issues,
            "errorCount": sum(1 for a in self.annotations if a["level"] == "error"),
            "warningCount": sum(1 for a in self.annotations if a["level"] == "warning"),
            "noticeCount": sum(1 for a in self.annotations if a["level"] == "notice"),
        }
        if self.log_id is not None:
            rec["log"] = {"id": self.log_id}
        return rec


def _run_annotation(a: dict[str, Any], number: int) -> dict[str, Any]:
    out = {"level": ANNOTATION_LEVEL.get(a["level"], "notice"), "message": a["message"],
           "stepNumber": number}
    for src, dst in (("file", "path"), ("line", "startLine"), ("endLine", "endLine"),
                     ("col", "startColumn"), ("endColumn", "endColumn"), ("title", "title")):
        if a.get(src) is not None:
            out[dst] = a[src]
    return out


class GitHubTransport(Protocol):
    async def renew(self) -> str: ...

    async def job_started(self, name: str) -> None: ...

    async def update_steps(self, steps: list[StepRecord]) -> None: ...

    async def feed(self, step: StepRecord, lines: list[str], start_line: int) -> None: ...

    async def upload_step_log(self, step: StepRecord, text: str, line_count: int) -> None: ...

    async def upload_summary(self, step: StepRecord, markdown: str) -> None: ...

    async def upload_job_log(self, text: str, line_count: int) -> None: ...

    async def complete(self, conclusion: str, outputs: dict[str, str], steps: list[StepRecord],
                       annotations: list[dict[str, Any]], retries: int, interval: float) -> None: ...

    async def close(self) -> None: ...


class V2Transport:
    def __init__(self, api: ApiClient, job: JobEssentials) -> None:
        self.api = api
        self.job = job
        self.auth = StaticCredential("Bearer", job.job_token)
        self.results = ResultsClient(api, job.results_url or job.system_url, self.auth,
                                     job.plan_id, job.job_id)
        self.live = LiveFeed(job.feed_url, job.job_token, api.ssl_context) if job.feed_url \
            else None

    async def renew(self) -> str:
        return await runservice.renew_job(self.api, self.job.system_url, self.auth,
                                          self.job.plan_id, self.job.job_id)

    async def job_started(self, name: str) -> None:
        return None  # v2 has no job record: step updates mark the job in progress

    async def update_steps(self, steps: list[StepRecord]) -> None:
        await self.results.update_steps([s.results_json() for s in steps])

    async def feed(self, step: StepRecord, lines: list[str], start_line: int) -> None:
        if self.live is not None:  # without FeedStreamUrl, logs appear per step when it ends
            await self.live.send(step.record_id, lines, start_line)

    async def close(self) -> None:
        if self.live is not None:
            await self.live.close()

    async def upload_step_log(self, step: StepRecord, text: str, line_count: int) -> None:
        await self.results.upload_step_log(step.record_id, text, line_count)

    async def upload_summary(self, step: StepRecord, markdown: str) -> None:
        await self.results.upload_summary(step.record_id, markdown)

    async def upload_job_log(self, text: str, line_count: int) -> None:
        await self.results.upload_job_log(text, line_count)

    async def complete(self, conclusion: str, outputs: dict[str, str], steps: list[StepRecord],
                       annotations: list[dict[str, Any]], retries: int, interval: float) -> None:
        await complete(self.api, self.job, conclusion, outputs=outputs,
                       step_results=[s.step_result() for s in steps],
                       annotations=[_run_annotation(a, 0) for a in annotations],
                       retries=retries, interval=interval)


class V1Transport:
    def __init__(self, api: ApiClient, job: JobEssentials, pool_id: int) -> None:
        self.api = api
        self.job = job
        self.pool_id = pool_id
        base = job.system_url if job.system_url.endswith("/") else job.system_url + "/"
        self.conn = VssConnection(api, base, StaticCredential("Bearer", job.job_token))
        self.route = {"scopeIdentifier": job.scope_identifier or EMPTY_GUID,
                      "hubName": job.plan_type or "actions", "planId": job.plan_id,
                      "timelineId": job.timeline_id}

    async def renew(self) -> str:
        try:
            resp = await self.conn.call(
                "PATCH", LOC_JOBREQUESTS,
                route={"poolId": self.pool_id, "requestId": self.job.request_id},
                params={"lockToken": EMPTY_GUID}, json_body={"requestId": self.job.request_id},
                api_version="5.1-preview.1")
        except HTTPStatusError as exc:
            if exc.status == 404 or vss_error_key(exc).startswith("TaskAgentJob"):
                raise JobNotFoundError(str(exc)) from None
            raise
        locked = resp.json().get("lockedUntil")
        if not locked:
            raise HTTPStatusError("PATCH", "jobrequests", resp.status_code, "no lockedUntil")
        return str(locked)

    async def close(self) -> None:
        return None

    async def _records(self, records: list[dict[str, Any]]) -> None:
        await self.conn.call("PATCH", LOC_RECORDS, route=self.route,
                             json_body={"count": len(records), "value": records},
                             api_version="5.1-preview.1")

    async def job_started(self, name: str) -> None:
        await self._records([{"id": self.job.job_id, "type": "Job", "name": name,
                              "state": "inProgress", "startTime": ts(time.time())}])

    async def update_steps(self, steps: list[StepRecord]) -> None:
        await self._records([s.timeline_json(self.job.job_id) for s in steps])

    async def feed(self, step: StepRecord, lines: list[str], start_line: int) -> None:
        await self.conn.call("POST", LOC_FEED, route=self.route | {"recordId": self.job.job_id},
                             json_body={"count": len(lines), "value": [x[:1024] for x in lines],
                                        "stepId": step.record_id, "startLine": start_line},
                             retries=0)

    async def _log(self, record_id: str, text: str) -> int:
        resp = await self.conn.call("POST", LOC_LOGS, route=self.route,
                                    json_body={"path": f"logs\\{record_id}"})
        log_id = int(resp.json()["id"])
        await self.conn.call("POST", LOC_LOGS, route=self.route | {"logId": log_id},
                             content=text.encode(), content_type="application/octet-stream")
        return log_id

    async def upload_step_log(self, step: StepRecord, text: str, line_count: int) -> None:
        step.log_id = await self._log(step.record_id, text)
        await self.update_steps([step])

    async def upload_summary(self, step: StepRecord, markdown: str) -> None:
        await self.conn.call(
            "PUT", LOC_ATTACHMENTS, content=markdown.encode(),
            content_type="application/octet-stream",
            route=self.route | {"recordId": step.record_id, "type": "DistributedTask.Core.Summary",
                                "name": f"summary-{uuid.uuid4().hex[:8]}.md"})

    async def upload_job_log(self, text: str, line_count: int) -> None:
        log_id = await self._log(self.job.job_id, text)
        await self._records([{"id": self.job.job_id, "log": {"id": log_id}}])

    async def complete(self, conclusion: str, outputs: dict[str, str], steps: list[StepRecord],
                       annotations: list[dict[str, Any]], retries: int, interval: float) -> None:
        try:  # best effort: the plan event below is what decides the job's result
            await self._records([{"id": self.job.job_id, "type": "Job", "state": "completed",
                                  "result": conclusion, "finishTime": ts(time.time())}])
        except GitHubError:
            pass
        await complete(self.api, self.job, conclusion, outputs=outputs, retries=retries,
                       interval=interval)


def make_transport(api: ApiClient, job: JobEssentials, pool_id: int) -> GitHubTransport:
    return V2Transport(api, job) if job.v2 else V1Transport(api, job, pool_id)
