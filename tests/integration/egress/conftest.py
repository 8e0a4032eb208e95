"""A fake internet for the egress tests: real namespaces, real nftables, real sockets.

`world` (one per module) is a namespace `grt-<id>-net` holding the fake servers' addresses
(198.19.N.0/24 and 2001:db8:N::/64, plus one private and one metadata address) and a fake
upstream resolver on the host's 127.0.0.1. Gateways under test use it as their uplink, so no
packet can leave the machine. `job` is a fresh, empty job namespace, as an executor makes one.
Client helpers run inside the job namespace in a thread that joined it (`netns.run_in_netns`).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dnslib import EDNS0, QTYPE, RCODE, DNSRecord

from github_runner.egress import nft
from github_runner.egress.allowlist import Allowlist
from github_runner.egress.audit import AuditLog
from github_runner.egress.gateway import Gateway
from github_runner.egress.netns import run_in_netns
from github_runner.egress.policy import EffectivePolicy
from github_runner.egress.settings import EgressSettings
from tests.conftest import require

HERE = Path(__file__).parent


def host_ready() -> None:
    require(os.geteuid() == 0, "egress integration tests need root (namespaces, nftables)")
    require(shutil.which("ip") is not None and shutil.which("nsenter") is not None, "iproute2/nsenter missing")
    why = nft.available()
    require(why is None, why or "")


def sh(*argv: str, check: bool = True) -> str:
    res = subprocess.run(argv, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {res.stderr.strip()}")
    return res.stdout


@dataclass
class World:
    netns: str
    net4: str  # "198.19.N"
    net6: str  # "2001:db8:N"
    upstream: tuple[str, int]
    dns_log: Path
    srv_log: Path
    procs: list[subprocess.Popen[bytes]]

    def ip4(self, host: int) -> str:
        return f"{self.net4}.{host}"

    def ip6(self, host: int) -> str:
        return f"{self.net6}::{host:x}"

    def _read(self, path: Path) -> list[dict[str, Any]]:
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    def upstream_queries(self, since: float = 0) -> list[dict[str, Any]]:
        return [r for r in self._read(self.dns_log) if r["t"] >= since]

    def server_events(self, since: float = 0) -> list[dict[str, Any]]:
        return [r for r in self._read(self.srv_log) if r["t"] >= since]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], what: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if b"ready" not in line:
        proc.kill()
        raise RuntimeError(f"{what} did not start: {line!r} {proc.stderr.read() if proc.stderr else b''!r}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    host_ready()
    n = 64 + secrets.randbelow(150)
    tag = secrets.token_hex(3)
    name = f"grt-{tag}-net"
    tmp = tmp_path_factory.mktemp("egress-world")
    world = World(name, f"198.19.{n}", f"2001:db8:{n:x}", ("127.0.0.1", _free_port()),
                  tmp / "upstream.jsonl", tmp / "servers.jsonl", [])
    sh("ip", "netns", "add", name)
    try:
        # no dummy module on these machines: the servers' addresses live on lo (/32, /128)
        batch = ["link set lo up"]
        for host in (10, 11, 12, 13, 20, 30, 53):
            batch.append(f"addr add {world.ip4(host)}/32 dev lo")
        for host in (0x10, 0x20):
            batch.append(f"addr add {world.net6}::{host:x}/128 dev lo nodad")
        batch += ["addr add 10.66.0.5/32 dev lo", "addr add 169.254.169.254/32 dev lo"]
        subprocess.run(["ip", "-n", name, "-b", "-"], input="\n".join(batch) + "\n", text=True, check=True)
        py = sys.executable
        srv = subprocess.Popen(["ip", "netns", "exec", name, py, str(HERE / "fakeworld.py"), "servers",
                                str(world.srv_log), world.net4, world.net6],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        world.procs.append(srv)
        _wait_ready(srv, "fake servers")
        dns = subprocess.Popen([py, str(HERE / "fakeworld.py"), "dns", str(world.upstream[1]),
                                str(world.dns_log), world.net4, world.net6],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        world.procs.append(dns)
        _wait_ready(dns, "fake upstream DNS")
        yield world
    finally:
        for proc in world.procs:
            proc.kill()
            proc.wait()
        sh("ip", "netns", "del", name, check=False)


@pytest.fixture
def job() -> Iterator[Path]:
    host_ready()
    name = f"grt-{secrets.token_hex(3)}-job"
    sh("ip", "netns", "add", name)
    try:
        yield Path("/run/netns") / name
    finally:
        sh("ip", "netns", "del", name, check=False)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    d = tmp_path / "state"
    d.mkdir()
    return d


def make_policy(world: World, mode: str, allow: list[str], **settings: Any) -> EffectivePolicy:
    settings = {"uplink_netns": world.netns, "ttl_floor": 60, "ttl_grace": 30, **settings}
    s = EgressSettings(mode=mode, allow=allow, **settings)
    return EffectivePolicy(mode, Allowlist.parse(allow), Allowlist.parse(s.deny), s)  # type: ignore[arg-type]


def make_gateway(world: World, job: Path, tmp: Path, mode: str, allow: list[str], secrets_: tuple[str, ...] = (),
                 **settings: Any) -> Gateway:
    policy = make_policy(world, mode, allow, **settings)
    audit = AuditLog(tmp / f"egress-{mode}.jsonl", "run-1/build", mode, secrets=secrets_)
    audit.set_step({"index": 1, "name": "Run tests", "id": "tests"})
    return Gateway(job, policy, audit, world.upstream, state_dir=tmp / "state")


# --- clients, run inside the job namespace ------------------------------------------------


@dataclass
class DnsResult:
    rcode: str
    answers: list[str]
    ede: str | None
    types: list[str]


def dns_query(server: str, name: str, qtype: str = "A", tcp: bool = False, timeout: float = 3.0) -> DnsResult:
    q = DNSRecord.question(name, qtype)
    q.add_ar(EDNS0(udp_len=1232))
    wire = q.pack()
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    if tcp:
        with socket.create_connection((server, 53), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            head = _recv_exact(s, 2)
            data = _recv_exact(s, struct.unpack("!H", head)[0])
    else:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(wire, (server, 53))
            data = s.recv(65535)
    reply = DNSRecord.parse(data)
    ede = None
    for rr in reply.ar:
        if rr.rtype == QTYPE.OPT:
            for opt in rr.rdata:
                if opt.code == 15:
                    ede = opt.data[2:].decode()
    return DnsResult(RCODE.get(reply.header.rcode), [str(r.rdata) for r in reply.rr if r.rtype in (1, 28)],
                     ede, [QTYPE.get(r.rtype) for r in reply.rr])


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def tcp_connect(host: str, port: int, timeout: float = 2.0) -> str:
    """'ok:<first line>' | 'refused' | 'timeout' | 'unreachable' | 'error:<errno>'."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        data = s.recv(200).decode().strip()
        return f"ok:{data}"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "timeout"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "unreachable"
        return f"error:{exc.errno}"
    finally:
        s.close()


def udp_send(host: str, port: int, payload: bytes = b"exfil-payload-16", count: int = 2) -> str:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        try:
            for _ in range(count):
                s.send(payload)
                time.sleep(0.1)
        except OSError as exc:
            return f"error:{exc.errno}"
    return "sent"


def ping(host: str, timeout: float = 1.0) -> bool:
    """One ICMP echo (raw socket: the tests run as root). True when a reply came back."""
    fam, proto, etype = (socket.AF_INET, socket.IPPROTO_ICMP, 8)
    with socket.socket(fam, socket.SOCK_RAW, proto) as s:
        s.settimeout(timeout)
        body = struct.pack("!BBHHH", etype, 0, 0, 0x4242, 1) + b"pingpong"
        csum = _checksum(body)
        body = body[:2] + struct.pack("!H", csum) + body[4:]
        s.sendto(body, (host, 0))
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                data = s.recv(1500)
            except (socket.timeout, TimeoutError):
                return False
            ihl = (data[0] & 0x0F) * 4
            if data[ihl] == 0:  # echo reply
                return True
        return False


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


async def in_job(job: Path, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking client call inside the job namespace without blocking the gateway's loop."""
    return await asyncio.to_thread(run_in_netns, job, lambda: fn(*args, **kwargs))


def records(gw: Gateway, event: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
    return [r for r in gw.audit.records
            if (event is None or r["event"] == event) and (action is None or r["action"] == action)]


async def settle() -> None:
    """Let the NFLOG reader pick up what the kernel logged."""
    await asyncio.sleep(0.15)
