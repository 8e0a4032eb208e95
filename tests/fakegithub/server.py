"""FakeGitHub: the server side of registration, JIT, broker, v1 actions service, run service and
results service, as runner-protocol.md §12 describes, on a real HTTPS server on 127.0.0.1.

It runs its own event loop in a background thread so that tests can drive the real CLI in
subprocesses and assert on what the fake recorded. Every request is recorded; `inject()` arms a
fault for the next N requests of a route (status + typed body, slow answer, dropped connection,
extra headers such as a near-zero rate limit).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import hashes, padding as sympadding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.fakegithub.ca import TestCA, make_ca
from tests.fakegithub.jobs import JobDef, build_message
from tests.fakegithub.state import Agent, FakeJob, Session, new_token, now

TENANT = "tenant1"
T = f"/_services/pipelines/{TENANT}"
DT = T + "/_apis/distributedtask"
FIRST_MESSAGE_ID = 1416402749619197803  # > 2**53, as github.com's

LOCATIONS = [
    ("a8c47e17-4d56-4a56-92bb-de7ea7dc65be", "pools", "/_apis/distributedtask/pools/{poolId}"),
    ("e298ef32-5878-4cab-993c-043836571f42", "agents", "/_apis/distributedtask/pools/{poolId}/agents/{agentId}"),
    ("134e239e-2df3-4794-a6f6-24f1f19ec8dc", "sessions", "/_apis/distributedtask/pools/{poolId}/sessions/{sessionId}"),
    ("c3a054f6-7a8a-49c0-944e-3a8e5d7adfd7", "messages", "/_apis/distributedtask/pools/{poolId}/messages/{messageId}"),
    ("fc825784-c92a-4299-9221-998a02d1b54f", "jobrequests", "/_apis/distributedtask/pools/{poolId}/jobrequests/{requestId}"),
    ("83597576-cc2c-453c-bea6-2882ae6a1653", "timelines", "/{scopeIdentifier}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/timelines/{timelineId}"),
    ("8893bc5b-35b2-4be7-83cb-99e683551db4", "records", "/{scopeIdentifier}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/timelines/{timelineId}/records"),
    ("858983e4-19bd-4c5e-864c-507b59b58b12", "feed", "/{scopeIdentifier}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/timelines/{timelineId}/records/{recordId}/feed"),
    ("46f5667d-263a-4684-91b1-dff7fdcf64e2", "logs", "/{scopeIdentifier}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/logs/{logId}"),
    ("7898f959-9cdf-4096-b29e-7f293031629e", "attachments", "/{scopeIdentifier}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/timelines/{timelineId}/records/{recordId}/attachments/{type}/{name}"),
    ("557624af-b29e-4c20-8ab0-0399d2204f3f", "events", "/{scopeIdentifier}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/events"),
]


def wrapped_exception(type_key: str, message: str) -> dict[str, Any]:
    return {"$id": "1", "innerException": None, "message": message,
            "typeName": f"GitHub.DistributedTask.WebApi.{type_key}, Sdk", "typeKey": type_key,
            "errorCode": 0, "eventId": 3000}


def broker_error(kind: str, status: int, message: str = "") -> dict[str, Any]:
    return {"source": "actions-broker-listener", "errorKind": kind, "statusCode": status,
            "errorMessage": message or kind}


def run_error(status: int, message: str) -> dict[str, Any]:
    return {"source": "actions-run-service", "statusCode": status, "errorMessage": message}


def jresp(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json",
                        headers=headers)


def vss_error(type_key: str, status: int, message: str = "") -> web.Response:
    return jresp(wrapped_exception(type_key, message or type_key), status)


def unauthorized() -> web.Response:
    return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})


def _ci(d: dict[str, Any], name: str, default: Any = None) -> Any:
    for k, v in d.items():
        if k.lower() == name.lower():
            return v
    return default


def _version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in v.split("."))
    except ValueError:
        return (0,)


@dataclass
class Fault:
    """A canned misbehaviour for the next `count` requests whose route name is `route`."""

    route: str
    status: int | None = 500  # None: answer normally (after `delay`, with `headers`)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 1
    delay: float = 0.0
    drop: bool = False  # close the connection without an answer
    skip: int = 0  # let this many matching requests through first
    effect: Callable[["FakeGitHub"], None] | None = None  # server-side state change it implies
    hits: int = 0
    seen: int = 0


@dataclass
class Recorded:
    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FakeGitHub:
    def __init__(self, tmp: Path, *, mode: str = "v2", admin_flow: bool = False,
                 poll_hold: float = 1.0, token_ttl: float = 3600.0, lock_ttl: float = 600.0,
                 acquire_timeout: float = 60.0, min_version: str | None = None,
                 fips: bool = True) -> None:
        assert mode in ("v1", "v2")
        self.tmp = tmp
        self.mode = mode
        self.admin_flow = admin_flow
        self.poll_hold = poll_hold
        self.token_ttl = token_ttl
        self.lock_ttl = lock_ttl
        self.acquire_timeout = acquire_timeout
        self.min_version = min_version
        self.fips = fips
        self.ca: TestCA = make_ca(tmp / "fake-ca")
        self.url = ""
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.agents: dict[int, Agent] = {}
        self.reg_tokens: dict[str, str] = {}  # token -> "register" | "remove"
        self.tenant_tokens: set[str] = set()
        self.access_tokens: dict[str, tuple[int, float]] = {}  # token -> (agent id, expiry)
        self.jtis: set[str] = set()
        self.sessions: dict[str, Session] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.job_queue: list[str] = []
        self.blobs: dict[str, bytes] = {}
        self.jit_keys: dict[int, rsa.RSAPrivateKey] = {}
        self._next_agent = 10
        self._next_message = FIRST_MESSAGE_ID
        self._next_request = 1000
        self._next_log = 1
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._watchdog: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- life cycle
    def start(self) -> "FakeGitHub":
        ready = threading.Event()

        failed: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._start())
            except BaseException as exc:  # surfaced by start() below
                failed.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="fakegithub", daemon=True)
        self._thread.start()
        if not ready.wait(15) or failed:
            raise RuntimeError(f"fake GitHub did not start: {failed[:1]}")
        return self

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.ca.cert_pem, self.ca.key_pem)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"https://127.0.0.1:{port}"
        self._watchdog = asyncio.create_task(self._watch_locks())

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._watchdog:
                self._watchdog.cancel()
            for s in self.sessions.values():
                s.event.set()
            if self._runner:
                await self._runner.cleanup()

        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(15)
        self._thread = None
        self.loop.close()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the fake's loop (all state is owned by it) and return its result."""
        async def wrap() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(15)

    # ----------------------------------------------------------------- test API
    @property
    def repo_url(self) -> str:
        return f"{self.url}/octo/repo"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def token_url(self) -> str:
        return f"{self.url}{T}/_apis/oauth2/token"

    def registration_token(self, kind: str = "register") -> str:
        tok = new_token("AABC" if kind == "register" else "AREM")
        self.call(lambda: self.reg_tokens.__setitem__(tok, kind))
        return tok

    def inject(self, route: str, status: int | None = 500, *, body: Any = None, count: int = 1,
               delay: float = 0.0, drop: bool = False, headers: dict[str, str] | None = None,
               skip: int = 0, effect: Callable[["FakeGitHub"], None] | None = None) -> Fault:
        f = Fault(route, status, body, dict(headers or {}), count, delay, drop, skip, effect)
        self.call(lambda: self.faults.append(f))
        return f

    def queue_job(self, job: JobDef, *, duplicate: int = 0) -> FakeJob:
        def add() -> FakeJob:
            fj = FakeJob(definition=job, id=job.job_id, plan_id=job.plan_id,
                         timeline_id=job.plan_id if self.mode == "v2" else str(uuid.uuid4()),
                         job_token=new_token("jt"), request_id=self._next_request,
                         runner_request_id=str(uuid.uuid4()), duplicate=duplicate)
            self._next_request += 1
            fj.message = build_message(
                job, v2=self.mode == "v2",
                system_url=f"{self.url}/run/1/" if self.mode == "v2" else f"{self.url}{T}/",
                results_url=f"{self.url}/results/", job_token=fj.job_token,
                request_id=fj.request_id, github_token=new_token("ghs"),
                feed_url=(self.url.replace("https://", "wss://") + "/_ws/ingest.sock")
                if self.mode == "v2" else "")
            if self.mode == "v1":
                fj.message["timeline"]["id"] = fj.timeline_id
            self.jobs[fj.id] = fj
            self.job_queue.append(fj.id)
            self._wake_all()
            return fj

        return self.call(add)

    def cancel_job(self, job_id: str) -> None:
        def cancel() -> None:
            job = self.jobs[job_id]
            sess = self._session_of(job.agent_id)
            if sess is None:
                raise RuntimeError(f"job {job_id} has no live session")
            self._push(sess, "JobCancellation", json.dumps({"jobId": job_id, "timeout": "00:05:00"}))

        self.call(cancel)

    def push_message(self, agent_name: str, message_type: str, body: str, *,
                     wrong_key: bool = False) -> int:
        """Put a raw message on an agent's queue (malformed/unknown/oversized tests)."""
        def push() -> int:
            agent = next(a for a in self.agents.values() if a.name == agent_name)
            sess = self._session_of(agent.id)
            if sess is None:
                raise RuntimeError(f"{agent_name} has no session")
            return self._push(sess, message_type, body, wrong_key=wrong_key)

        return self.call(push)

    def generate_jit(self, name: str, labels: list[str]) -> str:
        async def gen() -> str:
            return self._make_jit(name, labels)["encoded_jit_config"]

        return asyncio.run_coroutine_threadsafe(gen(), self.loop).result(15)

    def recorded(self, route: str | None = None) -> list[Recorded]:
        return self.call(lambda: [r for r in self.requests if route is None or r.route == route])

    def agent_names(self) -> list[str]:
        return self.call(lambda: sorted(a.name for a in self.agents.values() if not a.deleted))

    def expire_sessions(self) -> None:
        """Forget every session (what the server did when it says a session is invalid)."""
        for s in self.sessions.values():
            s.deleted = True
            s.event.set()

    def migrate_to_broker(self, agent_name: str) -> None:
        """Send this agent's v1 session to the broker (BrokerMigration, §4.5): from now on its
        v1 polls answer BrokerMigration and jobs arrive as RunnerJobRequest on the broker."""
        def go() -> None:
            agent = next(a for a in self.agents.values() if a.name == agent_name)
            sess = self._session_of(agent.id)
            assert sess is not None and not sess.v2
            sess.migrated_to = f"{self.url}/broker/"
            sess.event.set()

        self.call(go)

    def live_sessions(self) -> list[Session]:
        return self.call(lambda: [s for s in self.sessions.values() if not s.deleted])

    def wait(self, pred: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():  # pred reads through call() itself where it needs consistency
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    # ----------------------------------------------------------------- plumbing
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        route = request.match_info.route.name or "unknown"
        body = await request.read()
        self.requests.append(Recorded(route, request.method, request.path, dict(request.query),
                                      dict(request.headers), body, now()))
        fault = None
        for f in self.faults:
            if f.route == route and f.hits < f.count:
                f.seen += 1
                if f.seen > f.skip:
                    fault = f
                    break
        extra: dict[str, str] = {}
        if fault is not None:
            fault.hits += 1
            if fault.effect is not None:
                fault.effect(self)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError()
            if fault.status is not None:
                if fault.body is None:
                    return web.Response(status=fault.status, headers=fault.headers)
                return jresp(fault.body, fault.status, fault.headers)
            extra = fault.headers
        resp = await handler(request)
        resp.headers.update(extra)
        return resp

    def _routes(self, app: web.Application) -> None:
        r = app.router
        api = "/api/v3"
        scope = api + "/repos/{owner}/{repo}"
        add = r.add_route
        add("POST", api + "/actions/runner-registration", self.h_runner_registration, name="runner-registration")
        add("POST", scope + "/actions/runners/registration-token", self.h_reg_token, name="registration-token")
        add("POST", scope + "/actions/runners/remove-token", self.h_reg_token, name="remove-token")
        add("POST", scope + "/actions/runners/generate-jitconfig", self.h_jit, name="jitconfig")
        add("GET", scope + "/actions/runner-groups", self.h_runner_groups, name="runner-groups")
        add("GET", scope + "/actions/runners", self.h_runners_list, name="runners-list")
        add("DELETE", scope + "/actions/runners/{id}", self.h_runners_delete, name="runners-delete")
        add("POST", api + "/actions/runners/register", self.h_runners_register, name="runners-register")
        add("GET", T + "/_apis/connectionData", self.h_connection_data, name="connectionData")
        add("POST", T + "/_apis/oauth2/token", self.h_token, name="token")
        add("GET", DT + "/pools", self.h_pools, name="pools")
        add("GET", DT + "/pools/{poolId}", self.h_pools, name="pool")
        add("GET", DT + "/pools/{poolId}/agents", self.h_agents_get, name="agents-get")
        add("POST", DT + "/pools/{poolId}/agents", self.h_agents_add, name="agents-add")
        add("PUT", DT + "/pools/{poolId}/agents/{agentId}", self.h_agents_add, name="agents-replace")
        add("DELETE", DT + "/pools/{poolId}/agents/{agentId}", self.h_agents_delete, name="agents-delete")
        add("POST", DT + "/pools/{poolId}/sessions", self.h_session_create, name="session-create")
        add("DELETE", DT + "/pools/{poolId}/sessions/{sessionId}", self.h_session_delete, name="session-delete")
        add("GET", DT + "/pools/{poolId}/messages", self.h_messages, name="messages")
        add("DELETE", DT + "/pools/{poolId}/messages/{messageId}", self.h_message_delete, name="message-delete")
        add("PATCH", DT + "/pools/{poolId}/jobrequests/{requestId}", self.h_jobrequest, name="jobrequests")
        plans = T + "/{scope}/_apis/distributedtask/hubs/{hub}/plans/{planId}"
        add("PATCH", plans + "/timelines/{timelineId}/records", self.h_records, name="records")
        add("POST", plans + "/timelines/{timelineId}/records/{recordId}/feed", self.h_feed, name="feed")
        add("POST", plans + "/logs", self.h_log_create, name="logs-create")
        add("POST", plans + "/logs/{logId}", self.h_log_upload, name="logs-upload")
        add("PUT", plans + "/timelines/{timelineId}/records/{recordId}/attachments/{type}/{name}",
            self.h_attachment, name="attachments")
        add("POST", plans + "/events", self.h_events, name="events")
        add("POST", "/broker/session", self.h_broker_session, name="broker-session")
        add("DELETE", "/broker/session", self.h_broker_session_delete, name="broker-session-delete")
        add("GET", "/broker/message", self.h_broker_message, name="broker-message")
        add("POST", "/broker/acknowledge", self.h_acknowledge, name="acknowledge")
        add("POST", "/run/{n}/acquirejob", self.h_acquire, name="acquirejob")
        add("POST", "/run/{n}/renewjob", self.h_renew, name="renewjob")
        add("POST", "/run/{n}/completejob", self.h_complete, name="completejob")
        add("POST", "/results/twirp/{service}/{method}", self.h_results, name="results")
        add("PUT", "/blob/{tail:.*}", self.h_blob, name="blob")
        add("GET", "/_ws/ingest.sock", self.h_ws_feed, name="ws-feed")

    def _wake_all(self) -> None:
        for s in self.sessions.values():
            s.event.set()

    def _session_of(self, agent_id: int | None) -> Session | None:
        for s in self.sessions.values():
            if s.agent_id == agent_id and not s.deleted:
                return s
        return None

    def _push(self, sess: Session, mtype: str, body: str, *, wrong_key: bool = False) -> int:
        mid = self._next_message
        self._next_message += 1
        msg: dict[str, Any] = {"messageId": mid, "messageType": mtype, "body": body}
        if not sess.v2 and sess.aes_key is not None:
            key = os.urandom(32) if wrong_key else sess.aes_key
            iv = os.urandom(16)
            padder = sympadding.PKCS7(128).padder()
            plain = padder.update(b"\xef\xbb\xbf" + body.encode()) + padder.finalize()
            enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            msg["iv"] = base64.b64encode(iv).decode()
            msg["body"] = base64.b64encode(enc.update(plain) + enc.finalize()).decode()
        sess.queue.append(msg)
        sess.event.set()
        return mid

    def _bearer(self, request: web.Request) -> str | None:
        h = request.headers.get("Authorization", "")
        return h[7:] if h.startswith("Bearer ") else None

    def _runner_agent(self, request: web.Request) -> Agent | None:
        tok = self._bearer(request)
        if tok is None or tok not in self.access_tokens:
            return None
        agent_id, exp = self.access_tokens[tok]
        if exp < now():
            return None
        return self.agents.get(agent_id)

    def _job_by_token(self, request: web.Request) -> FakeJob | None:
        tok = self._bearer(request)
        return next((j for j in self.jobs.values() if tok and j.job_token == tok), None)

    # ----------------------------------------------------------------- registration
    async def h_reg_token(self, request: web.Request) -> web.Response:
        kind = "remove" if request.path.endswith("remove-token") else "register"
        tok = new_token("AABC" if kind == "register" else "AREM")
        self.reg_tokens[tok] = kind
        return jresp({"token": tok, "expires_at": "2099-01-01T00:00:00.000+00:00"}, 201)

    async def h_runner_registration(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        tok = auth[len("RemoteAuth "):] if auth.startswith("RemoteAuth ") else ""
        body = await request.json()
        event = body.get("runner_event")
        if self.reg_tokens.get(tok) != event:
            return web.Response(status=404)
        if not str(body.get("url", "")).startswith(self.url):
            return web.Response(status=404)
        tenant_tok = new_token("tt")
        self.tenant_tokens.add(tenant_tok)
        return jresp({"url": f"{self.url}{T}/", "token_schema": "OAuthAccessToken",
                      "token": tenant_tok, "use_v2_flow": self.admin_flow})

    def _tenant_ok(self, request: web.Request) -> bool:
        tok = self._bearer(request)
        return tok is not None and (tok in self.tenant_tokens or self._runner_agent(request) is not None)

    def _remote_auth_ok(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        tok = auth.split(" ", 1)[1] if " " in auth else ""
        return tok in self.reg_tokens or tok in self.tenant_tokens

    async def h_connection_data(self, request: web.Request) -> web.Response:
        defs = [{"serviceType": "distributedtask", "identifier": guid, "displayName": name,
                 "relativeToSetting": 3, "relativePath": path, "resourceVersion": 1,
                 "minVersion": "1.0", "maxVersion": "12.0", "releasedVersion": "0.0"}
                for guid, name, path in LOCATIONS]
        return jresp({"instanceId": "4f2b6b5a-0000-4000-8000-000000000001",
                      "locationServiceData": {"serviceOwner": "0000005a-0000-8888-8000-000000000000",
                                              "defaultAccessMappingMoniker": "ScaleUnitMapping",
                                              "lastChangeId": 1, "lastChangeId64": 1,
                                              "clientCacheFresh": True, "serviceDefinitions": defs}})

    async def h_pools(self, request: web.Request) -> web.Response:
        if not self._tenant_ok(request):
            return unauthorized()
        pools = [{"id": 1, "name": "Default", "isHosted": False, "isInternal": True, "size": 0},
                 {"id": 2, "name": "gpu-group", "isHosted": False, "isInternal": False, "size": 0},
                 {"id": 3, "name": "GitHub Actions", "isHosted": True, "isInternal": False}]
        return jresp({"count": len(pools), "value": pools})

    def _agent_json(self, a: Agent) -> dict[str, Any]:
        props: dict[str, Any] = {"RequireFipsCryptography": {"$type": "System.Boolean", "$value": a.fips}}
        if self.mode == "v2":
            props["ServerUrlV2"] = {"$type": "System.String", "$value": f"{self.url}/broker/"}
            props["UseV2Flow"] = {"$type": "System.Boolean", "$value": True}
        return {
            "authorization": {"authorizationUrl": self.token_url, "clientId": a.client_id},
            "createdOn": "2026-06-30T16:07:26.48Z", "enabled": True, "ephemeral": a.ephemeral,
            "id": a.id, "labels": [{"id": i + 1, "name": n, "type": "user"} for i, n in enumerate(a.labels)],
            "maxParallelism": 1, "name": a.name, "properties": props,
            "provisioningState": "Provisioned", "status": "offline", "version": a.version,
        }

    async def h_agents_get(self, request: web.Request) -> web.Response:
        if not self._tenant_ok(request):
            return unauthorized()
        name = request.query.get("agentName", "")
        found = [self._agent_json(a) for a in self.agents.values()
                 if not a.deleted and (not name or a.name.lower() == name.lower())]
        return jresp({"count": len(found), "value": found})

    def _new_agent(self, name: str, labels: list[str], pub: rsa.RSAPublicKey, ephemeral: bool,
                   version: str, pool_id: int = 1, agent_id: int | None = None) -> Agent:
        if agent_id is None:
            self._next_agent += 1
            agent_id = self._next_agent
        a = Agent(agent_id, name, labels, pub, str(uuid.uuid4()), ephemeral, pool_id, version,
                  fips=self.fips)
        self.agents[a.id] = a
        return a

    async def h_agents_add(self, request: web.Request) -> web.Response:
        if not self._tenant_ok(request):
            return unauthorized()
        body = await request.json()
        pk = _ci(_ci(body, "authorization") or {}, "publicKey") or {}
        try:
            e = int.from_bytes(base64.b64decode(_ci(pk, "exponent")), "big")
            n = int.from_bytes(base64.b64decode(_ci(pk, "modulus")), "big")
            pub = rsa.RSAPublicNumbers(e, n).public_key()
        except (TypeError, ValueError):
            return jresp(wrapped_exception("ArgumentException", "bad public key"), 400)
        if pub.key_size < 2048:
            return jresp(wrapped_exception("ArgumentException", "key too small"), 400)
        name = str(_ci(body, "name"))
        labels = [str(_ci(x, "name")) for x in _ci(body, "labels") or []]
        replace_id = int(request.match_info["agentId"]) if "agentId" in request.match_info else None
        if replace_id is None and any(a.name == name and not a.deleted for a in self.agents.values()):
            return vss_error("TaskAgentExistsException", 409, f"agent {name} exists")
        a = self._new_agent(name, labels, pub, bool(_ci(body, "ephemeral")), str(_ci(body, "version")),
                            int(request.match_info["poolId"]), replace_id)
        return jresp(self._agent_json(a))

    async def h_agents_delete(self, request: web.Request) -> web.Response:
        if not self._tenant_ok(request):
            return unauthorized()
        a = self.agents.get(int(request.match_info["agentId"]))
        if a is None or a.deleted:
            return vss_error("TaskAgentNotFoundException", 404)
        a.deleted = True
        return web.Response(status=204)

    async def h_runner_groups(self, request: web.Request) -> web.Response:
        if not self._remote_auth_ok(request):
            return web.Response(status=401)
        return jresp({"total_count": 2, "runner_groups": [
            {"id": 1, "name": "Default", "default": True, "is_hosted": False},
            {"id": 2, "name": "gpu-group", "default": False, "is_hosted": False}]})

    async def h_runners_list(self, request: web.Request) -> web.Response:
        if not self._remote_auth_ok(request):
            return web.Response(status=401)
        name = request.query.get("name")
        rs = [{"id": a.id, "name": a.name, "os": "linux", "status": "offline", "busy": a.busy,
               "labels": [{"name": x} for x in a.labels]}
              for a in self.agents.values() if not a.deleted and (name is None or a.name == name)]
        return jresp({"total_count": len(rs), "runners": rs})

    async def h_runners_delete(self, request: web.Request) -> web.Response:
        if not self._remote_auth_ok(request):
            return web.Response(status=401)
        a = self.agents.get(int(request.match_info["id"]))
        if a is None or a.deleted:
            return web.Response(status=404)
        a.deleted = True
        return web.Response(status=204)

    async def h_runners_register(self, request: web.Request) -> web.Response:
        if not self._remote_auth_ok(request):
            return web.Response(status=401)
        body = await request.json()
        m = re.search(r"<Modulus>(.*)</Modulus><Exponent>(.*)</Exponent>", str(body.get("public_key")))
        if not m:
            return jresp({"message": "public_key is required"}, 422)
        pub = rsa.RSAPublicNumbers(int.from_bytes(base64.b64decode(m.group(2)), "big"),
                                   int.from_bytes(base64.b64decode(m.group(1)), "big")).public_key()
        a = self._new_agent(body["name"], [x["name"] for x in body.get("labels", [])], pub,
                            bool(body.get("ephemeral")), str(body.get("version")),
                            int(body.get("group_id", 1)),
                            int(body["runner_id"]) if body.get("replace") else None)
        return jresp({"id": a.id, "name": a.name, "authorization": {
            "authorization_url": self.token_url, "server_url": f"{self.url}/broker/",
            "client_id": a.client_id}})

    def _make_jit(self, name: str, labels: list[str]) -> dict[str, Any]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        a = self._new_agent(name, labels, key.public_key(), True, "")
        self.jit_keys[a.id] = key

        def b64i(i: int) -> str:
            return base64.b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).decode()

        pn = key.private_numbers()
        runner = {"AgentId": str(a.id), "AgentName": name, "PoolId": "1", "PoolName": "Default",
                  "ServerUrl": f"{self.url}{T}/", "GitHubUrl": self.repo_url, "WorkFolder": "_work",
                  "Ephemeral": "true", "DisableUpdate": "true",
                  "UseV2Flow": "True" if self.mode == "v2" else "False",
                  "ServerUrlV2": f"{self.url}/broker/" if self.mode == "v2" else ""}
        creds = {"Scheme": "OAuth", "Data": {"ClientId": a.client_id, "AuthorizationUrl": self.token_url,
                                             "RequireFipsCryptography": "True"}}
        params = {"d": b64i(pn.d), "dp": b64i(pn.dmp1), "dq": b64i(pn.dmq1),
                  "exponent": b64i(pn.public_numbers.e), "inverseQ": b64i(pn.iqmp),
                  "modulus": b64i(pn.public_numbers.n), "p": b64i(pn.p), "q": b64i(pn.q)}
        files = {k: base64.b64encode(json.dumps(v).encode()).decode()
                 for k, v in ((".runner", runner), (".credentials", creds),
                              (".credentials_rsaparams", params))}
        blob = base64.b64encode(json.dumps(files).encode()).decode()
        return {"runner": {"id": a.id, "name": name, "os": "linux", "status": "offline",
                           "busy": False, "labels": [{"name": x} for x in labels]},
                "encoded_jit_config": blob}

    async def h_jit(self, request: web.Request) -> web.Response:
        if not self._bearer(request):
            return web.Response(status=401)
        body = await request.json()
        if "runner_group_id" not in body or "labels" not in body:
            return jresp({"message": "runner_group_id and labels are required"}, 422)
        if any(a.name == body.get("name") and not a.deleted for a in self.agents.values()):
            return jresp({"message": "Already exists"}, 409)
        return jresp(self._make_jit(str(body["name"]), list(body["labels"])), 201)

    # ----------------------------------------------------------------- OAuth
    async def h_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "client_credentials" or form.get(
                "client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return jresp({"error": "unsupported_grant_type"}, 400)
        assertion = str(form.get("client_assertion", ""))
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return jresp({"error": "invalid_client", "error_description": "malformed assertion"}, 400)
        agent = next((a for a in self.agents.values() if a.client_id == unverified.get("sub")), None)
        if agent is None or agent.deleted:
            return jresp({"error": "invalid_client", "error_description": "unknown client"}, 400)
        if header.get("alg") not in ("PS256", "RS256") or (agent.fips and header.get("alg") != "PS256"):
            return jresp({"error": "invalid_client", "error_description": "wrong algorithm"}, 400)
        try:
            claims = jwt.decode(assertion, agent.public_key, algorithms=[header["alg"]],
                                audience=self.token_url, leeway=300,
                                options={"require": ["exp", "nbf", "sub", "iss", "aud", "jti"]})
        except jwt.PyJWTError as exc:
            return jresp({"error": "invalid_client", "error_description": str(exc)}, 400)
        if claims["iss"] != claims["sub"] or claims["jti"] in self.jtis:
            return jresp({"error": "invalid_client", "error_description": "replayed assertion"}, 400)
        self.jtis.add(claims["jti"])
        tok = new_token("rt")
        self.access_tokens[tok] = (agent.id, now() + self.token_ttl)
        return jresp({"access_token": tok, "expires_in": int(self.token_ttl), "token_type": "JWT"})

    # ----------------------------------------------------------------- sessions & polling
    def _version_ok(self, version: str) -> bool:
        return self.min_version is None or _version_tuple(version) >= _version_tuple(self.min_version)

    def _next_job_for(self, agent: Agent) -> FakeJob | None:
        if agent.busy:
            return None
        for jid in self.job_queue:
            job = self.jobs[jid]
            if job.state == "queued" and {x.lower() for x in job.definition.runs_on} <= agent.label_set():
                return job
        return None

    def _assign(self, sess: Session, agent: Agent, job: FakeJob) -> None:
        job.state = "assigned"
        job.agent_id = agent.id
        job.agent_name = agent.name
        job.assigned_at = now()
        job.runner_request_id = str(uuid.uuid4())  # each assignment is a new request
        agent.busy = True
        self.job_queue.remove(job.id)
        for _ in range(1 + job.duplicate):
            job.deliveries += 1
            if sess.migrated_to:
                body = {"id": job.request_id, "runner_request_id": job.runner_request_id,
                        "run_service_url": f"{self.url}/run/1/", "should_acknowledge": True}
                sess.broker_queue.append({"messageId": self._next_message,
                                          "messageType": "RunnerJobRequest",
                                          "body": json.dumps(body)})
                self._next_message += 1
                sess.event.set()
            elif sess.v2:
                body = {"id": job.request_id, "runner_request_id": job.runner_request_id,
                        "run_service_url": f"{self.url}/run/1/",
                        "billing_owner_id": "O_kgDOEbddog", "should_acknowledge": True}
                self._push(sess, "RunnerJobRequest", json.dumps(body))
            else:
                job.locked_until = now() + self.lock_ttl
                self._push(sess, "PipelineAgentJobRequest", json.dumps(job.message))

    def _migration_message(self, sess: Session) -> dict[str, Any]:
        self._push(sess, "BrokerMigration", json.dumps({"brokerBaseUrl": sess.migrated_to}))
        return sess.queue[0]

    async def _poll(self, sess: Session, agent: Agent, status: str,
                    via_broker: bool = False) -> dict[str, Any] | None:
        sess.polls += 1
        end = time.monotonic() + self.poll_hold
        while True:
            if sess.deleted:
                return None
            queue = sess.broker_queue if via_broker else sess.queue
            if sess.migrated_to and not via_broker and not sess.queue:
                return self._migration_message(sess)
            if not queue and status.lower() != "busy":
                job = self._next_job_for(agent)
                if job is not None:
                    self._assign(sess, agent, job)
            if queue:
                return queue.popleft() if (sess.v2 or via_broker) else queue[0]
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            sess.event.clear()
            try:
                await asyncio.wait_for(sess.event.wait(), remaining)
            except asyncio.TimeoutError:
                return None

    def _session_body(self, sess: Session, agent: Agent, body: dict[str, Any]) -> dict[str, Any]:
        return {"sessionId": sess.id, "ownerName": sess.owner, "agent": _ci(body, "agent"),
                "useFipsEncryption": True}

    async def h_session_create(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return unauthorized()
        if agent.deleted:
            return vss_error("TaskAgentNotFoundException", 404)
        if self._session_of(agent.id) is not None:
            return vss_error("TaskAgentSessionConflictException", 409, "a session is active")
        body = await request.json()
        sess = Session(str(uuid.uuid4()), agent.id, v2=False, aes_key=os.urandom(32),
                       owner=str(_ci(body, "ownerName") or ""))
        self.sessions[sess.id] = sess
        wrapped = agent.public_key.encrypt(
            sess.aes_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        out = self._session_body(sess, agent, body)
        out["encryptionKey"] = {"encrypted": True, "value": base64.b64encode(wrapped).decode()}
        return jresp(out)

    async def h_session_delete(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return unauthorized()
        sess = self.sessions.get(request.match_info["sessionId"])
        if sess is None or sess.agent_id != agent.id:
            return vss_error("TaskAgentSessionExpiredException", 404)
        sess.deleted = True
        sess.event.set()
        return web.Response(status=204)

    async def h_messages(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return unauthorized()
        if agent.deleted:
            return vss_error("TaskAgentNotFoundException", 404)
        sess = self.sessions.get(request.query.get("sessionId", ""))
        if sess is None or sess.deleted or sess.agent_id != agent.id:
            return vss_error("TaskAgentSessionExpiredException", 404)
        last = request.query.get("lastMessageId")
        if last and sess.queue and str(sess.queue[0]["messageId"]) == last:
            sess.queue.popleft()  # the official server treats lastMessageId as an implicit ack
        msg = await self._poll(sess, agent, request.query.get("status", "Online"))
        if msg is None:
            return web.Response(status=202)
        return jresp(msg)

    async def h_message_delete(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return unauthorized()
        sess = self.sessions.get(request.query.get("sessionId", ""))
        mid = int(request.match_info["messageId"])
        if sess is None or not sess.queue or sess.queue[0]["messageId"] != mid:
            return vss_error("TaskAgentMessageNotFoundException", 404)
        sess.queue.popleft()
        return web.Response(status=204)

    async def h_broker_session(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return web.Response(status=401)
        if agent.deleted:
            return jresp(broker_error("RunnerNotFound", 404), 404)
        if self._session_of(agent.id) is not None:
            return jresp(broker_error("RunnerSessionConflict", 409), 409)
        body = await request.json()
        sess = Session(str(uuid.uuid4()), agent.id, v2=True, owner=str(_ci(body, "ownerName") or ""))
        self.sessions[sess.id] = sess
        return jresp({"assignmentQueued": False, "orchestrationId": "", "ownerName": sess.owner,
                      "sessionId": sess.id}, 201)

    async def h_broker_session_delete(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return web.Response(status=401)
        sess = self._session_of(agent.id)
        if sess is not None:
            sess.deleted = True
            sess.event.set()
        return web.Response(status=204)

    async def h_broker_message(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return web.Response(status=401)
        if agent.deleted:
            return jresp(broker_error("RunnerNotFound", 404), 404)
        if not self._version_ok(request.query.get("runnerVersion", "")):
            return jresp(broker_error("RunnerVersionTooOld", 403), 403)
        sess = self.sessions.get(request.query.get("sessionId", ""))
        if sess is None or sess.deleted or sess.agent_id != agent.id:
            return jresp(broker_error("RunnerSessionInvalid", 400), 400)
        msg = await self._poll(sess, agent, request.query.get("status", "Online"),
                               via_broker=bool(sess.migrated_to))
        if msg is None:
            return web.Response(status=202)
        return jresp(msg)

    async def h_acknowledge(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return web.Response(status=401)
        body = await request.json()
        rid = _ci(body, "runnerRequestId")
        if not any(j.runner_request_id == rid for j in self.jobs.values()):
            return jresp(broker_error("AcknowledgeJobNotFound", 404), 404)
        return jresp({})

    # ----------------------------------------------------------------- run service (v2)
    async def h_acquire(self, request: web.Request) -> web.Response:
        agent = self._runner_agent(request)
        if agent is None:
            return web.Response(status=401)
        body = await request.json()
        job = next((j for j in self.jobs.values() if j.runner_request_id == _ci(body, "jobMessageId")), None)
        if job is None:
            return jresp(run_error(404, "job not found"), 404)
        if job.agent_id != agent.id or job.state != "assigned":
            return jresp(run_error(409, "job assignment is invalid"), 409)
        job.state = "acquired"
        job.acquisitions += 1
        job.locked_until = now() + self.lock_ttl
        return jresp(job.message)

    async def h_renew(self, request: web.Request) -> web.Response:
        job = self._job_by_token(request)
        if job is None:
            return web.Response(status=401)
        if job.state == "completed":
            return jresp(run_error(404, "job not found"), 404)
        job.renewals += 1
        job.locked_until = now() + self.lock_ttl
        return jresp({"lockedUntil": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.locked_until))})

    def _finish(self, job: FakeJob, conclusion: str, outputs: dict[str, Any]) -> None:
        job.completions += 1
        if job.state == "completed":
            return
        job.state = "completed"
        job.conclusion = conclusion
        job.outputs = outputs
        agent = self.agents.get(job.agent_id or -1)
        if agent is not None:
            agent.busy = False
            if agent.ephemeral:
                agent.deleted = True
        job.done.set()
        self._wake_all()

    async def h_complete(self, request: web.Request) -> web.Response:
        job = self._job_by_token(request)
        if job is None:
            return web.Response(status=401)
        if job.state == "completed" and job.lost:
            return jresp(run_error(404, "job not found"), 404)
        body = await request.json()
        job.step_results = list(body.get("stepResults") or [])
        job.annotations = list(body.get("annotations") or [])
        self._finish(job, str(body.get("conclusion")), dict(body.get("outputs") or {}))
        return web.Response(status=204)

    async def _watch_locks(self) -> None:
        """Fail jobs whose lock lapsed (lost communication); re-queue unacquired v2 jobs."""
        while True:
            await asyncio.sleep(0.2)
            t = now()
            for job in list(self.jobs.values()):
                if job.state == "acquired" or (job.state == "assigned" and self.mode == "v1"):
                    if job.locked_until and job.locked_until < t:
                        job.lost = True
                        self._finish(job, "failed", {})
                elif job.state == "assigned" and t - job.assigned_at > self.acquire_timeout:
                    agent = self.agents.get(job.agent_id or -1)
                    if agent is not None:
                        agent.busy = False
                    job.state, job.agent_id = "queued", None
                    self.job_queue.append(job.id)
                    self._wake_all()

    # ----------------------------------------------------------------- results (v2)
    async def h_results(self, request: web.Request) -> web.Response:
        job = self._job_by_token(request)
        if job is None:
            return web.Response(status=401)
        body = await request.json()
        method = request.match_info["method"]
        if body.get("workflow_job_run_backend_id") not in (None, job.id):
            return jresp({"code": "invalid_argument", "msg": "job id mismatch"}, 400)
        if method == "WorkflowStepsUpdate":
            for s in body.get("steps", []):
                sid = s["external_id"]
                if sid not in job.step_updates:
                    job.step_order.append(sid)
                job.step_updates[sid] = s
            return jresp({"ok": True})
        base = f"{self.url}/blob/{job.plan_id}/{job.id}"
        if method == "GetStepLogsSignedBlobURL":
            return jresp({"logs_url": f"{base}/step-{body['step_backend_id']}.txt?sig=abc&se=x",
                          "blob_storage_type": "BLOB_STORAGE_TYPE_AZURE", "soft_size_limit": "1048576"})
        if method == "GetJobLogsSignedBlobURL":
            return jresp({"logs_url": f"{base}/job-logs.txt?sig=abc", "soft_size_limit": "1048576",
                          "blob_storage_type": "BLOB_STORAGE_TYPE_AZURE"})
        if method == "GetStepSummarySignedBlobURL":
            return jresp({"summary_url": f"{base}/summary-{body['step_backend_id']}.md?sig=abc",
                          "soft_size_limit": "1048576", "blob_storage_type": "BLOB_STORAGE_TYPE_AZURE"})
        if method == "CreateStepLogsMetadata":
            data = self.blobs.get(f"{job.plan_id}/{job.id}/step-{body['step_backend_id']}.txt", b"")
            job.step_logs[body["step_backend_id"]] = data.decode("utf-8", "replace")
            return jresp({"ok": True})
        if method == "CreateJobLogsMetadata":
            job.job_log = self.blobs.get(f"{job.plan_id}/{job.id}/job-logs.txt", b"").decode()
            return jresp({"ok": True})
        if method == "CreateStepSummaryMetadata":
            data = self.blobs.get(f"{job.plan_id}/{job.id}/summary-{body['step_backend_id']}.md", b"")
            job.summaries[body["step_backend_id"]] = data.decode()
            return jresp({"ok": True})
        return jresp({"code": "bad_route", "msg": method}, 404)

    async def h_blob(self, request: web.Request) -> web.Response:
        if request.query.get("sig") != "abc":
            return web.Response(status=403)
        path = request.match_info["tail"]
        data = await request.read()
        btype = request.headers.get("x-ms-blob-type")
        if request.query.get("comp") == "appendblock":
            if path not in self.blobs:
                return web.Response(status=404)
            self.blobs[path] += data
        elif btype in ("BlockBlob", "AppendBlob"):
            self.blobs[path] = data
        else:
            return web.Response(status=400, text="x-ms-blob-type required")
        return web.Response(status=201)

    async def h_ws_feed(self, request: web.Request) -> web.StreamResponse:
        """The live console websocket: Bearer job token, frames = feed JSON."""
        job = self._job_by_token(request)
        if job is None:
            return web.Response(status=401)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != web.WSMsgType.TEXT:
                continue
            body = json.loads(msg.data)
            for line in body.get("value", []):
                job.feed.append((str(body.get("stepId")), line))
        return ws

    # ----------------------------------------------------------------- v1 job reporting
    def _v1_job(self, request: web.Request) -> FakeJob | None:
        job = self._job_by_token(request)
        if job is None or job.plan_id != request.match_info.get("planId", job.plan_id):
            return None
        return job

    async def h_jobrequest(self, request: web.Request) -> web.Response:
        rid = int(request.match_info["requestId"])
        job = next((j for j in self.jobs.values() if j.request_id == rid), None)
        agent = self._runner_agent(request)
        if agent is None and (job is None or self._job_by_token(request) is not job):
            return unauthorized()
        if job is None or job.state == "completed":
            return vss_error("TaskAgentJobNotFoundException", 404)
        body = await request.json()
        if _ci(body, "result"):
            self._finish(job, str(_ci(body, "result")), {})
        else:
            job.renewals += 1
            if job.state == "assigned":
                job.state = "acquired"
            job.locked_until = now() + self.lock_ttl
        return jresp({"requestId": rid, "lockedUntil": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.locked_until)), "agentId": job.agent_id})

    async def h_records(self, request: web.Request) -> web.Response:
        job = self._v1_job(request)
        if job is None:
            return unauthorized()
        body = await request.json()
        out = []
        for rec in body.get("value", []):
            rid = rec["id"]
            merged = job.records.setdefault(rid, {})
            merged.update({k: v for k, v in rec.items() if v is not None})
            if merged.get("type") == "Task" and rid != job.id:
                if rid not in job.step_updates:
                    job.step_order.append(rid)
                job.step_updates[rid] = merged
            out.append(merged)
        return jresp({"count": len(out), "value": out})

    async def h_feed(self, request: web.Request) -> web.Response:
        job = self._v1_job(request)
        if job is None:
            return unauthorized()
        body = await request.json()
        for line in body.get("value", []):
            job.feed.append((str(body.get("stepId")), line))
        return web.Response(status=204)

    async def h_log_create(self, request: web.Request) -> web.Response:
        job = self._v1_job(request)
        if job is None:
            return unauthorized()
        body = await request.json()
        lid = self._next_log
        self._next_log += 1
        job.logs[lid] = b""
        return jresp({"id": lid, "path": body.get("path"), "createdOn": "2026-01-01T00:00:00Z"})

    async def h_log_upload(self, request: web.Request) -> web.Response:
        job = self._v1_job(request)
        if job is None:
            return unauthorized()
        lid = int(request.match_info["logId"])
        if lid not in job.logs:
            return vss_error("TaskLogNotFoundException", 404)
        job.logs[lid] += await request.read()
        return jresp({"id": lid})

    async def h_attachment(self, request: web.Request) -> web.Response:
        job = self._v1_job(request)
        if job is None:
            return unauthorized()
        job.summaries[request.match_info["recordId"]] = (await request.read()).decode()
        return jresp({"type": request.match_info["type"], "name": request.match_info["name"]})

    async def h_events(self, request: web.Request) -> web.Response:
        job = self._v1_job(request)
        if job is None:
            return unauthorized()
        body = await request.json()
        job.events.append(body)
        if body.get("name") == "JobCompleted":
            if job.state == "completed" and job.lost:
                return vss_error("TaskOrchestrationPlanNotFoundException", 404)
            outs = {k: (v.get("value") if isinstance(v, dict) else v)
                    for k, v in (body.get("outputs") or {}).items()}
            self._finish(job, str(body.get("result")), outs)
        return web.Response(status=204)
