"""DNS wire parsing, detections and audit masking: the proxy's pure parts."""

from __future__ import annotations

import base64
import struct

import pytest
from dnslib import AAAA, CNAME, EDNS0, QTYPE, RR, A, DNSRecord

from github_runner.egress import dnswire
from github_runner.egress.audit import AuditLog
from github_runner.egress.detect import VolumeTracker, connection_reasons, mining_name_reasons, tunnelling_reasons
from github_runner.egress.nflog import decode_ip


def test_parse_query_with_edns_and_build_reply_with_ede() -> None:
    q = DNSRecord.question("Blocked.Example", "AAAA")
    q.add_ar(EDNS0(udp_len=1400))
    query = dnswire.parse_query(q.pack())
    assert (query.qname, query.qtype, query.has_opt, query.udp_size) == ("Blocked.Example", 28, True, 1400)
    reply = DNSRecord.parse(dnswire.build_reply(query, 3, (15, "egress policy: blocked.example is not in the allowlist")))
    assert reply.header.id == q.header.id and reply.header.rcode == 3 and reply.header.qr == 1
    assert str(reply.q.qname) == "Blocked.Example."
    (opt,) = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
    data = opt.rdata[0].data
    assert opt.rdata[0].code == 15 and struct.unpack("!H", data[:2])[0] == 15
    assert data[2:].decode() == "egress policy: blocked.example is not in the allowlist"
    plain = dnswire.parse_query(DNSRecord.question("x.example").pack())
    assert DNSRecord.parse(dnswire.build_reply(plain, 3, (15, "no EDE without EDNS"))).ar == []


def test_parse_reply_follows_compression() -> None:
    q = DNSRecord.question("www.allowed.example")
    r = q.reply()
    r.add_answer(RR("www.allowed.example", QTYPE.CNAME, rdata=CNAME("edge.cdn.example"), ttl=30))
    r.add_answer(RR("edge.cdn.example", QTYPE.A, rdata=A("198.51.100.11"), ttl=5))
    r.add_answer(RR("edge.cdn.example", QTYPE.AAAA, rdata=AAAA("2001:db8::11"), ttl=7))
    parsed = dnswire.parse_reply(r.pack())
    assert parsed.records == [("www.allowed.example", 5, 30, "edge.cdn.example"),
                              ("edge.cdn.example", 1, 5, "198.51.100.11"),
                              ("edge.cdn.example", 28, 7, "2001:db8::11")]


@pytest.mark.parametrize("wire", [
    b"\x00" * 5,  # shorter than a header
    struct.pack("!6H", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c",  # pointer to itself
    struct.pack("!6H", 1, 0, 1, 0, 0, 0) + b"\x05ab",  # label past the end
    struct.pack("!6H", 1, 0x8000, 1, 0, 0, 0) + b"\x00\x00\x01\x00\x01",  # a response, not a query
])
def test_malformed_queries_are_rejected(wire: bytes) -> None:
    with pytest.raises(dnswire.WireError):
        dnswire.parse_query(wire)


def test_tunnelling_needs_two_signals() -> None:
    payload = base64.b32encode(b"AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMI/K7MDENG").decode().rstrip("=").lower()
    name = f"{payload[:60]}.{payload[60:]}.x.attacker.example"
    reasons = tunnelling_reasons(name, "TXT")
    assert any("label of 60" in r for r in reasons) and any("TXT query" in r for r in reasons)
    assert tunnelling_reasons("d1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2.cloudfront.net", "A") != []
    assert tunnelling_reasons("productionresultssa12.blob.core.windows.net", "A") == []
    assert tunnelling_reasons("registry.npmjs.org", "A") == []


def test_volume_alerts_once_per_window() -> None:
    v = VolumeTracker()
    alerts = [v.observe(f"n{i}.cdn.example", now=i * 0.1) for i in range(45)]
    assert sum(1 for a in alerts if a) == 1 and "20 distinct names under cdn.example" in next(a for a in alerts if a)[0]
    assert v.observe("late.cdn.example", now=200.0) == []  # the window slid past the burst


def test_mining_and_bypass_signals() -> None:
    assert mining_name_reasons("pool.supportxmr.com") == ["known mining pool supportxmr.com"]
    assert mining_name_reasons("pool.miner.example") == ["mining-pool-like name"]
    assert mining_name_reasons("pool.ntp.org") == []
    assert [k for k, _ in connection_reasons("tcp", 3333)] == ["cryptomining"]
    assert [k for k, _ in connection_reasons("tcp", 853)] == ["dns_bypass"]
    assert connection_reasons("tcp", 443) == []


def test_secret_in_dns_name_is_masked(tmp_path) -> None:
    secret = "ghp_S3cretTokenValue42"
    audit = AuditLog(tmp_path / "a.jsonl", "j", "audit", secrets=[secret])
    b32 = base64.b32encode(secret.encode()).decode().rstrip("=").lower()
    rec = audit.write("dns", "logged", qname=f"{b32[:30]}.{b32[30:]}.t.attacker.example")
    assert rec["qname"] == f"***[{len(b32) + 3} chars].attacker.example"  # parent and length kept
    rec2 = audit.write("dns", "logged", qname="registry.npmjs.org")
    assert rec2["qname"] == "registry.npmjs.org"
    text = (tmp_path / "a.jsonl").read_text()
    assert b32[:20] not in text


def test_nflog_payload_decoding() -> None:
    ip = bytes.fromhex("45000028000040004006") + b"\x00\x00" + bytes([198, 18, 0, 2, 198, 51, 100, 20])
    tcp = struct.pack("!HH", 40000, 443) + b"\x00" * 16
    pkt = decode_ip("gr:block", 1.0, ip + tcp)
    assert pkt is not None and (pkt.proto, pkt.src, pkt.dst, pkt.sport, pkt.dport) == (
        "tcp", "198.18.0.2", "198.51.100.20", 40000, 443)
