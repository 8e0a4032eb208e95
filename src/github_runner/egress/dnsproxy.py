"""The job's only resolver: decides by name, admits answered addresses, logs every query.

Block mode: a name off the allowlist gets NXDOMAIN with an Extended DNS Error (15, Blocked) and
is never forwarded, so a tunnel through it cannot leave the machine; for an allowed name every
A/AAAA reached from the queried name through its CNAME chain goes into the nft sets with a
timeout of max(TTL, floor) + grace *before* the answer is sent, so the job can never connect
faster than the rules. HTTPS/SVCB get NODATA (their address hints would bypass the sets).
Audit mode forwards everything and logs it. An upstream failure is SERVFAIL, never an open door.

Listening sockets are created by the gateway inside its namespace; the upstream socket is
created here, in the runner's namespace, so a resolver on the host's loopback works.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import socket
import struct
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from dnslib import QTYPE, RCODE, DNSRecord
from msgspec import Struct, field

from github_runner.egress import detect, dnswire
from github_runner.egress.allowlist import InvalidName, normalize_name
from github_runner.egress.audit import AuditLog, parent_domain
from github_runner.egress.policy import EffectivePolicy

EDE_BLOCKED = 15
EDE_PROHIBITED = 18
NODATA_TYPES = {"HTTPS", "SVCB"}
UPSTREAM_TIMEOUT = 2.0


class UpstreamError(Exception):
    pass


class _UpstreamProtocol(asyncio.DatagramProtocol):
    def __init__(self, pending: dict[int, asyncio.Future[bytes]]) -> None:
        self.pending = pending

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 2:
            return
        fut = self.pending.pop(struct.unpack_from("!H", data)[0], None)
        if fut is not None and not fut.done():
            fut.set_result(data)


def _expire(fut: asyncio.Future[bytes]) -> None:
    if not fut.done():
        fut.set_exception(asyncio.TimeoutError())


class Upstream:
    """One connected UDP socket to the upstream resolver; queries are demultiplexed by ID."""

    def __init__(self, host: str, port: int, timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _UpstreamProtocol(self._pending), remote_addr=(self.host, self.port), family=family
        )

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()

    async def query(self, wire: bytes) -> bytes:
        if self._transport is None:
            raise UpstreamError("upstream not started")
        orig_id = struct.unpack_from("!H", wire)[0]
        qid = secrets.randbelow(65536)
        while qid in self._pending:
            qid = secrets.randbelow(65536)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()
        self._pending[qid] = fut
        self._transport.sendto(struct.pack("!H", qid) + wire[2:])
        # a timer, not asyncio.wait_for: wait_for wraps every query in a task (~50 us, bench/egress.py)
        timer = loop.call_later(self.timeout, _expire, fut)
        try:
            reply = await fut
        except (asyncio.TimeoutError, asyncio.CancelledError):
            raise UpstreamError(f"no answer from {self.host}:{self.port} in {self.timeout}s") from None
        finally:
            timer.cancel()
            self._pending.pop(qid, None)
        if len(reply) > 2 and reply[2] & 0x02:  # TC: retry over TCP
            reply = await self._query_tcp(wire)
        return struct.pack("!H", orig_id) + reply[2:]

    async def _query_tcp(self, wire: bytes) -> bytes:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
            try:
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
                length = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), self.timeout))[0]
                return await asyncio.wait_for(reader.readexactly(length), self.timeout)
            finally:
                writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            raise UpstreamError(f"TCP query to {self.host}:{self.port} failed: {exc}") from None


class NameHistory(Struct):
    """Which names answered with which address: attribution of connections at the gateway."""

    by_addr: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, addr: str, name: str) -> None:
        self.by_addr[addr][name] = time.time()

    def names(self, addr: str, before: float | None = None) -> list[str]:
        """Names that answered with addr (before `before`: the NFLOG record may arrive late)."""
        seen = self.by_addr.get(addr, {})
        return sorted(n for n, t in seen.items() if before is None or t <= before + 0.001)


Admit = Callable[[list[str], Sequence[tuple[str, tuple[int, int] | None]], int], None]


class DNSProxy:
    def __init__(
        self,
        policy: EffectivePolicy,
        audit: AuditLog,
        upstream: Upstream,
        admit: Admit | None,
        history: NameHistory | None = None,
    ) -> None:
        self.policy = policy
        self.mode = policy.mode
        self.audit = audit
        self.upstream = upstream
        self.admit = admit
        self.history = history or NameHistory()
        self.volume = detect.VolumeTracker()
        self._listeners: list[socket.socket] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopped = False
        self.probe_name: str | None = None  # the gateway watchdog's question (health.py)
        self.failure: str | None = None  # why a listening socket stopped working
        self.on_broken: Callable[[str], None] | None = None

    # --- serving -----------------------------------------------------------------------------

    async def serve(self, udp: Sequence[socket.socket], tcp: Sequence[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for sock in udp:
            transport, _ = await loop.create_datagram_endpoint(lambda: _ServerProtocol(self), sock=sock)
            self._transports.append(transport)
        for sock in tcp:  # own accept loop: asyncio's spins forever on a destroyed listener
            loop.add_reader(sock.fileno(), self._accept, sock)
            self._listeners.append(sock)

    async def close(self) -> None:
        self.stopped = True
        for t in self._transports:
            t.close()
        self._unlisten()
        for task in list(self._tasks):
            task.cancel()

    def _unlisten(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._listeners:
            if sock.fileno() >= 0:
                loop.remove_reader(sock.fileno())
        self._listeners = []

    def broken(self, reason: str) -> None:
        """A listening socket stopped working: stop serving and tell the gateway (once)."""
        if self.failure is None:
            self.failure = reason
            for t in self._transports:
                t.close()
            self._unlisten()
            if self.on_broken is not None:
                self.on_broken(reason)

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                conn, _addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return  # transient; the client retries
                self.broken(f"TCP listener {sock.getsockname()[0]}:53 failed: {exc}")
                return
            conn.setblocking(False)
            self._spawn(self._tcp_conn(conn))

    async def _tcp_conn(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn)
        except OSError:
            conn.close()
            return
        await self._tcp_client(reader, writer)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                wire = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), 10)
                try:
                    reply = await self.handle(wire, peer[0] if peer else "?", "tcp")
                except Exception as exc:  # see _ServerProtocol._answer
                    self.audit.write("dns", "error", reason=f"proxy error: {exc!r}")
                    reply = dnswire.build_reply(dnswire.parse_query(wire), RCODE.SERVFAIL)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    # --- one query ---------------------------------------------------------------------------

    async def handle(self, wire: bytes, client: str, transport: str = "udp") -> bytes | None:
        try:
            query = dnswire.parse_query(wire)
        except dnswire.WireError as exc:
            self.audit.write("dns", "error", client=client, reason=f"malformed query: {exc}")
            return None
        if self.probe_name is not None and query.qname.lower() == self.probe_name:
            return dnswire.build_reply(query, RCODE.NOERROR)  # alive; not forwarded, not logged
        qtype = QTYPE.get(query.qtype, str(query.qtype))
        base: dict[str, Any] = {"client": client, "qtype": qtype,
                                "transport": transport if transport != "udp" else None}
        try:
            qname = normalize_name(query.qname) if query.qname else "."
        except InvalidName as exc:
            return self._blocked(query, query.qname, base, f"invalid name: {exc}", RCODE.REFUSED)

        tunnel = detect.tunnelling_reasons(qname, qtype)
        if tunnel:
            self.audit.write(
                "detection", "blocked" if self.mode == "block" else "logged", kind="dns_exfiltration",
                severity="high", qname=qname, qtype=qtype, parent=parent_domain(qname),
                reasons=tunnel,
            )
        volume = self.volume.observe(qname)
        if volume:
            self.audit.write("detection", "logged", kind="dns_exfiltration", severity="medium",
                             qname=qname, parent=parent_domain(qname), reasons=volume)
        mining = detect.mining_name_reasons(qname)

        rules = self.policy.allow.name_rules(qname) if self.mode == "block" else []
        if self.mode == "block":
            if not rules:
                if mining:
                    self.audit.write("detection", "blocked", kind="cryptomining", severity="high",
                                     qname=qname, reasons=mining)
                return self._blocked(query, qname, base, "not in allowlist", RCODE.NXDOMAIN,
                                     f"egress policy: {qname} is not in the allowlist")
            if tunnel:
                return self._blocked(query, qname, base, "looks like DNS tunnelling", RCODE.REFUSED,
                                     f"egress policy: query for {qname} looks like DNS tunnelling",
                                     action="refused")
            if qtype in NODATA_TYPES:
                self.audit.write("dns", "nodata", qname=qname, rcode="NOERROR",
                                 rule=rules[0].canonical, reason=f"{qtype} records are not served", **base)
                return dnswire.build_reply(query, RCODE.NOERROR)
        elif mining:
            self.audit.write("detection", "logged", kind="cryptomining", severity="high",
                             qname=qname, reasons=mining)

        try:
            reply_wire = await self.upstream.query(wire)
            reply = dnswire.parse_reply(reply_wire)
        except UpstreamError as exc:
            self.audit.write("dns", "error", qname=qname, rcode="SERVFAIL", reason=str(exc), **base)
            return dnswire.build_reply(query, RCODE.SERVFAIL)
        except dnswire.WireError as exc:
            self.audit.write("dns", "error", qname=qname, rcode="SERVFAIL",
                             reason=f"bad upstream answer: {exc}", **base)
            return dnswire.build_reply(query, RCODE.SERVFAIL)

        answers, cnames, ttl, foreign = _chain(reply, qname)
        for addr in answers:
            self.history.add(addr, qname)
        fields: dict[str, Any] = dict(qname=qname, rcode=RCODE.get(reply.rcode), answers=answers or None,
                      cnames=cnames or None, ttl=ttl if answers else None, **base)
        if self.mode != "block":
            self.audit.write("dns", "logged", **fields)
            return reply_wire
        timeout = None
        if answers and self.admit is not None:
            settings = self.policy.settings
            timeout = max(ttl, settings.ttl_floor) + settings.ttl_grace
            proto_ports = sorted({(r.proto, r.ports) for r in rules}, key=str)
            try:
                self.admit(answers, proto_ports, timeout)
            except Exception as exc:  # nft refused: answer SERVFAIL, never an unadmitted IP
                self.audit.write("dns", "error", qname=qname, rcode="SERVFAIL",
                                 reason=f"cannot admit addresses: {exc}", **base)
                return dnswire.build_reply(query, RCODE.SERVFAIL)
        self.audit.write("dns", "allowed", rule=rules[0].canonical, set_timeout=timeout, **fields)
        return _strip_foreign(reply_wire, names={qname, *cnames}) if foreign else reply_wire

    def _blocked(self, query: dnswire.Query, qname: str, base: dict[str, Any], reason: str,
                 rcode: int, text: str | None = None, action: str = "blocked") -> bytes:
        self.audit.write("dns", action, qname=qname, rcode=RCODE.get(rcode), rule=None, reason=reason, **base)
        return dnswire.build_reply(query, rcode, (EDE_BLOCKED, text or reason))


def _chain(reply: dnswire.Reply, qname: str) -> tuple[list[str], list[str], int, bool]:
    """Addresses reachable from qname through CNAMEs, the CNAMEs, the min TTL, and whether the
    answer carries addresses for other owners (a hostile or broken upstream): never admitted."""
    names = {qname}
    cnames: list[str] = []
    changed = True
    while changed:
        changed = False
        for owner, rtype, _ttl, value in reply.records:
            if rtype == dnswire.T_CNAME and owner in names and value not in names:
                names.add(value)
                cnames.append(value)
                changed = True
    answers: list[str] = []
    ttls: list[int] = []
    foreign = False
    for owner, rtype, ttl, value in reply.records:
        if owner not in names:
            foreign = foreign or rtype != dnswire.T_CNAME
            continue
        ttls.append(ttl)
        if rtype != dnswire.T_CNAME and value not in answers:
            answers.append(value)
    return answers, cnames, min(ttls) if ttls else 0, foreign


def _strip_foreign(wire: bytes, names: set[str]) -> bytes:
    """Drop address records whose owner is not on the queried name's CNAME chain."""
    reply = DNSRecord.parse(wire)
    reply.rr = [rr for rr in reply.rr
                if rr.rtype not in (QTYPE.A, QTYPE.AAAA) or str(rr.rname).rstrip(".").lower() in names]
    return bytes(reply.pack())


class _ServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, proxy: DNSProxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def error_received(self, exc: Exception) -> None:
        """An unconnected UDP socket reports no ICMP errors: any error means the socket is gone
        (e.g. destroyed with `ss -K`: ECONNABORTED)."""
        sock = self.transport.get_extra_info("sockname") if self.transport is not None else None
        self.proxy.broken(f"UDP socket {sock[0] if sock else '?'}:53 failed: {exc}")

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy._spawn(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = await self.proxy.handle(data, addr[0], "udp")
        except Exception as exc:  # a proxy bug must answer SERVFAIL, not leave the client hanging
            self.proxy.audit.write("dns", "error", client=addr[0], reason=f"proxy error: {exc!r}")
            try:
                reply = dnswire.build_reply(dnswire.parse_query(data), RCODE.SERVFAIL)
            except dnswire.WireError:
                return
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            query = dnswire.parse_query(data)
            if len(reply) > query.udp_size:  # the client retries over TCP
                reply = dnswire.build_reply(query, RCODE.NOERROR, truncated=True)
            self.transport.sendto(reply, addr)
