"""Completing a job: shared by the worker (normal path) and the listener (worker crashed).

v2: `completejob` on the run service with the job token. v1: a `JobCompleted` plan event with
the job token (what github-act-runner always does and the official runner does for plan
version >= 8). Both retried a few times, 404 gives up (the job is no longer ours).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from github_runner.github import runservice
from github_runner.github.actions import LOC_EVENTS, VssConnection
from github_runner.github.errors import GitHubError, HTTPStatusError, JobNotFoundError
from github_runner.github.http import ApiClient, StaticCredential
from github_runner.github.models import JobEssentials

log = logging.getLogger("github_runner.github.completion")


async def complete(api: ApiClient, job: JobEssentials, conclusion: str, *,
                   outputs: dict[str, Any] | None = None,
                   step_results: list[dict[str, Any]] | None = None,
                   annotations: list[dict[str, Any]] | None = None,
                   retries: int = 5, interval: float = 5.0) -> None:
    """Report the job's conclusion (a TaskResult: succeeded/failed/canceled...)."""
    auth = StaticCredential("Bearer", job.job_token)
    outs = {k: {"value": v} for k, v in (outputs or {}).items()}
    attempt = 0
    while True:
        try:
            if job.v2:
                body = {"planId": job.plan_id, "jobId": job.job_id, "conclusion": conclusion,
                        "outputs": outs, "stepResults": step_results or [],
                        "annotations": annotations or [], "telemetry": [],
                        "billingOwnerId": job.billing_owner_id,
                        "infrastructureFailureCategory": None}
                await runservice.complete_job(api, job.system_url, auth, body, retries=0)
            else:
                conn = VssConnection(api, _slash(job.system_url), auth)
                await conn.call(
                    "POST", LOC_EVENTS, api_version="2.0-preview.1", retries=0,
                    route={"scopeIdentifier": job.scope_identifier, "hubName": job.plan_type,
                           "planId": job.plan_id},
                    json_body={"name": "JobCompleted", "jobId": job.job_id,
                               "requestId": job.request_id, "result": conclusion,
                               "outputs": outs})
            return
        except JobNotFoundError:
            raise
        except HTTPStatusError as exc:
            if exc.status in (401, 403, 404):
                raise JobNotFoundError(str(exc)) from None
            if attempt >= retries:
                raise
        except GitHubError:
            if attempt >= retries:
                raise
        attempt += 1
        log.info("completing job %s failed; retry %d/%d in %.1fs", job.job_id, attempt, retries,
                 interval)
        await asyncio.sleep(interval)


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
