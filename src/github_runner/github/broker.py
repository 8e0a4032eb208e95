"""The v2 broker (github.com): session, long-poll message, acknowledge, delete session.

Broker messages are never encrypted. Errors are typed by the body's `errorKind`
(runner-protocol §0.4, §4.4), not by the status code alone.
"""

from __future__ import annotations

from typing import Any

from github_runner.github.errors import (
    AccessDeniedError,
    HTTPStatusError,
    JobNotFoundError,
    RunnerDeletedError,
    RunnerVersionTooOldError,
    SessionConflictError,
    SessionExpiredError,
)
from github_runner.github.http import ApiClient, Credential
from github_runner.github.models import QueueMessage, ci_get, parse_queue_message


def _map(exc: HTTPStatusError) -> Exception:
    body = exc.body if isinstance(exc.body, dict) else {}
    kind = str(ci_get(body, "errorKind") or "")
    if kind == "RunnerSessionInvalid":
        return SessionExpiredError(str(exc))
    if kind in ("RunnerNotFound", "HostedRunnerDeprovisioned"):
        return RunnerDeletedError(f"the runner registration is gone ({kind})")
    if kind == "RunnerVersionTooOld":
        return RunnerVersionTooOldError(
            f"GitHub refuses this runner version ({kind}): upgrade github-runner")
    if kind == "AcknowledgeJobNotFound":
        return JobNotFoundError(str(exc))
    if exc.status == 409:
        return SessionConflictError(str(exc))
    if exc.status == 403:
        return AccessDeniedError(str(exc))
    return exc


class BrokerClient:
    def __init__(self, api: ApiClient, base_url: str, auth: Credential) -> None:
        self.api = api
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.auth = auth

    async def create_session(self, body: dict[str, Any]) -> str:
        try:
            resp = await self.api.request("POST", self.base + "session", auth=self.auth,
                                          json=body, retries=0)
        except HTTPStatusError as exc:
            raise _map(exc) from None
        return str(ci_get(resp.json(), "sessionId"))

    async def delete_session(self) -> None:
        await self.api.request("DELETE", self.base + "session", auth=self.auth, timeout=30,
                               retries=0)

    async def get_message(self, session_id: str, *, status: str, version: str, timeout: float,
                          max_bytes: int) -> QueueMessage | None:
        params = {"sessionId": session_id, "status": status, "runnerVersion": version,
                  "os": "Linux", "architecture": "X64", "disableUpdate": "true"}
        try:
            resp = await self.api.request("GET", self.base + "message", auth=self.auth,
                                          params=params, timeout=timeout, retries=0)
        except HTTPStatusError as exc:
            raise _map(exc) from None
        return parse_queue_message(resp.status_code, resp.content, max_bytes)  # never encrypted

    async def acknowledge(self, session_id: str, runner_request_id: str, *, status: str,
                          version: str) -> None:
        params = {"sessionId": session_id, "status": status, "runnerVersion": version,
                  "os": "Linux", "architecture": "X64"}
        try:
            await self.api.request("POST", self.base + "acknowledge", auth=self.auth,
                                   params=params, json={"runnerRequestId": runner_request_id},
                                   timeout=5, retries=0)
        except HTTPStatusError as exc:
            raise _map(exc) from None
