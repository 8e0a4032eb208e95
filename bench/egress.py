#!/usr/bin/env python3
"""Cost of the egress gateway, each figure next to a baseline measured in the same run.

    sudo uv run python bench/egress.py [--queries 2000] [--seconds 2] [--rounds 3] [--setups 10]

1. DNS lookup latency (p50/p99) through the proxy vs directly to the same fake upstream on
   127.0.0.1: allowed names that need a fresh nft set update, allowed names already admitted,
   and blocked names (answered locally). Target: <= 0.5 ms added at p50, <= 2 ms at p99.
2. TCP throughput from a job namespace through the gateway (block mode, destination allowed)
   vs a plain veth pair between the same kind of namespaces. Target: >= 90 %.
3. Job start overhead: gateway set-up and tear-down time vs creating a bare veth link.
   Target: set-up <= 100 ms.

Everything runs in namespaces this script creates (198.18.0.0/15, 2001:db8::/32) and is
removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from github_runner.egress.allowlist import Allowlist
from github_runner.egress.audit import AuditLog
from github_runner.egress.gateway import Gateway
from github_runner.egress.netns import run_in_netns
from github_runner.egress.linkopts import set_big_packets
from github_runner.egress.policy import EffectivePolicy
from github_runner.egress.settings import EgressSettings

UPSTREAM = r"""
import socket, sys, zlib
from dnslib import A, QTYPE, RR, DNSRecord
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    data, addr = s.recvfrom(4096)
    q = DNSRecord.parse(data); r = q.reply(); name = str(q.q.qname)
    h = zlib.crc32(name.encode())
    ip = f"198.19.{(h >> 8) % 200 + 20}.{h % 250 + 2}" if name.startswith("n") else "198.19.1.10"
    if q.q.qtype == QTYPE.A:
        r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(ip), ttl=300))
    s.sendto(r.pack(), addr)
"""

SINK = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(8); print("ready", flush=True)
while True:
    c, _ = s.accept()
    while c.recv(1 << 20):
        pass
    c.close()
"""


def sh(*argv: str, stdin: str | None = None, check: bool = True) -> None:
    subprocess.run(argv, input=stdin, text=True, check=check, capture_output=True)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


CLIENT = r"""
import json, socket, sys, time
from dnslib import DNSRecord
server, port, names = sys.argv[1], int(sys.argv[2]), sys.stdin.read().split()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
out = []
for name in names:
    wire = DNSRecord.question(name, "A").pack()
    t0 = time.perf_counter(); s.sendto(wire, (server, port)); s.recv(4096)
    out.append((time.perf_counter() - t0) * 1000)
print(json.dumps(out))
"""


async def series(server: str, port: int, names: list[str], netns: str | None = None) -> list[float]:
    """Latencies measured by a separate client process (as a job would be), in `netns` if given."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    proc = await asyncio.create_subprocess_exec(*prefix, sys.executable, "-c", CLIENT, server, str(port),
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate("\n".join(names).encode())
    return json.loads(out)


def throughput(dst: str, seconds: float) -> float:
    buf = b"\0" * (1 << 20)
    s = socket.create_connection((dst, 5001), timeout=5)
    sent, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        s.sendall(buf)
        sent += len(buf)
    s.close()
    return sent * 8 / (time.perf_counter() - t0) / 1e9


async def main(args: argparse.Namespace) -> None:
    tag = secrets.token_hex(3)
    net, job, plain = f"grb-{tag}-net", f"grb-{tag}-job", f"grb-{tag}-plain"
    procs: list[subprocess.Popen[str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="grb-"))
    try:
        for ns in (net, job, plain):
            sh("ip", "netns", "add", ns)
        sh("ip", "-n", net, "-b", "-", stdin="link set lo up\naddr add 198.19.1.10/32 dev lo\n")
        up = subprocess.Popen([sys.executable, "-c", UPSTREAM], stdout=subprocess.PIPE, text=True)
        procs.append(up)
        port = int(up.stdout.readline())  # type: ignore[union-attr]
        sink = subprocess.Popen(["ip", "netns", "exec", net, sys.executable, "-c", SINK], stdout=subprocess.PIPE,
                                text=True)
        procs.append(sink)
        sink.stdout.readline()  # type: ignore[union-attr]

        settings = EgressSettings(mode="block", allow=["*.bench.example:5001", "198.19.1.10:5001"],
                                  uplink_netns=net, upstream_dns=f"127.0.0.1:{port}")
        policy = EffectivePolicy("block", Allowlist.parse(settings.allow), Allowlist(), settings)

        # 3. set-up time (and a baseline: one bare veth link into a namespace, as without egress)
        setups, teardowns, bare = [], [], []
        for i in range(args.setups):
            gw = Gateway(Path("/run/netns") / job, policy, AuditLog(None, "bench", "block"), ("127.0.0.1", port),
                         state_dir=tmp / "state")
            await gw.start()
            setups.append(gw.setup_seconds * 1000)
            t0 = time.perf_counter()
            await gw.stop()
            teardowns.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            sh("ip", "-n", plain, "link", "add", f"grb{i}a", "type", "veth", "peer", "name", f"grb{i}b")
            sh("ip", "-n", plain, "-b", "-", stdin=f"addr add 198.18.9.1/30 dev grb{i}a\nlink set grb{i}a up\n"
                                                    f"link set grb{i}b up\n")
            bare.append((time.perf_counter() - t0) * 1000)
            sh("ip", "-n", plain, "link", "del", f"grb{i}a")

        gw = Gateway(Path("/run/netns") / job, policy, AuditLog(None, "bench", "block"), ("127.0.0.1", port),
                     state_dir=tmp / "state")
        await gw.start()
        try:
            assert gw.addr is not None
            gw4 = gw.addr.gw4
            n = args.queries
            fresh = [f"n{i}-{tag}.bench.example" for i in range(n)]
            cached = ["c.bench.example"] * n
            blocked = [f"b{i}.blocked.example" for i in range(n)]
            direct = await series("127.0.0.1", port, [f"n{i}-d{tag}.bench.example" for i in range(n)])
            via_fresh = await series(gw4, 53, fresh, job)
            via_cached = await series(gw4, 53, cached, job)
            via_blocked = await series(gw4, 53, blocked, job)
            assert gw.nft is not None
            elements = gw.nft.run("list set inet gr allow4").count(". tcp . 5001")

            # 2. throughput through the gateway (block mode, allowed address) vs a plain veth pair
            # from another namespace to the same sink; alternated, so load swings hit both alike
            sh("ip", "link", "add", f"grb{tag}p", "netns", plain, "type", "veth", "peer", "name", f"grb{tag}q",
               "netns", net)
            sh("ip", "-n", plain, "-b", "-", stdin=f"link set lo up\naddr add 198.18.7.2/30 dev grb{tag}p\n"
                                                    f"link set grb{tag}p up\nroute add default via 198.18.7.1\n")
            sh("ip", "-n", net, "-b", "-", stdin=f"addr add 198.18.7.1/30 dev grb{tag}q\nlink set grb{tag}q up\n")
            gw_runs: list[float] = []
            plain_runs: list[float] = []
            big_runs: list[float] = []
            for _ in range(args.rounds):
                for ns, runs in ((job, gw_runs), (plain, plain_runs)):
                    runs.append(await asyncio.to_thread(
                        lambda ns=ns: run_in_netns(Path("/run/netns") / ns,
                                                   lambda: throughput("198.19.1.10", args.seconds))))
            # second baseline: the plain pair with the gateway's bigger GSO/GRO packets (linkopts)
            run_in_netns(Path("/run/netns") / plain, lambda: set_big_packets([f"grb{tag}p"]))
            run_in_netns(Path("/run/netns") / net, lambda: set_big_packets([f"grb{tag}q"]))
            def plain_big() -> float:
                return run_in_netns(Path("/run/netns") / plain, lambda: throughput("198.19.1.10", args.seconds))

            for _ in range(args.rounds):
                big_runs.append(await asyncio.to_thread(plain_big))
            gw_gbps, plain_gbps = statistics.median(gw_runs), statistics.median(plain_runs)
            big_gbps = statistics.median(big_runs)
        finally:
            await gw.stop()

        base50, base99 = statistics.median(direct), pct(direct, 0.99)
        print(f"DNS latency, {n} queries each (ms)          p50      p99   added p50  added p99")
        print(f"  direct to the fake upstream (baseline)  {base50:7.3f}  {base99:7.3f}")
        for label, data in (("via proxy, allowed, new nft element", via_fresh),
                            ("via proxy, allowed, already admitted", via_cached),
                            ("via proxy, blocked (answered locally)", via_blocked)):
            p50, p99 = statistics.median(data), pct(data, 0.99)
            print(f"  {label:39s} {p50:7.3f}  {p99:7.3f}   {p50 - base50:+8.3f}  {p99 - base99:+8.3f}")
        print(f"  nft set elements added by the fresh series: {elements}  (target: added p50 <= 0.5, p99 <= 2)")
        print(f"TCP throughput, median of {args.rounds} alternated {args.seconds:.0f}s runs (Gbit/s)")
        print(f"  plain veth pair (baseline)              {plain_gbps:7.2f}")
        print(f"  through the gateway (block mode)        {gw_gbps:7.2f}   {gw_gbps / plain_gbps:6.1%} of baseline"
              " (target >= 90%)")
        print(f"  plain veth pair with the same big GSO    {big_gbps:7.2f}   gateway: {gw_gbps / big_gbps:6.1%} of it")
        print("  runs (gateway / plain / plain big GSO): " + " / ".join(
            ",".join(f"{x:.1f}" for x in r) for r in (gw_runs, plain_runs, big_runs)))
        print(f"Job start overhead, {args.setups} runs (ms)           p50      max")
        print(f"  bare veth link into a netns (baseline)  {statistics.median(bare):7.1f}  {max(bare):7.1f}")
        print(f"  gateway set-up (netns, 2 veths, nft, proxy) {statistics.median(setups):4.1f}  {max(setups):7.1f}"
              "   (target <= 100)")
        print(f"  gateway tear-down                       {statistics.median(teardowns):7.1f}  {max(teardowns):7.1f}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for ns in (net, job, plain):
            sh("ip", "netns", "del", ns, check=False)
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--setups", type=int, default=10)
    asyncio.run(main(ap.parse_args()))
