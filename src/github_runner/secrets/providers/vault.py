"""Secrets from HashiCorp Vault's KV version 2 engine, through `hvac`.

Each secret names its own path: `{"NPM_TOKEN": "secret/ci/npm#token"}` reads key `token` of
`ci/npm` in the KV v2 engine mounted at `secret` (the first path segment is the mount; use
`VaultRef` for a mount with slashes or a pinned version). Auth is a token or AppRole
(`role_id` + `secret_id`); the login token, the AppRole secret id and every value read are
registered with the masker when one is given.

Errors name the Vault path and the HTTP status, never a token: hvac's own messages are not
passed through verbatim (they may quote request data). `hvac` is synchronous; the async
helpers run it in a worker thread so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

import hvac
import hvac.exceptions
import requests
from msgspec import Struct

from github_runner.secrets.providers import ProviderError
from github_runner.secrets.store import SecretStore

_STATUS = {
    hvac.exceptions.InvalidRequest: 400,
    hvac.exceptions.Unauthorized: 401,
    hvac.exceptions.Forbidden: 403,
    hvac.exceptions.InvalidPath: 404,
    hvac.exceptions.RateLimitExceeded: 429,
    hvac.exceptions.InternalServerError: 500,
    hvac.exceptions.VaultNotInitialized: 501,
    hvac.exceptions.BadGateway: 502,
    hvac.exceptions.VaultDown: 503,
}


class Registrar(Protocol):
    """Where credentials and values are registered for masking: a `Masker`, or anything with
    its `add` (exec registers them with its SecretStore before the masker exists)."""

    def add(self, value: str, *, source: str = "") -> bool: ...


class VaultError(ProviderError):
    """Names the Vault path (or the auth step) and the HTTP status."""


class VaultRef(Struct, frozen=True):
    mount: str
    path: str
    key: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str, *, default_mount: str | None = None) -> VaultRef:
        """`mount/path/to/secret#key`, or `path#key` when `default_mount` is given."""
        location, sep, key = text.partition("#")
        location = location.strip("/")
        if not sep or not key or not location:
            raise VaultError(f"vault reference {text!r}: expected MOUNT/PATH#KEY")
        if default_mount is not None:
            return cls(default_mount, location, key)
        mount, slash, path = location.partition("/")
        if not slash or not path:
            raise VaultError(f"vault reference {text!r}: expected MOUNT/PATH#KEY")
        return cls(mount, path, key)

    def __str__(self) -> str:
        return f"{self.mount}/{self.path}#{self.key}"


def _status(exc: hvac.exceptions.VaultError) -> str:
    code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), None)
    return f"HTTP {code}" if code else f"unexpected response ({type(exc).__name__})"


class VaultProvider:
    """One authenticated client; `read` for one value, `load` for a whole mapping."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        role_id: str | None = None,
        secret_id: str | None = None,
        approle_mount: str = "approle",
        namespace: str | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        masker: Registrar | None = None,
    ) -> None:
        if not token and not (role_id and secret_id):
            raise VaultError(f"vault {url}: give a token, or an AppRole role_id and secret_id")
        self.url = url
        self._masker = masker
        self._client = hvac.Client(url=url, namespace=namespace, verify=verify, timeout=timeout)
        if token:
            self._protect(token, "vault token")
            self._client.token = token
        else:
            assert role_id and secret_id
            self._protect(secret_id, "vault AppRole secret_id")
            self._login_approle(role_id, secret_id, approle_mount)

    def _protect(self, value: str, source: str) -> None:
        if self._masker is not None:
            self._masker.add(value, source=source)

    def _login_approle(self, role_id: str, secret_id: str, mount: str) -> None:
        where = f"vault {self.url} AppRole login (auth/{mount})"
        try:
            reply = self._client.auth.approle.login(
                role_id=role_id, secret_id=secret_id, mount_point=mount, use_token=True
            )
        except hvac.exceptions.VaultError as exc:
            raise VaultError(f"{where}: {_status(exc)}") from None
        except requests.RequestException as exc:
            raise VaultError(f"{where}: {type(exc).__name__}") from None
        token = (reply or {}).get("auth", {}).get("client_token")
        if not token:
            raise VaultError(f"{where}: the reply has no client token")
        self._protect(token, "vault AppRole login token")

    def read(self, ref: VaultRef | str) -> str:
        ref = VaultRef.parse(ref) if isinstance(ref, str) else ref
        where = f"vault {self.url} {ref.mount}/{ref.path}"
        try:
            reply = self._client.secrets.kv.v2.read_secret_version(
                path=ref.path,
                mount_point=ref.mount,
                version=ref.version,
                raise_on_deleted_version=True,
            )
        except hvac.exceptions.VaultError as exc:
            raise VaultError(f"{where}: {_status(exc)}") from None
        except requests.RequestException as exc:
            raise VaultError(f"{where}: {type(exc).__name__} (is Vault reachable?)") from None
        try:
            data = reply["data"]["data"]
        except (KeyError, TypeError):
            raise VaultError(f"{where}: not a KV version 2 reply") from None
        if ref.key not in data:
            raise VaultError(f"{where}: no key {ref.key!r} (keys: {', '.join(sorted(data))})")
        value = data[ref.key]
        if not isinstance(value, str):
            raise VaultError(f"{where}#{ref.key}: the value is not a string")
        self._protect(value, f"vault {ref}")
        return value

    def fetch(self, refs: Mapping[str, VaultRef | str]) -> dict[str, str]:
        return {name: self.read(ref) for name, ref in refs.items()}

    def load(self, store: SecretStore, refs: Mapping[str, VaultRef | str]) -> None:
        for name, ref in refs.items():
            store.set(name, self.read(ref), source=f"vault {ref}")

    async def afetch(self, refs: Mapping[str, VaultRef | str]) -> dict[str, str]:
        return await asyncio.to_thread(self.fetch, refs)

    async def aload(self, store: SecretStore, refs: Mapping[str, VaultRef | str]) -> None:
        await asyncio.to_thread(self.load, store, refs)

    def close(self) -> None:
        self._client.adapter.close()

    def __repr__(self) -> str:
        return f"<VaultProvider {self.url}>"
