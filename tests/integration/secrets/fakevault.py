"""A Vault-compatible KV v2 + AppRole HTTP server on loopback, for the provider tests.

Implements the parts of Vault's HTTP API that `hvac` uses here, with Vault's status codes
and JSON shapes: `POST /v1/auth/<mount>/login`, `GET /v1/<mount>/data/<path>[?version=N]`
with `X-Vault-Token`, per-token path policies, deleted versions, and a `requests` log so tests
can check what was sent.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class VaultState:
    kv: dict[str, dict[str, list[dict[str, Any] | None]]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)  # token -> allowed prefixes
    approles: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def put(self, mount: str, path: str, data: dict[str, Any]) -> None:
        self.kv.setdefault(mount, {}).setdefault(path, []).append(data)

    def delete_latest(self, mount: str, path: str) -> None:
        self.kv[mount][path][-1] = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> None:
        self.server.state.requests.append((self.command, self.path, dict(self.headers)))

    def do_POST(self) -> None:
        self._record()
        parts = urlsplit(self.path).path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if len(parts) == 4 and parts[:2] == ["v1", "auth"] and parts[3] == "login":
            allowed = self.server.state.approles.get((body.get("role_id"), body.get("secret_id")))
            if allowed is None:
                self._reply(400, {"errors": ["invalid role or secret ID"]})
                return
            token = "hvs." + secrets.token_urlsafe(18)
            self.server.state.tokens[token] = allowed
            self._reply(200, {"auth": {"client_token": token, "lease_duration": 3600,
                                       "renewable": True, "policies": ["default"]}})  # fmt: skip
            return
        self._reply(404, {"errors": []})

    def do_GET(self) -> None:
        self._record()
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        state = self.server.state
        token = self.headers.get("X-Vault-Token")
        if token not in state.tokens:
            self._reply(403, {"errors": ["permission denied"]})
            return
        if len(parts) < 4 or parts[0] != "v1" or parts[2] != "data":
            self._reply(404, {"errors": []})
            return
        mount, path = parts[1], "/".join(parts[3:])
        if not any(f"{mount}/{path}".startswith(p) for p in state.tokens[token]):
            self._reply(403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]})
            return
        versions = state.kv.get(mount, {}).get(path)
        if not versions:
            self._reply(404, {"errors": []})
            return
        wanted = parse_qs(url.query).get("version", [str(len(versions))])[0]
        number = int(wanted) if wanted != "0" else len(versions)
        if not 1 <= number <= len(versions):
            self._reply(404, {"errors": []})
            return
        data = versions[number - 1]
        metadata = {"version": number, "deletion_time": "" if data else "2026-01-01T00:00:00Z",
                    "destroyed": False, "created_time": "2026-01-01T00:00:00Z"}  # fmt: skip
        if data is None:
            self._reply(404, {"data": {"data": None, "metadata": metadata}})
            return
        self._reply(200, {"request_id": "x", "lease_id": "", "renewable": False,
                          "data": {"data": data, "metadata": metadata}})  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: VaultState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeVault:
    """Context manager: `with FakeVault() as vault: vault.url, vault.state`."""

    def __init__(self) -> None:
        self.state = VaultState()
        self._server = _Server(self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeVault:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
