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
import secrets
import socket
import struct
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dnslib import EDNS0, QTYPE, RCODE, DNSRecord, EDNSOption

from github_runner.egress import detect
from github_runner.egress.allowlist import InvalidName, normalize_name
from github_runner.egress.audit import AuditLog
from github_runner.egress.policy import EffectivePolicy

EDE_OPTION = 15
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
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[qid] = fut
        self._transport.sendto(struct.pack("!H", qid) + wire[2:])
        try:
            reply = await asyncio.wait_for(fut, self.timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._pending.pop(qid, None)
            raise UpstreamError(f"no answer from {self.host}:{self.port} in {self.timeout}s") from None
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


@dataclass
class NameHistory:
    """Which names answered with which address: attribution of connections at the gateway."""

    by_addr: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, addr: str, name: str) -> None:
        self.by_addr[addr][name] = time.time()

    def names(self, addr: str, before: float | None = None) -> list[str]:
        """Names that answered with addr (before `before`: the NFLOG record may arrive late)."""
        seen = self.by_addr.get(addr, {})
        return sorted(n for n, t in seen.items() if before is None or t <= before + 0.001)


Admit = Callable[[list[str], list[tuple[str, tuple[int, int] | None]], int], None]


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
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopped = False

    # --- serving -----------------------------------------------------------------------------

    async def serve(self, udp: Sequence[socket.socket], tcp: Sequence[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for sock in udp:
            transport, _ = await loop.create_datagram_endpoint(lambda: _ServerProtocol(self), sock=sock)
            self._transports.append(transport)
        for sock in tcp:
            self._servers.append(await asyncio.start_server(self._tcp_client, sock=sock))

    async def close(self) -> None:
        self.stopped = True
        for t in self._transports:
            t.close()
        for s in self._servers:
            s.close()
        for task in list(self._tasks):
            task.cancel()
        for s in self._servers:
            await s.wait_closed()

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                wire = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), 10)
                reply = await self.handle(wire, peer[0] if peer else "?", "tcp")
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
            request = DNSRecord.parse(wire)
        except Exception:  # dnslib raises several types for garbage
            self.audit.write("dns", "error", client=client, reason="malformed query")
            return None
        if not request.questions:
            return self._reply(request, RCODE.FORMERR).pack()
        q = request.questions[0]
        qtype = QTYPE.get(q.qtype, str(q.qtype))
        raw_name = str(q.qname)
        base = {"client": client, "qtype": qtype, "transport": transport if transport != "udp" else None}
        try:
            qname = normalize_name(raw_name) if raw_name not in (".", "") else "."
        except InvalidName as exc:
            return self._blocked(request, raw_name, base, f"invalid name: {exc}", RCODE.REFUSED)

        tunnel = detect.tunnelling_reasons(qname, qtype)
        if tunnel:
            self.audit.write(
                "detection", "blocked" if self.mode == "block" else "logged", kind="dns_exfiltration",
                severity="high", qname=qname, qtype=qtype, parent=detect.parent_domain(qname),
                reasons=tunnel,
            )
        volume = self.volume.observe(qname)
        if volume:
            self.audit.write("detection", "logged", kind="dns_exfiltration", severity="medium",
                             qname=qname, parent=detect.parent_domain(qname), reasons=volume)
        mining = detect.mining_name_reasons(qname)

        rules = self.policy.allow.name_rules(qname) if self.mode == "block" else []
        if self.mode == "block":
            if not rules:
                if mining:
                    self.audit.write("detection", "blocked", kind="cryptomining", severity="high",
                                     qname=qname, reasons=mining)
                return self._blocked(request, qname, base, "not in allowlist", RCODE.NXDOMAIN,
                                     f"egress policy: {qname} is not in the allowlist")
            if tunnel:
                return self._blocked(request, qname, base, "looks like DNS tunnelling", RCODE.REFUSED,
                                     f"egress policy: query for {qname} looks like DNS tunnelling",
                                     action="refused")
            if qtype in NODATA_TYPES:
                self.audit.write("dns", "nodata", qname=qname, rcode="NOERROR",
                                 rule=rules[0].canonical, reason=f"{qtype} records are not served", **base)
                return self._reply(request, RCODE.NOERROR).pack()
        elif mining:
            self.audit.write("detection", "logged", kind="cryptomining", severity="high",
                             qname=qname, reasons=mining)

        try:
            reply_wire = await self.upstream.query(wire)
            reply = DNSRecord.parse(reply_wire)
        except UpstreamError as exc:
            self.audit.write("dns", "error", qname=qname, rcode="SERVFAIL", reason=str(exc), **base)
            return self._reply(request, RCODE.SERVFAIL).pack()
        except Exception as exc:  # unparsable upstream answer
            self.audit.write("dns", "error", qname=qname, rcode="SERVFAIL",
                             reason=f"bad upstream answer: {exc}", **base)
            return self._reply(request, RCODE.SERVFAIL).pack()

        answers, cnames, ttl = _chain(reply, qname)
        for addr in answers:
            self.history.add(addr, qname)
        rcode = RCODE.get(reply.header.rcode)
        fields = dict(qname=qname, rcode=rcode, answers=answers or None, cnames=cnames or None,
                      ttl=ttl if answers else None, **base)
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
                return self._reply(request, RCODE.SERVFAIL).pack()
        self.audit.write("dns", "allowed", rule=rules[0].canonical, set_timeout=timeout, **fields)
        if answers or qtype not in ("A", "AAAA"):
            return reply_wire
        return _strip_addresses(reply, qname)

    def _reply(self, request: DNSRecord, rcode: int, ede: tuple[int, str] | None = None) -> DNSRecord:
        reply = request.reply()
        reply.header.rcode = rcode
        reply.header.ra = 1
        if ede is not None and any(rr.rtype == QTYPE.OPT for rr in request.ar):
            data = struct.pack("!H", ede[0]) + ede[1].encode()
            reply.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(EDE_OPTION, data)]))
        return reply

    def _blocked(self, request: DNSRecord, qname: str, base: dict[str, object], reason: str,
                 rcode: int, text: str | None = None, action: str = "blocked") -> bytes:
        self.audit.write("dns", action, qname=qname, rcode=RCODE.get(rcode), rule=None, reason=reason, **base)
        return self._reply(request, rcode, (EDE_BLOCKED, text or reason)).pack()


def _chain(reply: DNSRecord, qname: str) -> tuple[list[str], list[str], int]:
    """Addresses reachable from qname through CNAMEs (others are ignored), the CNAMEs, min TTL."""
    names = {qname}
    cnames: list[str] = []
    changed = True
    while changed:
        changed = False
        for rr in reply.rr:
            owner = str(rr.rname).rstrip(".").lower()
            if rr.rtype == QTYPE.CNAME and owner in names:
                target = str(rr.rdata).rstrip(".").lower()
                if target not in names:
                    names.add(target)
                    cnames.append(target)
                    changed = True
    answers: list[str] = []
    ttls: list[int] = []
    for rr in reply.rr:
        owner = str(rr.rname).rstrip(".").lower()
        if owner in names and rr.rtype in (QTYPE.A, QTYPE.AAAA, QTYPE.CNAME):
            ttls.append(rr.ttl)
            if rr.rtype != QTYPE.CNAME and str(rr.rdata) not in answers:
                answers.append(str(rr.rdata))
    return answers, cnames, min(ttls) if ttls else 0


def _strip_addresses(reply: DNSRecord, qname: str) -> bytes:
    """An answer whose addresses were not reachable from qname: drop them (never unadmitted IPs)."""
    reply.rr = [rr for rr in reply.rr if rr.rtype not in (QTYPE.A, QTYPE.AAAA)]
    return reply.pack()


class _ServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, proxy: DNSProxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy._spawn(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.proxy.handle(data, addr[0], "udp")
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            if len(reply) > _udp_limit(data):
                reply = _truncated(data)
            self.transport.sendto(reply, addr)


def _udp_limit(query: bytes) -> int:
    """512 bytes for a plain client, its advertised EDNS size (at most 4096) otherwise."""
    try:
        req = DNSRecord.parse(query)
    except Exception:
        return 512
    for rr in req.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, min(int(rr.rclass), 4096))
    return 512


def _truncated(query: bytes) -> bytes:
    req = DNSRecord.parse(query)
    reply = req.reply()
    reply.header.tc = 1
    return reply.pack()

