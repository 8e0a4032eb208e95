"""Detections: DNS exfiltration, crypto-mining, DNS bypass, stray processes.

Structural DNS signals decide (block mode refuses such queries even under an allowed wildcard);
volume signals only alert, because refusing on volume broke legitimate names in the prototype
(egress-design.md §6.3 T5c). CPU alone never flags a miner: builds are CPU-bound too, so a
process needs a miner-like command line as well.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections import Counter, defaultdict, deque
from pathlib import Path

from msgspec import Struct, field

from github_runner.egress.audit import parent_domain

LONG_LABEL = 40
LONG_NAME = 100
ENTROPY_BITS = 3.8
ENTROPY_MIN_CHARS = 24
VOLUME_NAMES = 20
VOLUME_WINDOW = 60.0
STRATUM_PORTS = frozenset({3333, 4444, 5555, 7777, 8888, 9999, 14433, 14444, 45560, 45700})
POOL_SUFFIXES = (
    "supportxmr.com", "minexmr.com", "nanopool.org", "2miners.com", "f2pool.com", "hashvault.pro",
    "moneroocean.stream", "nicehash.com", "herominers.com", "unmineable.com", "c3pool.com",
    "xmrpool.eu", "ethermine.org", "miningpoolhub.com",
)
MINER_WORDS = ("xmrig", "stratum+tcp", "stratum+ssl", "--donate-level", "cryptonight", "randomx",
               "minerd", "cpuminer", "--coin", "nicehash")
DOT_PORT = 853
MINER_CPU = 0.1  # share of one core over the sample


def entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def tunnelling_reasons(qname: str, qtype: str) -> list[str]:
    """Why a name looks like a DNS tunnel (empty: it does not)."""
    reasons: list[str] = []
    labels = qname.split(".")
    longest = max((len(x) for x in labels), default=0)
    if longest >= LONG_LABEL:
        reasons.append(f"label of {longest} chars")
    if len(qname) >= LONG_NAME:
        reasons.append(f"name of {len(qname)} chars")
    parent = parent_domain(qname)
    sub = qname[: -len(parent) - 1].replace(".", "") if qname.endswith("." + parent) else ""
    if len(sub) >= ENTROPY_MIN_CHARS:
        bits = entropy(sub)
        if bits >= ENTROPY_BITS:
            reasons.append(f"high-entropy subdomain ({bits:.2f} bits/char)")
    if reasons and qtype in ("TXT", "NULL", "ANY"):
        reasons.append(f"{qtype} query on a generated-looking name")
    # one long label alone is common (CDN hashes); require a second signal
    return reasons if len(reasons) >= 2 else []


def mining_name_reasons(qname: str) -> list[str]:
    for suffix in POOL_SUFFIXES:
        if qname == suffix or qname.endswith("." + suffix):
            return [f"known mining pool {suffix}"]
    labels = set(qname.split("."))
    if labels & {"xmr", "monero", "stratum"} or ("pool" in labels and labels & {"miner", "mine", "mining", "xmr"}):
        return ["mining-pool-like name"]
    return []


def connection_reasons(proto: str, dport: int | None) -> list[tuple[str, list[str]]]:
    """(kind, reasons) detections for a connection attempt."""
    out: list[tuple[str, list[str]]] = []
    if proto == "tcp" and dport in STRATUM_PORTS:
        out.append(("cryptomining", [f"connection to stratum port {dport}"]))
    if dport == DOT_PORT:
        out.append(("dns_bypass", ["DNS over TLS (port 853)"]))
    return out


class VolumeTracker(Struct):
    """Counts distinct names per parent domain in a sliding window; alerts once per window."""

    window: float = VOLUME_WINDOW
    threshold: int = VOLUME_NAMES
    seen: dict[str, deque[tuple[float, str]]] = field(default_factory=lambda: defaultdict(deque))
    names: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    alerted: dict[str, float] = field(default_factory=dict)

    def observe(self, qname: str, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        parent = parent_domain(qname)
        q, counts = self.seen[parent], self.names[parent]
        q.append((now, qname))
        counts[qname] += 1
        while q and q[0][0] < now - self.window:  # O(1) amortised: this runs on every query
            _, old = q.popleft()
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
        distinct = len(counts)
        if distinct >= self.threshold and now - self.alerted.get(parent, -1e9) >= self.window:
            self.alerted[parent] = now
            return [f"{distinct} distinct names under {parent} in {int(self.window)}s"]
        return []


# --- processes -------------------------------------------------------------------------------


class ProcInfo(Struct, frozen=True):
    pid: int
    ppid: int
    exe: str
    cmdline: str
    cpu_ticks: int


def proc_info(pid: int) -> ProcInfo | None:
    base = Path(f"/proc/{pid}")
    try:
        stat = (base / "stat").read_text()
        cmd = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        try:
            exe = os.readlink(base / "exe")
        except OSError:
            exe = ""
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2 :].split()
    return ProcInfo(pid, int(rest[1]), exe, cmd, int(rest[11]) + int(rest[12]))


def exe_sha256(exe: str) -> str | None:
    try:
        with open(exe, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def cgroup_pids(cgroup_dir: Path) -> list[int]:
    """Every pid in a cgroup directory and below it."""
    pids: list[int] = []
    for procs in [cgroup_dir / "cgroup.procs", *cgroup_dir.rglob("*/cgroup.procs")]:
        try:
            pids += [int(x) for x in procs.read_text().split()]
        except OSError:
            continue
    return sorted(set(pids))


def miner_reasons(cmdline: str, cpu_fraction: float, seconds: float) -> list[str]:
    hints = [w for w in MINER_WORDS if w in cmdline.lower()]
    if not hints or cpu_fraction < MINER_CPU:  # low bar: the hints decide; a shared host starves the loop
        return []
    return [f"{cpu_fraction:.0%} of a core for {seconds:.0f}s", f"miner-like command line ({', '.join(hints)})"]


def sample_cpu(pids: list[int], seconds: float) -> dict[int, tuple[ProcInfo, float]]:
    """CPU share of each pid over `seconds` (blocking; run it in a thread)."""
    hz = os.sysconf("SC_CLK_TCK")
    first = {p: i for p in pids if (i := proc_info(p)) is not None}
    time.sleep(seconds)
    out: dict[int, tuple[ProcInfo, float]] = {}
    for pid, before in first.items():
        after = proc_info(pid)
        if after is not None:
            out[pid] = (after, (after.cpu_ticks - before.cpu_ticks) / hz / seconds)
    return out
