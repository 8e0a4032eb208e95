"""The one HTTP client every GitHub call goes through.

Why one place: rate-limit state, retry policy, TLS trust (custom CA bundle), proxy choice, the
runner's User-Agent and the rule "credentials only over HTTPS (loopback excepted)" must hold for
every call, and tokens must never leak into logs or exception text. Callers pass a `Credential`
instead of a header so that a 401 can invalidate the token and retry once with a fresh one.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import ssl
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from msgspec import Struct, field

# httpx imports its command-line tool (and with it rich and pygments, ~5 MB) unless that import
# fails; the listener's idle footprint matters more than `httpx` the CLI, which we never use.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from github_runner.github.errors import HTTPStatusError, InsecureURLError
from github_runner.version import RUNNER_VERSION, __version__

log = logging.getLogger("github_runner.github.http")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RATE_LIMIT_FLOOR = 0.05  # pause when fewer than 5% of the window's requests remain
MAX_HONOURED_WAIT = 900.0  # never sleep longer than this on one Retry-After / reset


class Credential(Protocol):
    """Something that yields an `Authorization` header value and can be told it went stale."""

    async def authorization(self) -> str: ...

    def invalidate(self) -> None: ...


class StaticCredential:
    """A fixed header value (registration token `RemoteAuth`, job token `Bearer`)."""

    def __init__(self, scheme: str, token: str) -> None:
        self._value = f"{scheme} {token}"

    async def authorization(self) -> str:
        return self._value

    def invalidate(self) -> None:  # a fixed token cannot be refreshed
        return None

    def __repr__(self) -> str:
        return "StaticCredential(***)"


class HttpSettings(Struct, frozen=True):
    ca_bundle: Path | None = None
    proxy: str | None = None
    no_proxy: tuple[str, ...] = ()
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    timeout: float = 100.0
    extra_user_agent: str = ""


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(url: str | httpx.URL) -> str:
    """scheme://host/path: the query string may hold SAS signatures or session ids."""
    u = httpx.URL(str(url))
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}{u.path}"


def check_url(url: str | httpx.URL) -> None:
    u = httpx.URL(str(url))
    if u.scheme == "https":
        return
    if u.scheme == "http" and is_loopback_host(u.host):
        return
    raise InsecureURLError(
        f"refusing {u.scheme}://{u.host}: credentials go over HTTPS only "
        "(plain HTTP is allowed for loopback addresses alone)"
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


class RateLimit(Struct):
    limit: int = 0
    remaining: int = 0
    reset: float = 0.0  # epoch seconds

    def wait_needed(self, now: float) -> float:
        if self.limit <= 0 or self.reset <= now:
            return 0.0
        if self.remaining >= self.limit * RATE_LIMIT_FLOOR:
            return 0.0
        return min(self.reset - now, MAX_HONOURED_WAIT)


def _env_proxy_set() -> bool:
    import os

    names = ("http_proxy", "https_proxy", "all_proxy")
    return any(os.environ.get(n) or os.environ.get(n.upper()) for n in names)


def user_agent(extra: str = "") -> str:
    ua = f"GitHubActionsRunner-linux-x64/{RUNNER_VERSION} github-runner/{__version__}"
    return f"{ua} {extra}".strip()


class ApiClient(Struct):
    """Wraps one `httpx.AsyncClient`; use as an async context manager."""

    settings: HttpSettings = field(default_factory=HttpSettings)
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    _client: httpx.AsyncClient | None = None
    _ssl: ssl.SSLContext | None = None

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The custom-CA context (None: system trust), for connections httpx does not make."""
        if self._ssl is None and self.settings.ca_bundle is not None:
            self._ssl = ssl.create_default_context(cafile=str(self.settings.ca_bundle))
        return self._ssl

    def _build(self) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = self.ssl_context or True
        mounts: dict[str, httpx.AsyncBaseTransport | None] | None = None
        if self.settings.proxy:
            mounts = {"all://": httpx.AsyncHTTPTransport(proxy=self.settings.proxy, verify=verify)}
            for host in self.settings.no_proxy:
                mounts[f"all://{host}"] = httpx.AsyncHTTPTransport(verify=verify)
        return httpx.AsyncClient(
            verify=verify,
            # HTTP(S)_PROXY / ALL_PROXY / NO_PROXY from the environment; only looked at when one
            # is set, because httpx's environment handling costs ~0.1 s per client otherwise
            trust_env=not self.settings.proxy and _env_proxy_set(),
            mounts=mounts,
            timeout=httpx.Timeout(self.settings.timeout, connect=min(30.0, self.settings.timeout)),
            headers={
                "User-Agent": user_agent(self.settings.extra_user_agent),
                "X-Actions-Session": self.session_id,
            },
            follow_redirects=False,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._build()
        return self._client

    async def __aenter__(self) -> "ApiClient":
        _ = self.client
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _backoff(self, attempt: int) -> float:
        cap = min(self.settings.backoff_max, self.settings.backoff_base * (2**attempt))
        return random.uniform(0, cap)  # "full jitter"

    def _note_rate_limit(self, resp: httpx.Response) -> None:
        h = resp.headers
        if "x-ratelimit-limit" not in h or "x-ratelimit-remaining" not in h:
            return
        try:
            rl = RateLimit(
                int(h["x-ratelimit-limit"]),
                int(h["x-ratelimit-remaining"]),
                float(h.get("x-ratelimit-reset", "0")),
            )
        except ValueError:
            log.warning("ignoring malformed X-RateLimit headers from %s", resp.url.host)
            return
        self.rate_limits[resp.url.host] = rl

    async def _respect_rate_limit(self, host: str) -> None:
        rl = self.rate_limits.get(host)
        if rl is None:
            return
        wait = rl.wait_needed(time.time())
        if wait > 0:
            log.warning(
                "rate limit low for %s (%d/%d left): pausing %.1fs until reset",
                host, rl.remaining, rl.limit, wait,
            )
            await asyncio.sleep(wait)
            self.rate_limits.pop(host, None)

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: Credential | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        no_retry_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send with retries; return a 2xx/3xx response or raise `HTTPStatusError`.

        Retries 429/502/503/504 and transport errors with exponential backoff and full jitter,
        honouring `Retry-After`; a 401 on an authenticated call refreshes the credential and is
        retried once.
        """
        check_url(url)
        max_retries = self.settings.max_retries if retries is None else retries
        attempt = 0
        refreshed = False
        host = httpx.URL(url).host
        while True:
            await self._respect_rate_limit(host)
            hdrs = dict(headers or {})
            if auth is not None:
                hdrs["Authorization"] = await auth.authorization()
            try:
                resp = await self.client.request(
                    method, url, json=json, content=content, data=data, params=params,
                    headers=hdrs, timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                if attempt >= max_retries:
                    raise HTTPStatusError(method, redact(url), 0, type(exc).__name__) from None
                delay = self._backoff(attempt)
                log.info("%s %s failed (%s); retry in %.2fs", method, redact(url),
                         type(exc).__name__, delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._note_rate_limit(resp)
            status = resp.status_code
            if status < 400:
                return resp
            if status == 401 and auth is not None and not refreshed:
                auth.invalidate()
                refreshed = True
                log.info("%s %s -> 401; refreshing credentials once", method, redact(url))
                continue
            if status in RETRY_STATUSES and status not in no_retry_statuses and attempt < max_retries:
                delay = parse_retry_after(resp.headers.get("retry-after"))
                if delay is None:
                    delay = self._backoff(attempt)
                delay = min(delay, MAX_HONOURED_WAIT)
                log.info("%s %s -> %d; retry %d/%d in %.2fs", method, redact(url), status,
                         attempt + 1, max_retries, delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            raise HTTPStatusError(method, redact(url), status, error_reason(resp), error_body(resp))


def error_body(resp: httpx.Response) -> Any:
    if "json" not in resp.headers.get("content-type", ""):
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def error_reason(resp: httpx.Response) -> str:
    """A short, token-free reason: the server's typed error name and message if it sent one."""
    body = error_body(resp)
    if isinstance(body, dict):
        for key in ("typeKey", "errorKind", "error", "errorMessage", "message"):
            val = body.get(key)
            if isinstance(val, str) and val:
                return val[:200]
    return resp.reason_phrase or ""
