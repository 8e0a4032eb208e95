"""The gateway's watchdog: notices a gateway part that stopped working while the job runs.

The gateway lives in the runner's process and namespaces, out of the job's reach, but its
parts can still fail under it: a DNS proxy socket destroyed (`ss -K`), an event-loop task that
died, the nft table flushed or deleted by an operator or a bug. Without the proxy the job's new
lookups fail and the rules keep rejecting, which is closed but silent; without the table the
gateway would forward unfiltered, which is open. So every `interval` seconds the watchdog asks
the proxy a question over UDP and TCP on each of its addresses, from inside the gateway's
namespace (the path the job's queries take, minus the job), and compares the rules with the
ones installed at start. The first failure is final: the gateway calls `on_failure`, which in
block mode cuts the job's link and fails the job, and in audit mode reports it.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from github_runner.egress import nftset
from github_runner.egress.netns import interfaces, run_in_netns

PROBE_SUFFIX = "gr-health.invalid"
INTERVAL = 1.0
PROBE_TIMEOUT = 1.5
MISSES = 2  # consecutive missed probes before the proxy counts as dead (a loaded host stalls)
TABLE = "gr"
STATIC_SETS = ("deny4", "deny6", "private4", "private6")  # the allow sets change by design


def probe_name() -> str:
    """A fresh name per gateway: the proxy answers only this one without forwarding or logging."""
    return f"p{secrets.token_hex(6)}.{PROBE_SUFFIX}"


def _query(qname: str) -> tuple[int, bytes]:
    qid = secrets.randbelow(65536)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in qname.split("."))
    return qid, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", 1, 1)


class Watchdog:
    """Probes one gateway until stopped or until the first failure, which it reports once."""

    def __init__(self, netns: Path, link: str, servers: Sequence[str], qname: str,
                 on_failure: Callable[[str, str], Awaitable[None]], interval: float = INTERVAL) -> None:
        self.netns = netns
        self.link = link  # the gateway's end of the job veth: gone once the job's netns is
        self.servers = list(servers)
        self.qname = qname
        self.reader = run_in_netns(netns, lambda: nftset.RuleReader(TABLE, STATIC_SETS))
        self.on_failure = on_failure
        self.interval = interval
        self.baseline = self.rules()
        self.failure: tuple[str, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._misses: dict[str, int] = {}
        self._reported: asyncio.Task[tuple[str, str]] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="egress-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self.reader.close()

    def rules(self) -> bytes:
        """The table's chains and rules and the static sets' elements; raises OSError when gone."""
        return self.reader.snapshot()

    async def check(self, final: bool = False) -> tuple[str, str] | None:
        """One round; returns (component, reason) of the failure, if any. `final`: at job end,
        when the job's namespace (and the proxy's link with it) may already be gone, only the
        rules and the proxy's own error reports count."""
        if self.failure is not None:
            return self.failure
        try:
            current = self.rules()
        except Exception as exc:  # the table or a chain is gone
            return await self._fail("nftables", f"the gateway's nft table is broken: {exc}")
        if current != self.baseline:
            return await self._fail("nftables", "the gateway's nft rules were changed while the job ran")
        if final:
            return None
        for server in self.servers:
            for kind in ("udp", "tcp"):
                key = f"{kind}:{server}"
                try:
                    await asyncio.wait_for(self._probe(server, kind), PROBE_TIMEOUT)
                    self._misses[key] = 0
                except (OSError, asyncio.TimeoutError, ValueError) as exc:
                    if not self._link_up():
                        return None  # the job is over and its namespace gone: nothing left to serve
                    self._misses[key] = self._misses.get(key, 0) + 1
                    if self._misses[key] >= MISSES:
                        why = str(exc) or type(exc).__name__
                        return await self._fail("dns_proxy", f"the DNS proxy stopped answering on "
                                                             f"{kind} [{server}]:53 ({why})")
        return None

    def _link_up(self) -> bool:
        return self.link in run_in_netns(self.netns, interfaces)

    def report(self, component: str, reason: str) -> None:
        """A part told us it broke (a callback, outside any coroutine): fail without waiting
        for the next probe."""
        if self.failure is None and self._reported is None:
            self._reported = asyncio.get_running_loop().create_task(self._fail(component, reason))

    async def _fail(self, component: str, reason: str) -> tuple[str, str]:
        if self.failure is None:
            self.failure = (component, reason)
            await self.on_failure(component, reason)
        return self.failure

    async def _loop(self) -> None:
        while self.failure is None:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the watchdog itself broke: that is a gateway failure too
                await self._fail("watchdog", f"the gateway watchdog failed: {exc!r}")

    async def _probe(self, server: str, kind: str) -> None:
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        stype = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
        sock = run_in_netns(self.netns, lambda: socket.socket(family, stype))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        qid, wire = _query(self.qname)
        try:
            if kind == "udp":
                await loop.sock_sendto(sock, wire, (server, 53))
                reply = await loop.sock_recv(sock, 512)
            else:
                await loop.sock_connect(sock, (server, 53))
                await loop.sock_sendall(sock, struct.pack("!H", len(wire)) + wire)
                head = await loop.sock_recv(sock, 2)
                if len(head) < 2:
                    raise ConnectionError("connection closed")
                reply = b""
                while len(reply) < struct.unpack("!H", head)[0]:
                    chunk = await loop.sock_recv(sock, 512)
                    if not chunk:
                        raise ConnectionError("connection closed")
                    reply += chunk
        finally:
            sock.close()
        if len(reply) < 4 or struct.unpack_from("!H", reply)[0] != qid or reply[3] & 0x0F:
            raise ValueError("unexpected answer")
