"""The few pieces of the DNS wire format the proxy needs on its hot path.

dnslib builds a full object tree per message, which cost the proxy most of its 0.5 ms budget
(bench/egress.py). The proxy only needs the question, the OPT record and the answer section's
A/AAAA/CNAME records, and it answers refusals itself, so those are parsed and built here;
anything unusual still goes through dnslib.
"""

from __future__ import annotations

import socket
import struct

from msgspec import Struct

T_A, T_CNAME, T_OPT, T_AAAA = 1, 5, 41, 28
QR, RA, TC = 0x8000, 0x0080, 0x0200


class WireError(ValueError):
    pass


class Query(Struct, frozen=True):
    id: int
    flags: int
    qname: str  # as sent (case kept), no trailing dot; "" for the root
    qtype: int
    question: bytes  # the raw question section, echoed in our replies
    has_opt: bool
    udp_size: int


def _name(wire: bytes, offset: int) -> tuple[str, int]:
    """Decode a (possibly compressed) name; returns it and the offset after it in place."""
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(wire):
            raise WireError("name runs past the message")
        length = wire[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(wire):
                raise WireError("truncated pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | wire[offset + 1]
            jumps += 1
            if jumps > 32:
                raise WireError("compression loop")
            continue
        if length & 0xC0:
            raise WireError("unsupported label type")
        offset += 1
        if length == 0:
            break
        label = wire[offset : offset + length]
        if len(label) != length:
            raise WireError("label runs past the message")
        try:
            text = label.decode("ascii")
        except UnicodeDecodeError:
            raise WireError("non-ASCII label") from None
        if "." in text:
            raise WireError("dot inside a label")
        labels.append(text)
        offset += length
    return ".".join(labels), (end if end >= 0 else offset)


def parse_query(wire: bytes) -> Query:
    if len(wire) < 12:
        raise WireError("shorter than a DNS header")
    qid, flags, qd, an, ns, ar = struct.unpack_from("!6H", wire)
    if flags & QR or qd != 1:
        raise WireError("not a single-question query")
    qname, off = _name(wire, 12)
    if off + 4 > len(wire):
        raise WireError("truncated question")
    qtype = struct.unpack_from("!H", wire, off)[0]
    question = wire[12 : off + 4]
    off += 4
    has_opt, udp_size = False, 512
    for _ in range(an + ns + ar):
        _, off = _name(wire, off)
        if off + 10 > len(wire):
            raise WireError("truncated record")
        rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", wire, off)
        if rtype == T_OPT:
            has_opt, udp_size = True, max(512, min(rclass, 4096))
        off += 10 + rdlen
    return Query(qid, flags, qname, qtype, question, has_opt, udp_size)


class Reply(Struct, frozen=True):
    rcode: int
    truncated: bool
    records: list[tuple[str, int, int, str]]  # (owner lowercased, type, ttl, value) of A/AAAA/CNAME


def parse_reply(wire: bytes) -> Reply:
    if len(wire) < 12:
        raise WireError("shorter than a DNS header")
    _qid, flags, qd, an, _ns, _ar = struct.unpack_from("!6H", wire)
    off = 12
    for _ in range(qd):
        _, off = _name(wire, off)
        off += 4
    records: list[tuple[str, int, int, str]] = []
    for _ in range(an):
        owner, off = _name(wire, off)
        if off + 10 > len(wire):
            raise WireError("truncated answer")
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", wire, off)
        off += 10
        rdata = wire[off : off + rdlen]
        if len(rdata) != rdlen:
            raise WireError("rdata runs past the message")
        if rtype == T_A and rdlen == 4:
            records.append((owner.lower(), rtype, ttl, socket.inet_ntop(socket.AF_INET, rdata)))
        elif rtype == T_AAAA and rdlen == 16:
            records.append((owner.lower(), rtype, ttl, socket.inet_ntop(socket.AF_INET6, rdata)))
        elif rtype == T_CNAME:
            target, _ = _name(wire, off)
            records.append((owner.lower(), rtype, ttl, target.lower()))
        off += rdlen
    return Reply(flags & 0x000F, bool(flags & TC), records)


def build_reply(q: Query, rcode: int, ede: tuple[int, str] | None = None, truncated: bool = False) -> bytes:
    """An answer-less reply to q (refusals, NODATA, SERVFAIL), with an EDE when q had EDNS."""
    flags = QR | (q.flags & 0x7900) | RA | rcode  # keep opcode and RD
    if truncated:
        flags |= TC
    additional = b""
    if ede is not None and q.has_opt:
        text = ede[1].encode()
        option = struct.pack("!HHH", 15, 2 + len(text), ede[0]) + text
        additional = b"\x00" + struct.pack("!HHIH", T_OPT, 1232, 0, len(option)) + option
    header = struct.pack("!6H", q.id, flags, 1, 0, 0, 1 if additional else 0)
    return header + q.question + additional
