"""One interface over the two message transports: the v2 broker and the v1 actions service.

Which one a runner uses was decided when it was registered (`useV2Flow` + `serverUrlV2` in
`.runner`); the slot loop does not care beyond this module.
"""

from __future__ import annotations

import json
import os
import socket
from typing import TYPE_CHECKING, Any, Protocol

from github_runner.config.state import Identity
from github_runner.github.actions import ActionsService, V1Session, VssConnection
from github_runner.github.auth import OAuthCredential, key_from_rsaparams, unwrap_session_key
from github_runner.github.broker import BrokerClient
from github_runner.github.errors import GitHubError, MessageError
from github_runner.github.http import ApiClient
from github_runner.github.models import EMPTY_GUID, QueueMessage
from github_runner.github.registration import os_description
from github_runner.version import RUNNER_VERSION

if TYPE_CHECKING:  # the listener holds it as a plain namespace (config/plain.py)
    from github_runner.config.settings import ListenerSection


class MessageQueue(Protocol):
    v2: bool

    async def create_session(self) -> None: ...

    async def delete_session(self) -> None: ...

    async def get_message(self, busy: bool) -> QueueMessage | None: ...

    async def delete_message(self, msg: QueueMessage) -> None: ...

    async def acknowledge(self, runner_request_id: str, busy: bool) -> None: ...


def session_body(ident: Identity) -> dict[str, Any]:
    r = ident.runner
    return {
        "sessionId": EMPTY_GUID,
        "ownerName": f"{socket.gethostname()} (PID: {os.getpid()})",
        "agent": {"id": r.agent_id, "name": r.agent_name, "version": RUNNER_VERSION,
                  "osDescription": os_description(), "ephemeral": r.ephemeral or None,
                  "status": 0, "provisioningState": None},
        "useFipsEncryption": ident.credentials.require_fips,
    }


class BrokerQueue:
    v2 = True

    def __init__(self, api: ApiClient, ident: Identity, cred: OAuthCredential,
                 timings: "ListenerSection") -> None:
        self.ident = ident
        self.client = BrokerClient(api, ident.runner.server_url_v2, cred)
        self.timings = timings
        self.session_id: str | None = None

    async def create_session(self) -> None:
        self.session_id = await self.client.create_session(session_body(self.ident))

    async def delete_session(self) -> None:
        if self.session_id is not None:
            self.session_id = None
            await self.client.delete_session()

    async def get_message(self, busy: bool) -> QueueMessage | None:
        assert self.session_id is not None
        return await self.client.get_message(
            self.session_id, status="Busy" if busy else "Online", version=RUNNER_VERSION,
            timeout=self.timings.poll_timeout, max_bytes=self.timings.max_message_bytes)

    async def delete_message(self, msg: QueueMessage) -> None:
        return None  # the broker has no message delete

    async def acknowledge(self, runner_request_id: str, busy: bool) -> None:
        assert self.session_id is not None
        await self.client.acknowledge(self.session_id, runner_request_id,
                                      status="Busy" if busy else "Online", version=RUNNER_VERSION)


class ActionsQueue:
    v2 = False

    def __init__(self, api: ApiClient, ident: Identity, cred: OAuthCredential,
                 timings: "ListenerSection") -> None:
        self.ident = ident
        base = ident.runner.server_url
        self.conn = VssConnection(api, base if base.endswith("/") else base + "/", cred)
        self.service = ActionsService(self.conn, ident.runner.pool_id)
        self.timings = timings
        self.session: V1Session | None = None
        self.last_message_id: int | None = None
        self._key = key_from_rsaparams(ident.rsaparams)

    async def create_session(self) -> None:
        def unwrap(value: str, *, sha256: bool) -> bytes:
            return unwrap_session_key(self._key, value, sha256=sha256)

        self.session = await self.service.create_session(session_body(self.ident), unwrap)

    async def delete_session(self) -> None:
        if self.session is not None:
            sid, self.session = self.session.session_id, None
            await self.service.delete_session(sid)

    async def get_message(self, busy: bool) -> QueueMessage | None:
        assert self.session is not None
        status = "Busy" if busy else "Online"
        msg = await self.service.get_message(
            self.session, self.last_message_id, status=status, version=RUNNER_VERSION,
            timeout=self.timings.poll_timeout, max_bytes=self.timings.max_message_bytes)
        if msg is None or msg.message_type.lower() != "brokermigration":
            return msg
        return await self._follow_migration(msg, status)

    async def _follow_migration(self, msg: QueueMessage, status: str) -> QueueMessage | None:
        """`BrokerMigration` (§4.5): poll the broker once with this v1 session, then delete the
        v1 message; whatever the broker returns is handled like any message."""
        assert self.session is not None
        try:
            base = str(json.loads(msg.body)["brokerBaseUrl"])
        except (ValueError, KeyError, TypeError):
            raise MessageError(f"message {msg.message_id}: BrokerMigration without brokerBaseUrl",
                               msg.message_id) from None
        broker = BrokerClient(self.conn.api, base, self.conn.auth)
        try:
            return await broker.get_message(
                self.session.session_id, status=status, version=RUNNER_VERSION,
                timeout=self.timings.poll_timeout, max_bytes=self.timings.max_message_bytes)
        finally:
            try:
                await self.delete_message(msg)
            except GitHubError:
                pass  # the official runner ignores this failure too

    async def delete_message(self, msg: QueueMessage) -> None:
        self.last_message_id = msg.message_id
        if self.session is not None:
            await self.service.delete_message(self.session, msg.message_id)

    async def delete_message_id(self, message_id: int) -> None:
        self.last_message_id = message_id
        if self.session is not None:
            await self.service.delete_message(self.session, message_id)

    async def acknowledge(self, runner_request_id: str, busy: bool) -> None:
        return None


def make_queue(api: ApiClient, ident: Identity, cred: OAuthCredential,
               timings: "ListenerSection") -> BrokerQueue | ActionsQueue:
    if ident.runner.use_v2_flow and ident.runner.server_url_v2:
        return BrokerQueue(api, ident, cred, timings)
    return ActionsQueue(api, ident, cred, timings)


def make_credential(api: ApiClient, ident: Identity) -> OAuthCredential:
    c = ident.credentials
    url = c.authorization_url_v2 if c.enable_auth_migration and c.authorization_url_v2 else \
        c.authorization_url
    return OAuthCredential(api, key_from_rsaparams(ident.rsaparams), c.client_id, url,
                           fips=c.require_fips)
