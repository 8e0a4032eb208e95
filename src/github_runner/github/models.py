"""Typed views of what GitHub sends and what we persist.

Two JSON dialects meet here and are kept apart: the VSS/pipelines side (camelCase names,
camelCase string enums, `{"count","value"}` wrappers, PascalCase-and-strings in JIT files) and
the run/results services (snake_case, numeric enums). Readers are lenient (case-insensitive
keys, `"True"`/`"795"` strings) because GitHub itself is inconsistent; writers emit exactly one
spelling.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from msgspec import Struct, field
from msgspec.structs import asdict

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

# TaskResult (camelCase string enum on the VSS side / run service completejob).
TASK_RESULTS = ("succeeded", "succeededWithIssues", "failed", "canceled", "skipped", "abandoned")
# engine Result -> TaskResult
RESULT_TO_TASK = {"success": "succeeded", "failure": "failed", "cancelled": "canceled",
                  "skipped": "skipped"}
# results service numeric enums (runner-protocol §7.2)
STATUS_NUM = {"unknown": 0, "in_progress": 3, "pending": 5, "completed": 6}
CONCLUSION_NUM = {"unknown": 0, "succeeded": 2, "succeededWithIssues": 2, "failed": 3,
                  "canceled": 4, "skipped": 7}


def ci_get(d: dict[str, Any], name: str, default: Any = None) -> Any:
    """Case-insensitive dict lookup (the .NET side reads JSON names case-insensitively)."""
    if name in d:
        return d[name]
    low = name.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return default


def as_bool(v: Any, default: bool = False) -> bool:
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, dict):  # {"$type": "System.Boolean", "$value": true}
        return as_bool(ci_get(v, "$value"), default)
    return str(v).strip().lower() in ("true", "1", "yes")


def as_str(v: Any, default: str = "") -> str:
    if v is None:
        return default
    if isinstance(v, dict):
        return as_str(ci_get(v, "$value"), default)
    return str(v)


def as_int(v: Any, default: int = 0) -> int:
    if v is None or v == "":
        return default
    return int(str(v))


class RunnerSettingsFile(Struct):
    """`.runner`: which service, which agent, which transport."""

    agent_id: int
    agent_name: str
    pool_id: int
    server_url: str
    github_url: str
    pool_name: str = ""
    work_folder: str = "_work"
    ephemeral: bool = False
    disable_update: bool = True
    use_v2_flow: bool = False
    server_url_v2: str = ""
    is_hosted_server: bool = True
    labels: list[str] = field(default_factory=list)  # ours: what we registered with

    FIELDS = {
        "agentId": "agent_id", "agentName": "agent_name", "poolId": "pool_id",
        "poolName": "pool_name", "serverUrl": "server_url", "gitHubUrl": "github_url",
        "workFolder": "work_folder", "ephemeral": "ephemeral", "disableUpdate": "disable_update",
        "useV2Flow": "use_v2_flow", "serverUrlV2": "server_url_v2",
        "isHostedServer": "is_hosted_server", "labels": "labels",
    }

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {wire: d[attr] for wire, attr in self.FIELDS.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunnerSettingsFile":
        def g(name: str) -> Any:
            return ci_get(data, name)

        labels = g("labels")
        return cls(
            agent_id=as_int(g("agentId")), agent_name=as_str(g("agentName")),
            pool_id=as_int(g("poolId"), 1), server_url=as_str(g("serverUrl")),
            github_url=as_str(g("gitHubUrl")), pool_name=as_str(g("poolName")),
            work_folder=as_str(g("workFolder"), "_work"), ephemeral=as_bool(g("ephemeral")),
            disable_update=as_bool(g("disableUpdate"), True), use_v2_flow=as_bool(g("useV2Flow")),
            server_url_v2=as_str(g("serverUrlV2")),
            is_hosted_server=as_bool(g("isHostedServer"), True),
            labels=[str(x) for x in labels] if isinstance(labels, list) else [],
        )


class CredentialsFile(Struct):
    """`.credentials`: how to get an OAuth token (no secret in here; the key is separate)."""

    client_id: str
    authorization_url: str
    require_fips: bool = True
    authorization_url_v2: str = ""
    enable_auth_migration: bool = False

    def to_json(self) -> dict[str, Any]:
        data = {"clientId": self.client_id, "authorizationUrl": self.authorization_url,
                "requireFipsCryptography": "True" if self.require_fips else "False"}
        if self.authorization_url_v2:
            data["authorizationUrlV2"] = self.authorization_url_v2
            data["enableAuthMigrationByDefault"] = "true" if self.enable_auth_migration else "false"
        return {"scheme": "OAuth", "data": data}

    @classmethod
    def from_json(cls, blob: dict[str, Any]) -> "CredentialsFile":
        scheme = as_str(ci_get(blob, "scheme"))
        if scheme.lower() != "oauth":
            raise ValueError(f"unsupported credential scheme {scheme!r}")
        data = ci_get(blob, "data") or {}
        return cls(
            client_id=as_str(ci_get(data, "clientId")),
            authorization_url=as_str(ci_get(data, "authorizationUrl")),
            require_fips=as_bool(ci_get(data, "requireFipsCryptography"), True),
            authorization_url_v2=as_str(ci_get(data, "authorizationUrlV2")),
            enable_auth_migration=as_bool(ci_get(data, "enableAuthMigrationByDefault")),
        )


class QueueMessage(Struct, frozen=True):
    """One message from the v1 queue or the broker, already decrypted."""

    message_id: int
    message_type: str
    body: str

    def json_body(self) -> Any:
        return json.loads(self.body)


class JobReference(Struct, frozen=True):
    """Body of a broker `RunnerJobRequest`: where to acquire the job."""

    runner_request_id: str
    run_service_url: str
    billing_owner_id: str = ""
    should_acknowledge: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "JobReference":
        rid = as_str(ci_get(data, "runner_request_id") or ci_get(data, "runnerRequestId"))
        url = as_str(ci_get(data, "run_service_url") or ci_get(data, "runServiceUrl"))
        if not rid:
            raise ValueError("RunnerJobRequest without runner_request_id")
        return cls(rid, url, as_str(ci_get(data, "billing_owner_id")),
                   as_bool(ci_get(data, "should_acknowledge")))


_MESSAGE_ID = re.compile(rb'"messageId"\s*:\s*(\d+)', re.I)


def sniff_message_id(raw: bytes) -> int | None:
    """The id of a message too broken (or too big) to parse, so it can still be deleted/logged."""
    m = _MESSAGE_ID.search(raw[:512])
    return int(m.group(1)) if m else None


def parse_queue_message(status: int, raw: bytes, max_bytes: int,
                        decrypt: "Callable[[str, str], str] | None" = None) -> QueueMessage | None:
    """A poll response -> message (None for "no message"); `decrypt(iv, body)` for v1.

    Too big, not JSON, no body, bad ciphertext: `MessageError` carrying the id when it can
    be found, so the caller can log and delete exactly that message.
    """
    from github_runner.github.errors import MessageError

    if status in (202, 204) or not raw:
        return None
    if len(raw) > max_bytes:
        raise MessageError(f"message of {len(raw)} bytes exceeds the {max_bytes} limit",
                           sniff_message_id(raw))
    try:
        data = json.loads(raw)
        mid = int(ci_get(data, "messageId"))  # int(): ids exceed 2**53, never via float
        mtype = str(ci_get(data, "messageType") or "")
        body = ci_get(data, "body")
        iv = ci_get(data, "iv")
    except (ValueError, TypeError, AttributeError) as exc:
        raise MessageError(f"malformed queue message: {type(exc).__name__}",
                           sniff_message_id(raw)) from None
    if not isinstance(body, str):
        raise MessageError(f"message {mid} has no body", mid)
    if iv and decrypt is not None:
        try:
            body = decrypt(str(iv), body)
        except MessageError as exc:
            raise MessageError(f"message {mid}: {exc}", mid) from None
    return QueueMessage(mid, mtype, body)


def wrap(values: list[Any]) -> dict[str, Any]:
    return {"count": len(values), "value": values}


def unwrap(body: Any) -> list[Any]:
    if isinstance(body, dict):
        v = ci_get(body, "value")
        return v if isinstance(v, list) else []
    return body if isinstance(body, list) else []


class JobEssentials(Struct, frozen=True):
    """The few job-message fields needed to report on a job without running it.

    The listener uses this to fail a job whose worker crashed; the worker uses it to find its
    endpoints and token. It deliberately does not parse steps or templates.
    """

    message_type: str
    plan_id: str
    job_id: str
    timeline_id: str
    scope_identifier: str
    plan_type: str
    plan_version: int
    request_id: int
    system_url: str
    job_token: str
    results_url: str
    job_name: str
    billing_owner_id: str = ""
    feed_url: str = ""  # v2 live console websocket (FeedStreamUrl)

    @property
    def v2(self) -> bool:
        return self.message_type.lower() == "runnerjobrequest"

    @classmethod
    def parse(cls, data: Any) -> "JobEssentials":
        if not isinstance(data, dict):
            raise ValueError("the job message is not a JSON object")
        plan = ci_get(data, "plan") or {}
        timeline = ci_get(data, "timeline") or {}
        endpoints = ci_get(ci_get(data, "resources") or {}, "endpoints") or []
        svc = next((e for e in endpoints if isinstance(e, dict) and
                    as_str(ci_get(e, "name")) == "SystemVssConnection"), None)
        if svc is None:
            raise ValueError("the job message has no SystemVssConnection endpoint")
        params = ci_get(ci_get(svc, "authorization") or {}, "parameters") or {}
        token = as_str(ci_get(params, "AccessToken"))
        variables = ci_get(data, "variables") or {}
        results = ci_get(variables, "system.github.results_endpoint") or {}
        results_url = as_str(ci_get(results, "value") if isinstance(results, dict) else results)
        if not results_url:
            results_url = as_str(ci_get(ci_get(svc, "data") or {}, "ResultsServiceUrl"))
        ess = cls(
            message_type=as_str(ci_get(data, "messageType")), plan_id=as_str(ci_get(plan, "planId")),
            job_id=as_str(ci_get(data, "jobId")), timeline_id=as_str(ci_get(timeline, "id")),
            scope_identifier=as_str(ci_get(plan, "scopeIdentifier"), EMPTY_GUID),
            plan_type=as_str(ci_get(plan, "planType"), "actions"),
            plan_version=as_int(ci_get(plan, "version")),
            request_id=as_int(ci_get(data, "requestId")), system_url=as_str(ci_get(svc, "url")),
            job_token=token, results_url=results_url,
            job_name=as_str(ci_get(data, "jobDisplayName")),
            billing_owner_id=as_str(ci_get(data, "billingOwnerId")),
            feed_url=as_str(ci_get(ci_get(svc, "data") or {}, "FeedStreamUrl")),
        )
        missing = [n for n in ("plan_id", "job_id", "system_url", "job_token")
                   if not getattr(ess, n)]
        if missing:
            raise ValueError(f"the job message lacks {', '.join(missing)}")
        return ess
