"""The v1 "pipelines" (actions service) API used by GHES and by registration.

Routes are not fixed: `connectionData` maps location GUIDs to route templates (runner-protocol
§0.3), so every call here names a location GUID and route values. Errors carry a
`WrappedException` body whose `typeKey`, not the status code, says what happened (§0.4).
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import padding as sympadding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from msgspec import Struct

from github_runner.github.errors import (
    AccessDeniedError,
    GitHubError,
    HTTPStatusError,
    JobNotFoundError,
    MessageError,
    RunnerDeletedError,
    SessionConflictError,
    SessionExpiredError,
)
from github_runner.github.http import ApiClient, Credential
from github_runner.github.models import (
    EMPTY_GUID,
    QueueMessage,
    ci_get,
    parse_queue_message,
    unwrap,
)

LOC_POOLS = "a8c47e17-4d56-4a56-92bb-de7ea7dc65be"
LOC_AGENTS = "e298ef32-5878-4cab-993c-043836571f42"
LOC_SESSIONS = "134e239e-2df3-4794-a6f6-24f1f19ec8dc"
LOC_MESSAGES = "c3a054f6-7a8a-49c0-944e-3a8e5d7adfd7"
LOC_JOBREQUESTS = "fc825784-c92a-4299-9221-998a02d1b54f"
LOC_TIMELINES = "83597576-cc2c-453c-bea6-2882ae6a1653"
LOC_RECORDS = "8893bc5b-35b2-4be7-83cb-99e683551db4"
LOC_FEED = "858983e4-19bd-4c5e-864c-507b59b58b12"
LOC_LOGS = "46f5667d-263a-4684-91b1-dff7fdcf64e2"
LOC_ATTACHMENTS = "7898f959-9cdf-4096-b29e-7f293031629e"
LOC_EVENTS = "557624af-b29e-4c20-8ab0-0399d2204f3f"

_PLACEHOLDER = re.compile(r"/?\{([A-Za-z_]+)\}")


def vss_error_key(exc: HTTPStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    key = ci_get(body, "typeKey") or ""
    if not key:
        tn = str(ci_get(body, "typeName") or "")
        key = tn.split(",")[0].rsplit(".", 1)[-1]
    return str(key)


def expand(template: str, values: dict[str, Any]) -> str:
    """Fill `{name}`; drop unmatched placeholders and the slash before them (VSS semantics)."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in values and values[name] is not None and values[name] != "":
            lead = "/" if m.group(0).startswith("/") else ""
            return lead + quote(str(values[name]), safe="")
        return ""

    return _PLACEHOLDER.sub(sub, template).lstrip("/")


class VssConnection(Struct):
    """A connection to one pipelines tenant: base URL, credential and resolved routes."""

    api: ApiClient
    base_url: str  # ends with "/"
    auth: Credential
    routes: dict[str, str] | None = None

    async def connect(self) -> None:
        if self.routes is not None:
            return
        resp = await self.api.request(
            "GET", self.base_url + "_apis/connectionData",
            params={"connectOptions": "1", "lastChangeId": "-1", "lastChangeId64": "-1"},
            auth=self.auth,
        )
        data = resp.json()
        defs = ci_get(ci_get(data, "locationServiceData") or {}, "serviceDefinitions") or []
        routes = {}
        for d in defs:
            if int(ci_get(d, "resourceVersion") or 0) > 0:
                routes[str(ci_get(d, "identifier")).lower()] = str(ci_get(d, "relativePath"))
        if not routes:
            raise GitHubError(f"{self.base_url}: connectionData lists no API locations")
        self.routes = routes

    def url(self, location: str, **values: Any) -> str:
        assert self.routes is not None, "connect() first"
        template = self.routes.get(location)
        if template is None:
            raise GitHubError(f"the actions service does not offer location {location}")
        return self.base_url + expand(template, values)

    async def call(self, method: str, location: str, *, route: dict[str, Any] | None = None,
                   params: dict[str, str] | None = None, json_body: Any = None,
                   content: bytes | None = None, content_type: str | None = None,
                   timeout: float | None = None, api_version: str = "6.0-preview.1",
                   retries: int | None = None) -> httpx.Response:
        await self.connect()
        headers = {"Accept": f"application/json; api-version={api_version}"}
        if content_type:
            headers["Content-Type"] = content_type
        return await self.api.request(
            method, self.url(location, **(route or {})), auth=self.auth, params=params,
            json=json_body, content=content, headers=headers, timeout=timeout, retries=retries,
        )


def decrypt_message(aes_key: bytes, iv_b64: str, body_b64: str) -> str:
    """AES-256-CBC, PKCS#7, optional UTF-8 BOM (runner-protocol §4.3)."""
    try:
        iv = base64.b64decode(iv_b64, validate=True)
        ct = base64.b64decode(body_b64, validate=True)
        dec = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).decryptor()
        padded = dec.update(ct) + dec.finalize()
        unpadder = sympadding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        text = plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"cannot decrypt message: {type(exc).__name__}") from None
    return text.removeprefix("\ufeff")


class V1Session(Struct):
    session_id: str
    aes_key: bytes | None
    raw: dict[str, Any]


class ActionsService:
    """Listener side of v1: sessions, long-poll messages, job request lock renew/finish."""

    def __init__(self, conn: VssConnection, pool_id: int) -> None:
        self.conn = conn
        self.pool_id = pool_id

    @staticmethod
    def _map(exc: HTTPStatusError) -> Exception:
        key = vss_error_key(exc)
        if key == "TaskAgentSessionExpiredException":
            return SessionExpiredError(str(exc))
        if key == "TaskAgentSessionConflictException":
            return SessionConflictError(str(exc))
        if key in ("TaskAgentNotFoundException", "TaskAgentPoolNotFoundException"):
            return RunnerDeletedError(f"runner not found on the server ({key})")
        if key == "AccessDeniedException":
            return AccessDeniedError(str(exc))
        if key in ("TaskAgentJobNotFoundException", "TaskAgentJobTokenExpiredException"):
            return JobNotFoundError(str(exc))
        return exc

    async def create_session(self, body: dict[str, Any], unwrap_key: Any) -> V1Session:
        try:
            resp = await self.conn.call("POST", LOC_SESSIONS, route={"poolId": self.pool_id},
                                        json_body=body, api_version="5.1-preview.1", retries=0)
        except HTTPStatusError as exc:
            raise self._map(exc) from None
        data = resp.json()
        aes_key = None
        ek = ci_get(data, "encryptionKey")
        if isinstance(ek, dict) and ci_get(ek, "value"):
            fips = bool(ci_get(data, "useFipsEncryption"))
            if ci_get(ek, "encrypted", True):
                aes_key = unwrap_key(str(ci_get(ek, "value")), sha256=fips)
            else:
                aes_key = base64.b64decode(str(ci_get(ek, "value")))
        return V1Session(str(ci_get(data, "sessionId")), aes_key, data)

    async def delete_session(self, session_id: str) -> None:
        await self.conn.call("DELETE", LOC_SESSIONS,
                             route={"poolId": self.pool_id, "sessionId": session_id},
                             api_version="5.1-preview.1", timeout=30, retries=0)

    async def get_message(self, session: V1Session, last_message_id: int | None, *, status: str,
                          version: str, timeout: float, max_bytes: int) -> QueueMessage | None:
        params = {"sessionId": session.session_id, "status": status, "runnerVersion": version,
                  "os": "Linux", "architecture": "X64", "disableUpdate": "true"}
        if last_message_id is not None:
            params["lastMessageId"] = str(last_message_id)
        try:
            resp = await self.conn.call("GET", LOC_MESSAGES, route={"poolId": self.pool_id},
                                        params=params, timeout=timeout, retries=0)
        except HTTPStatusError as exc:
            raise self._map(exc) from None
        key = session.aes_key

        def decrypt(iv: str, body: str) -> str:
            assert key is not None
            return decrypt_message(key, iv, body)

        return parse_queue_message(resp.status_code, resp.content, max_bytes,
                                   decrypt if key is not None else None)

    async def delete_message(self, session: V1Session, message_id: int) -> None:
        try:
            await self.conn.call("DELETE", LOC_MESSAGES,
                                 route={"poolId": self.pool_id, "messageId": message_id},
                                 params={"sessionId": session.session_id},
                                 api_version="5.1-preview.1", retries=2)
        except HTTPStatusError as exc:
            if exc.status != 404:
                raise

    async def finish_request(self, request_id: int, result: str, finish_time: str) -> None:
        try:
            await self.conn.call(
                "PATCH", LOC_JOBREQUESTS, route={"poolId": self.pool_id, "requestId": request_id},
                params={"lockToken": EMPTY_GUID}, api_version="5.1-preview.1",
                json_body={"requestId": request_id, "finishTime": finish_time, "result": result})
        except HTTPStatusError as exc:
            raise self._map(exc) from None


async def list_pools(conn: VssConnection) -> list[dict[str, Any]]:
    resp = await conn.call("GET", LOC_POOLS, params={"poolType": "Automation"})
    return [p for p in unwrap(resp.json()) if isinstance(p, dict)]


async def find_agent(conn: VssConnection, pool_id: int, name: str) -> dict[str, Any] | None:
    resp = await conn.call("GET", LOC_AGENTS, route={"poolId": pool_id},
                           params={"agentName": name, "includeCapabilities": "False"})
    for a in unwrap(resp.json()):
        if isinstance(a, dict) and str(ci_get(a, "name")).lower() == name.lower():
            return a
    return None


async def add_agent(conn: VssConnection, pool_id: int, agent: dict[str, Any],
                    agent_id: int | None = None) -> dict[str, Any]:
    method = "PUT" if agent_id else "POST"
    route: dict[str, Any] = {"poolId": pool_id}
    if agent_id:
        route["agentId"] = agent_id
    resp = await conn.call(method, LOC_AGENTS, route=route, json_body=agent,
                           api_version="6.0-preview.2")
    data = resp.json()
    if not isinstance(data, dict):
        raise GitHubError("the service answered the agent registration with no agent")
    return data


async def delete_agent(conn: VssConnection, pool_id: int, agent_id: int) -> None:
    await conn.call("DELETE", LOC_AGENTS, route={"poolId": pool_id, "agentId": agent_id})

