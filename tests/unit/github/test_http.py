"""The API client against a real aiohttp server on loopback: retries, Retry-After, rate limits,
401 refresh, HTTPS-only rule, redaction, proxy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from github_runner.github.errors import HTTPStatusError, InsecureURLError
from github_runner.github.http import (
    ApiClient,
    HttpSettings,
    RateLimit,
    StaticCredential,
    check_url,
    parse_retry_after,
    redact,
)

FAST = HttpSettings(max_retries=4, backoff_base=0.01, backoff_max=0.05, timeout=5)


class Server:
    def __init__(self) -> None:
        self.hits: list[web.Request] = []
        self.script: list[Callable[[web.Request], web.StreamResponse]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request)
        if self.script:
            return self.script.pop(0)(request)
        return web.json_response({"ok": True, "auth": request.headers.get("Authorization")})


def status(code: int, headers: dict[str, str] | None = None, body: Any = None
           ) -> Callable[[web.Request], web.StreamResponse]:
    def make(_: web.Request) -> web.StreamResponse:
        if body is not None:
            return web.json_response(body, status=code, headers=headers)
        return web.Response(status=code, headers=headers)
    return make


def test_retries_5xx_then_succeeds(server_loop: Any) -> None:
    s, call = server_loop
    s.script = [status(502), status(503), status(504)]
    resp = call(lambda api: api.request("GET", s.url + "/x"))
    assert resp.status_code == 200 and len(s.hits) == 4


def test_gives_up_after_max_retries_with_status(server_loop: Any) -> None:
    s, call = server_loop
    s.script = [status(503)] * 10
    with pytest.raises(HTTPStatusError) as exc:
        call(lambda api: api.request("GET", s.url + "/x"))
    assert exc.value.status == 503 and len(s.hits) == FAST.max_retries + 1


def test_500_and_404_are_not_retried(server_loop: Any) -> None:
    s, call = server_loop
    s.script = [status(500)]
    with pytest.raises(HTTPStatusError):
        call(lambda api: api.request("GET", s.url + "/x"))
    assert len(s.hits) == 1


def test_retry_after_is_honoured(server_loop: Any) -> None:
    s, call = server_loop
    s.script = [status(429, {"Retry-After": "1"})]
    t = time.monotonic()
    call(lambda api: api.request("GET", s.url + "/x"))
    assert time.monotonic() - t >= 0.95 and len(s.hits) == 2


def test_pauses_when_rate_limit_nearly_spent(server_loop: Any) -> None:
    s, call = server_loop
    reset = str(int(time.time()) + 2)

    def low(_: web.Request) -> web.StreamResponse:
        return web.json_response({}, headers={"X-RateLimit-Limit": "1000",
                                              "X-RateLimit-Remaining": "10",
                                              "X-RateLimit-Reset": reset})
    s.script = [low]

    async def two(api: ApiClient) -> float:
        await api.request("GET", s.url + "/a")
        t = time.monotonic()
        await api.request("GET", s.url + "/b")
        return time.monotonic() - t

    waited = call(two)
    assert waited >= 0.5, waited


def test_401_refreshes_credential_once(server_loop: Any) -> None:
    s, call = server_loop

    class Cred:
        def __init__(self) -> None:
            self.n = 0

        async def authorization(self) -> str:
            self.n += 1
            return f"Bearer token-{self.n}"

        def invalidate(self) -> None:
            pass

    cred = Cred()
    s.script = [status(401)]
    resp = call(lambda api: api.request("GET", s.url + "/x", auth=cred))
    assert resp.json()["auth"] == "Bearer token-2"
    s.script = [status(401), status(401)]
    with pytest.raises(HTTPStatusError) as exc:
        call(lambda api: api.request("GET", s.url + "/x", auth=cred))
    assert exc.value.status == 401


def test_token_never_in_error_text(server_loop: Any) -> None:
    s, call = server_loop
    s.script = [status(403, body={"message": "nope"})]
    with pytest.raises(HTTPStatusError) as exc:
        call(lambda api: api.request("GET", s.url + "/x?sig=SECRETSIG", auth=StaticCredential(
            "Bearer", "ghs_supersecret")))
    text = str(exc.value)
    assert "ghs_supersecret" not in text and "SECRETSIG" not in text and "nope" in text


def test_user_agent_and_session_headers(server_loop: Any) -> None:
    s, call = server_loop
    call(lambda api: api.request("GET", s.url + "/x"))
    h = s.hits[0].headers
    assert h["User-Agent"].startswith("GitHubActionsRunner-linux-x64/2.")
    assert len(h["X-Actions-Session"]) == 36


def test_https_only_except_loopback() -> None:
    check_url("https://github.com/x")
    check_url("http://127.0.0.1:8080/x")
    check_url("http://localhost/x")
    check_url("http://[::1]/x")
    for bad in ("http://github.com/x", "http://192.0.2.1/x", "ftp://127.0.0.1/x"):
        with pytest.raises(InsecureURLError):
            check_url(bad)


def test_redact_and_retry_after_parsing() -> None:
    assert redact("https://h:8443/p/q?sig=abc&x=1") == "https://h:8443/p/q"
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("garbage") is None
    assert RateLimit(100, 4, 1000.0).wait_needed(990.0) == 10.0
    assert RateLimit(100, 5, 1000.0).wait_needed(990.0) == 0.0


def test_explicit_proxy_is_used(server_loop: Any) -> None:
    """A plain-HTTP forward proxy on loopback sees the request (absolute-form target)."""
    s, call = server_loop
    s.script = [lambda r: web.json_response({"proxied": str(r.url)})]
    settings = HttpSettings(proxy=s.url, max_retries=0, timeout=5)

    async def go() -> Any:
        async with ApiClient(settings) as api:
            return (await api.request("GET", "http://127.0.0.2:9/target")).json()

    body = asyncio.run(go())
    assert "127.0.0.2:9/target" in body["proxied"]


@pytest.fixture
def server_loop() -> Any:
    """A loopback aiohttp server on a background loop, and `call(fn)` running fn(api)."""
    import threading

    loop = asyncio.new_event_loop()
    s = Server()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", s.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        s.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        holder["runner"] = runner

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ready.wait(10)

    def call(fn: Callable[[ApiClient], Any]) -> Any:
        async def go() -> Any:
            async with ApiClient(FAST) as api:
                return await fn(api)
        return asyncio.run(go())

    yield s, call
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)
    loop.close()
