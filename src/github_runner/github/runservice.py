"""The v2 run service: acquire (runner token), renew and complete (job token)."""

from __future__ import annotations

from typing import Any

from github_runner.github.errors import HTTPStatusError, JobNotFoundError, JobTakenError
from github_runner.github.http import ApiClient, Credential


def _base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


async def acquire_job(api: ApiClient, run_service_url: str, auth: Credential,
                      runner_request_id: str, billing_owner_id: str = "") -> bytes:
    """Returns the raw job message bytes (parsed later, by the worker)."""
    try:
        resp = await api.request(
            "POST", _base(run_service_url) + "acquirejob", auth=auth,
            json={"jobMessageId": runner_request_id, "runnerOS": "Linux",
                  "billingOwnerId": billing_owner_id},
        )
    except HTTPStatusError as exc:
        if exc.status == 404:
            raise JobNotFoundError(str(exc)) from None
        if exc.status in (409, 422):
            raise JobTakenError(str(exc)) from None
        raise
    return resp.content


async def renew_job(api: ApiClient, url: str, auth: Credential, plan_id: str, job_id: str) -> str:
    try:
        resp = await api.request("POST", _base(url) + "renewjob", auth=auth,
                                 json={"planId": plan_id, "jobId": job_id})
    except HTTPStatusError as exc:
        if exc.status == 404:
            raise JobNotFoundError(str(exc)) from None
        raise
    return str(resp.json().get("lockedUntil", ""))


async def complete_job(api: ApiClient, url: str, auth: Credential, body: dict[str, Any],
                       retries: int) -> None:
    try:
        await api.request("POST", _base(url) + "completejob", auth=auth, json=body,
                          retries=retries)
    except HTTPStatusError as exc:
        if exc.status == 404:
            raise JobNotFoundError(str(exc)) from None
        raise
