"""Fake upstream DNS and fake internet servers for the egress tests (run as a script).

    python fakeworld.py dns PORT LOG NET4 NET6     authoritative fake upstream on 127.0.0.1:PORT
    python fakeworld.py servers LOG NET4 NET6      TCP/UDP servers inside the fake-internet netns

Both append one JSON line per query/connection/datagram to LOG, which is how the tests prove
what did (and did not) leave the runner. NET4/NET6 are the fake internet's prefixes
(e.g. 198.19.7 and 2001:db8:7): the zone answers with addresses inside them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, TXT, A, DNSRecord

ECHO_PORT = 7000
TCP_PORTS = (80, 443, 3333, 8080, 5432, 853, ECHO_PORT)
UDP_PORTS = (9999, 443, 53)


def zone(net4: str, net6: str) -> dict[str, list[tuple[str, object, int]]]:
    return {
        "allowed.example": [("A", A(f"{net4}.10"), 60), ("AAAA", AAAA(f"{net6}::10"), 60)],
        "www.allowed.example": [("CNAME", CNAME("edge.cdn.example"), 60)],
        "edge.cdn.example": [("A", A(f"{net4}.11"), 5)],
        "multi.allowed.example": [("A", A(f"{net4}.10"), 60), ("A", A(f"{net4}.12"), 60)],
        "short.allowed.example": [("A", A(f"{net4}.13"), 1)],
        "blocked.example": [("A", A(f"{net4}.20"), 60), ("AAAA", AAAA(f"{net6}::20"), 60)],
        "pool.miner.example": [("A", A(f"{net4}.30"), 60)],
        "intranet.allowed.example": [("A", A("10.66.0.5"), 60)],
        "svc.allowed.example": [("A", A(f"{net4}.10"), 60)],
    }


def answer(request: DNSRecord, records: dict[str, list[tuple[str, object, int]]], net4: str) -> DNSRecord:
    reply = request.reply()
    q = request.q
    name = str(q.qname).rstrip(".").lower()
    qtype = QTYPE[q.qtype]
    if name.endswith("attacker.example"):
        if qtype == "TXT":
            reply.add_answer(RR(q.qname, QTYPE.TXT, rdata=TXT("ack"), ttl=1))
        else:
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(f"{net4}.20"), ttl=1))
        return reply
    if qtype in ("HTTPS", "SVCB") and name in records:
        # a hint-carrying record, served as opaque rdata: the proxy must not pass it on in block mode
        from dnslib import RD

        reply.add_answer(RR(q.qname, q.qtype, rdata=RD(b"\x00\x01\x00"), ttl=60))
        return reply
    rrs = records.get(name)
    if rrs is None and name.endswith(".allowed.example"):
        rrs = [("A", A(f"{net4}.10"), 60)]
    if rrs is None:
        reply.header.rcode = RCODE.NXDOMAIN
        return reply
    owner = q.qname
    for _ in range(5):
        chained = False
        for rtype, rdata, ttl in rrs:
            if rtype == "CNAME":
                reply.add_answer(RR(owner, QTYPE.CNAME, rdata=rdata, ttl=ttl))
                owner = rdata.label  # type: ignore[attr-defined]
                rrs = records.get(str(owner).rstrip("."), [])
                chained = True
                break
            if rtype == qtype:
                reply.add_answer(RR(owner, getattr(QTYPE, rtype), rdata=rdata, ttl=ttl))
        if not chained:
            break
    if name == "multi.allowed.example" and qtype == "A":
        # a hostile extra record for an unrelated owner: must never be admitted
        reply.add_answer(RR("evil.example", QTYPE.A, rdata=A(f"{net4}.20"), ttl=60))
    return reply


def log_line(path: str, **rec: object) -> None:
    rec["t"] = time.time()
    with open(path, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


class DnsServer(asyncio.DatagramProtocol):
    def __init__(self, log: str, records: dict, net4: str, tag: str) -> None:
        self.log, self.records, self.net4, self.tag = log, records, net4, tag

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        request = DNSRecord.parse(data)
        log_line(self.log, kind="dns", server=self.tag, qname=str(request.q.qname).rstrip("."),
                 qtype=QTYPE[request.q.qtype])
        self.transport.sendto(answer(request, self.records, self.net4).pack(), addr)  # type: ignore[attr-defined]


async def dns_main(port: int, log: str, net4: str, net6: str) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: DnsServer(log, zone(net4, net6), net4, "upstream"), local_addr=("127.0.0.1", port)
    )
    print("ready", flush=True)
    await asyncio.Event().wait()


async def servers_main(log: str, net4: str, net6: str) -> None:
    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        log_line(log, kind="tcp", dst=local[0], dport=local[1], src=peer[0])
        if local[1] == ECHO_PORT:  # long-lived flow: echo lines until the client closes
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
            writer.close()
            return
        writer.write(f"hello from {local[0]}:{local[1]}\n".encode())
        await writer.drain()
        writer.close()

    class Udp(asyncio.DatagramProtocol):
        def __init__(self, port: int) -> None:
            self.port = port

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple) -> None:
            log_line(log, kind="udp", dport=self.port, src=addr[0], bytes=len(data))

    loop = asyncio.get_running_loop()
    for port in TCP_PORTS:
        for host, fam in (("0.0.0.0", socket.AF_INET), ("::", socket.AF_INET6)):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, port))
            await asyncio.start_server(tcp, sock=s)
    for port in UDP_PORTS:
        if port == 53:  # a rogue resolver: it must never see a query (they are redirected)
            await loop.create_datagram_endpoint(
                lambda: DnsServer(log, zone(net4, net6), net4, "rogue"), local_addr=("0.0.0.0", 53)
            )
            continue
        for host, fam in (("0.0.0.0", socket.AF_INET), ("::", socket.AF_INET6)):
            u = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            u.bind((host, port))
            await loop.create_datagram_endpoint(lambda p=port: Udp(p), sock=u)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if sys.argv[1] == "dns":
        asyncio.run(dns_main(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]))
    else:
        asyncio.run(servers_main(sys.argv[2], sys.argv[3], sys.argv[4]))
