"""Register, JIT-configure and remove runner identities (runner-protocol §1, §2).

`register` creates N identities in one go (concurrency = N) and is all-or-nothing: if any step
fails, identities already created server-side are deleted again and nothing is written locally.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import platform
from pathlib import Path
from typing import Any

import httpx
from msgspec import Struct, field

from github_runner.config.state import StateDir, StateError
from github_runner.github import actions
from github_runner.github.auth import (
    OAuthCredential,
    generate_key,
    key_from_rsaparams,
    key_to_rsaparams,
    public_key_fields,
    public_key_xml,
)
from github_runner.github.errors import GitHubError, HTTPStatusError
from github_runner.github.http import ApiClient, StaticCredential
from github_runner.github.models import (
    CredentialsFile,
    RunnerSettingsFile,
    as_bool,
    as_int,
    as_str,
    ci_get,
)
from github_runner.version import RUNNER_VERSION

log = logging.getLogger("github_runner.github.registration")

HOSTED = ("github.com", "www.github.com", "github.localhost")


class RegistrationError(GitHubError):
    """One line saying what to fix."""


class GitHubURL(Struct, frozen=True):
    url: str
    scheme: str
    host: str
    port: int | None
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, url: str) -> "GitHubURL":
        try:
            u = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise RegistrationError(f"--url {url!r} is not a URL: {exc}") from None
        if u.scheme not in ("https", "http") or not u.host:
            raise RegistrationError(f"--url {url!r}: expected https://<host>/<owner>[/<repo>]")
        segs = tuple(s for s in u.path.split("/") if s)
        if not segs or len(segs) > 2:
            raise RegistrationError(
                f"--url {url!r}: expected an organisation, repository or enterprises/<name> URL")
        return cls(url.rstrip("/"), u.scheme, u.host, u.port, segs)

    @property
    def hosted(self) -> bool:
        h = self.host.lower()
        return h in HOSTED or h.endswith(".ghe.localhost") or h.endswith(".ghe.com")

    @property
    def api(self) -> str:
        port = f":{self.port}" if self.port else ""  # keep the port (github-act-runner does)
        if self.hosted:
            return f"{self.scheme}://api.{self.host}{port}"
        return f"{self.scheme}://{self.host}{port}/api/v3"

    @property
    def scope(self) -> str:
        if self.segments[0] == "enterprises" and len(self.segments) == 2:
            return f"{self.api}/enterprises/{self.segments[1]}"
        if len(self.segments) == 2:
            return f"{self.api}/repos/{self.segments[0]}/{self.segments[1]}"
        return f"{self.api}/orgs/{self.segments[0]}"


def system_labels() -> list[str]:
    arch = {"x86_64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(platform.machine(), "X64")
    return ["self-hosted", "Linux", arch]


def os_description() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _labels(user: list[str]) -> list[dict[str, Any]]:
    sys_l = system_labels()
    out = [{"id": 0, "name": n, "type": "system"} for n in sys_l]
    out += [{"id": 0, "name": n, "type": "user"} for n in user if n not in sys_l]
    return out


class RegisterRequest(Struct):
    url: str
    token: str
    name: str
    labels: list[str] = field(default_factory=list)
    runner_group: str | None = None
    work: str = "_work"
    ephemeral: bool = False
    replace: bool = False
    concurrency: int = 1

    def names(self) -> list[str]:
        if self.concurrency == 1:
            return [self.name]
        return [f"{self.name}-{i + 1}" for i in range(self.concurrency)]


async def _tenant(api: ApiClient, gh: GitHubURL, token: str, event: str) -> dict[str, Any]:
    try:
        resp = await api.request(
            "POST", f"{gh.api}/actions/runner-registration",
            auth=StaticCredential("RemoteAuth", token),
            json={"url": gh.url, "runner_event": event}, retries=3,
        )
    except HTTPStatusError as exc:
        if exc.status in (401, 403, 404):
            kind = "registration" if event == "register" else "removal"
            raise RegistrationError(
                f"the {kind} token was refused by {gh.api} (HTTP {exc.status}): "
                "get a new token (tokens expire after one hour)") from None
        raise RegistrationError(f"runner-registration failed: {exc}") from None
    data = resp.json()
    if as_str(ci_get(data, "token_schema")) != "OAuthAccessToken":
        raise RegistrationError("runner-registration answered with an unsupported token schema")
    return data


async def register(api: ApiClient, state: StateDir, req: RegisterRequest) -> list[str]:
    """Register `req.concurrency` identities; returns their names."""
    gh = GitHubURL.parse(req.url)
    existing = {i.name for i in state.identities()}
    clash = [n for n in req.names() if n in existing]
    if clash:
        raise RegistrationError(
            f"runner {clash[0]!r} is already registered in {state.root}: "
            "run `github-runner remove` first")
    tenant = await _tenant(api, gh, req.token, "register")
    if as_bool(ci_get(tenant, "use_v2_flow")):
        flow: _Flow = _AdminFlow(api, gh, req, tenant)
    else:
        flow = _PipelinesFlow(api, gh, req, tenant)
    created: list[tuple[str, Any]] = []
    with state.staging() as stage:
        staged: dict[str, Path] = {}
        try:
            await flow.prepare()
            for name in req.names():
                key = generate_key()
                runner, creds, handle = await flow.add(name, key)
                created.append((name, handle))
                # prove the new credentials work before keeping them (clock skew, FIPS...)
                oauth = OAuthCredential(api, key, creds.client_id, creds.authorization_url,
                                        fips=creds.require_fips)
                await oauth.access_token()
                d = stage / name
                state.write_identity(d, runner.to_json(), creds.to_json(), key_to_rsaparams(key))
                staged[name] = d
            state.commit(staged)
        except BaseException:
            for name, handle in reversed(created):
                try:
                    await flow.delete(handle)
                except Exception as exc:  # noqa: BLE001 - best-effort rollback
                    log.warning("could not roll back runner %s: %s", name, exc)
            raise
    return req.names()


class _Flow:
    async def prepare(self) -> None: ...

    async def add(self, name: str, key: Any) -> tuple[RunnerSettingsFile, CredentialsFile, Any]:
        raise NotImplementedError

    async def delete(self, handle: Any) -> None: ...


class _PipelinesFlow(_Flow):
    """Flow A: the pipelines agent API (`use_v2_flow` false)."""

    def __init__(self, api: ApiClient, gh: GitHubURL, req: RegisterRequest,
                 tenant: dict[str, Any]) -> None:
        self.api, self.gh, self.req = api, gh, req
        base = as_str(ci_get(tenant, "url"))
        self.base = base if base.endswith("/") else base + "/"
        self.conn = actions.VssConnection(api, self.base,
                                          StaticCredential("Bearer", as_str(ci_get(tenant, "token"))))
        self.pool: dict[str, Any] = {}

    async def prepare(self) -> None:
        await self.conn.connect()
        pools = [p for p in await actions.list_pools(self.conn) if not ci_get(p, "isHosted")]
        if not pools:
            raise RegistrationError("the service offers no self-hosted runner group")
        if self.req.runner_group:
            match = [p for p in pools if str(ci_get(p, "name")).lower() ==
                     self.req.runner_group.lower()]
            if not match:
                names = ", ".join(str(ci_get(p, "name")) for p in pools)
                raise RegistrationError(
                    f"--runner-group {self.req.runner_group!r} does not exist (have: {names})")
            self.pool = match[0]
        else:
            internal = [p for p in pools if ci_get(p, "isInternal")]
            self.pool = (internal or pools)[0]

    async def add(self, name: str, key: Any) -> tuple[RunnerSettingsFile, CredentialsFile, Any]:
        pool_id = as_int(ci_get(self.pool, "id"))
        existing = await actions.find_agent(self.conn, pool_id, name)
        if existing is not None and not self.req.replace:
            raise RegistrationError(
                f"a runner named {name!r} already exists: pass --replace or choose --name")
        agent = {
            "authorization": {"publicKey": public_key_fields(key)},
            "createdOn": "0001-01-01T00:00:00", "disableUpdate": True,
            "ephemeral": self.req.ephemeral, "id": 0, "labels": _labels(self.req.labels),
            "maxParallelism": 1, "name": name, "osDescription": os_description(),
            "provisioningState": "Provisioned", "status": 0, "version": RUNNER_VERSION,
        }
        agent_id = as_int(ci_get(existing, "id")) if existing else None
        if agent_id:
            agent["id"] = agent_id
        resp = await actions.add_agent(self.conn, pool_id, agent, agent_id)
        auth = ci_get(resp, "authorization") or {}
        client_id = as_str(ci_get(auth, "clientId"))
        auth_url = as_str(ci_get(auth, "authorizationUrl"))
        if not client_id or not auth_url:
            raise RegistrationError("the service returned no OAuth client for the new runner")
        if self.req.ephemeral and not as_bool(ci_get(resp, "ephemeral")):
            raise RegistrationError("the GitHub server does not support ephemeral runners")
        props = ci_get(resp, "properties") or {}
        use_v2 = as_bool(ci_get(props, "UseV2Flow"))
        runner = RunnerSettingsFile(
            agent_id=as_int(ci_get(resp, "id")), agent_name=name, pool_id=pool_id,
            pool_name=as_str(ci_get(self.pool, "name")), server_url=self.base,
            github_url=self.gh.url, work_folder=self.req.work, ephemeral=self.req.ephemeral,
            disable_update=True, use_v2_flow=use_v2,
            server_url_v2=as_str(ci_get(props, "ServerUrlV2")) if use_v2 else "",
            is_hosted_server=self.gh.hosted, labels=list(self.req.labels),
        )
        creds = CredentialsFile(
            client_id=client_id, authorization_url=auth_url,
            require_fips=as_bool(ci_get(props, "RequireFipsCryptography"), True),
            authorization_url_v2=as_str(ci_get(props, "AuthorizationUrlV2")),
            enable_auth_migration=as_bool(ci_get(props, "EnableAuthMigrationByDefault")),
        )
        return runner, creds, (pool_id, runner.agent_id)

    async def delete(self, handle: Any) -> None:
        pool_id, agent_id = handle
        await actions.delete_agent(self.conn, pool_id, agent_id)


class _AdminFlow(_Flow):
    """Flow B: the runner-admin REST API (`use_v2_flow` true)."""

    def __init__(self, api: ApiClient, gh: GitHubURL, req: RegisterRequest,
                 tenant: dict[str, Any]) -> None:
        self.api, self.gh, self.req = api, gh, req
        self.auth = StaticCredential("RemoteAuth", req.token)
        self.group_id = 1
        self.group_name = "Default"
        self.base = as_str(ci_get(tenant, "url"))

    async def prepare(self) -> None:
        resp = await self.api.request("GET", f"{self.gh.scope}/actions/runner-groups",
                                      auth=self.auth, retries=3)
        groups = ci_get(resp.json(), "runner_groups") or []
        want = self.req.runner_group
        for g in groups:
            if (want and str(g.get("name", "")).lower() == want.lower()) or (
                    not want and g.get("default")):
                self.group_id, self.group_name = int(g["id"]), str(g["name"])
                return
        if want:
            raise RegistrationError(f"--runner-group {want!r} does not exist")

    async def add(self, name: str, key: Any) -> tuple[RunnerSettingsFile, CredentialsFile, Any]:
        resp = await self.api.request("GET", f"{self.gh.scope}/actions/runners",
                                      params={"name": name}, auth=self.auth, retries=3)
        existing = [r for r in (ci_get(resp.json(), "runners") or []) if r.get("name") == name]
        if existing and not self.req.replace:
            raise RegistrationError(
                f"a runner named {name!r} already exists: pass --replace or choose --name")
        body: dict[str, Any] = {
            "url": self.gh.url, "group_id": self.group_id, "name": name,
            "version": RUNNER_VERSION, "updates_disabled": True,
            "ephemeral": self.req.ephemeral, "labels": _labels(self.req.labels),
            "public_key": public_key_xml(key),
        }
        if existing:
            body |= {"runner_id": int(existing[0]["id"]), "replace": True}
        resp = await self.api.request("POST", f"{self.gh.api}/actions/runners/register",
                                      auth=self.auth, json=body, retries=3)
        data = resp.json()
        auth = ci_get(data, "authorization") or {}
        legacy = as_str(ci_get(auth, "legacy_authorization_url"))
        primary = as_str(ci_get(auth, "authorization_url"))
        runner = RunnerSettingsFile(
            agent_id=as_int(ci_get(data, "id")), agent_name=name, pool_id=self.group_id,
            pool_name=self.group_name, server_url=self.base, github_url=self.gh.url,
            work_folder=self.req.work, ephemeral=self.req.ephemeral, disable_update=True,
            use_v2_flow=True, server_url_v2=as_str(ci_get(auth, "server_url")),
            is_hosted_server=self.gh.hosted, labels=list(self.req.labels),
        )
        creds = CredentialsFile(
            client_id=as_str(ci_get(auth, "client_id")),
            authorization_url=legacy or primary, require_fips=True,
            authorization_url_v2=primary if legacy else "", enable_auth_migration=bool(legacy),
        )
        if not creds.client_id or not creds.authorization_url:
            raise RegistrationError("the service returned no OAuth client for the new runner")
        return runner, creds, runner.agent_id

    async def delete(self, handle: Any) -> None:
        await self.api.request("DELETE", f"{self.gh.scope}/actions/runners/{handle}",
                               auth=self.auth, retries=3)


def decode_jit(blob: str) -> dict[str, bytes]:
    """`encoded_jit_config` -> {file name: bytes}; only the three known files are accepted."""
    try:
        outer = json.loads(base64.b64decode(blob.strip(), validate=True))
        files = {k: base64.b64decode(v, validate=True) for k, v in outer.items()}
    except (binascii.Error, ValueError, TypeError, AttributeError):
        raise RegistrationError("--jitconfig is not a valid encoded JIT configuration") from None
    need = {".runner", ".credentials", ".credentials_rsaparams"}
    missing = need - set(files)
    if missing:
        raise RegistrationError(f"--jitconfig lacks {', '.join(sorted(missing))}")
    return {k: files[k] for k in need}


def register_jit(state: StateDir, blob: str) -> str:
    files = decode_jit(blob)
    try:
        runner = RunnerSettingsFile.from_json(json.loads(files[".runner"].lstrip(b"\xef\xbb\xbf")))
        creds = CredentialsFile.from_json(json.loads(files[".credentials"]))
        params = json.loads(files[".credentials_rsaparams"])
        key_from_rsaparams(params)  # validate before writing anything
    except (ValueError, TypeError, GitHubError) as exc:
        raise RegistrationError(f"--jitconfig holds unusable runner files: {exc}") from None
    if not runner.agent_name or not creds.client_id:
        raise RegistrationError("--jitconfig lacks the runner name or OAuth client id")
    runner.ephemeral = True  # JIT runners run one job
    if any(i.name == runner.agent_name for i in state.identities()):
        raise StateError(f"runner {runner.agent_name!r} is already registered in {state.root}")
    with state.staging() as stage:
        d = stage / runner.agent_name
        state.write_identity(d, runner.to_json(), creds.to_json(), params)
        state.commit({runner.agent_name: d})
    return runner.agent_name


async def remove(api: ApiClient, state: StateDir, token: str | None, *, local: bool = False) -> list[str]:
    """Delete every identity server-side (unless `local`) and then locally."""
    removed = []
    for ident in state.identities():
        if not local:
            if not token:
                raise RegistrationError("--token is required (a removal token) unless --local")
            await _remove_remote(api, ident.runner, token)
        state.remove(ident)
        removed.append(ident.name)
    return removed


async def _remove_remote(api: ApiClient, runner: RunnerSettingsFile, token: str) -> None:
    gh = GitHubURL.parse(runner.github_url)
    tenant = await _tenant(api, gh, token, "remove")
    if as_bool(ci_get(tenant, "use_v2_flow")):
        try:
            await api.request("DELETE", f"{gh.scope}/actions/runners/{runner.agent_id}",
                              auth=StaticCredential("RemoteAuth", token), retries=3)
        except HTTPStatusError as exc:
            if exc.status != 404:
                raise
        return
    base = as_str(ci_get(tenant, "url"))
    conn = actions.VssConnection(api, base if base.endswith("/") else base + "/",
                                 StaticCredential("Bearer", as_str(ci_get(tenant, "token"))))
    agent = await actions.find_agent(conn, runner.pool_id, runner.agent_name)
    if agent is None:
        log.info("runner %s is already gone on the server", runner.agent_name)
        return
    await actions.delete_agent(conn, runner.pool_id, as_int(ci_get(agent, "id")))
