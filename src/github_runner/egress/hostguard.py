"""Side links of the job's namespace: the gateway must stay the job's only way out.

A Docker job container has, besides the gateway's veth, its `eth0` on the per-job bridge (where
its service containers are). That bridge is the host's: the host has an address on it, so the
job (and every service container) could reach the runner host's own services through it, and a
non-internal bridge would even forward and masquerade to the world, past the gateway. The rules
for that cannot live in the job's namespace (a gVisor sentry sends through packet sockets that
skip netfilter there), so they go into the runner's own namespace, where the bridge is: one
table per gateway, `inet gr-<token>-guard`, that refuses anything from the job's side subnets
to the host itself or beyond the bridge, keeps replies to connections the host opened, and is
removed with the gateway (by name, so a sweep finds it after a crash).
"""

from __future__ import annotations

import ipaddress
import re

from github_runner.egress.netns import interfaces, run, run_in_netns
from github_runner.egress.nft import Nft, NftError


def table_name(token: str) -> str:
    return f"gr-{token}-guard"


async def side_subnets(job_netns: str, keep: set[str]) -> list[str]:
    """The subnets of the job namespace's links other than lo and `keep` (the gateway veth)."""
    names = run_in_netns(job_netns, interfaces)
    if not [n for n in names if n != "lo" and n not in keep]:
        return []  # the sandbox's namespace: nothing but the gateway link
    out = await run(["nsenter", f"--net={job_netns}", "ip", "-o", "addr", "show"])
    nets: set[str] = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4 or f[1].split("@")[0] in keep | {"lo"} or f[2] not in ("inet", "inet6"):
            continue
        net = ipaddress.ip_interface(f[3]).network
        if not net.is_link_local:
            nets.add(str(net))
    return sorted(nets)


def render(token: str, subnets: list[str]) -> str:
    v4 = [s for s in subnets if ":" not in s]
    v6 = [s for s in subnets if ":" in s]
    match = []
    if v4:
        match.append(f"ip saddr {{ {', '.join(v4)} }}")
    if v6:
        match.append(f"ip6 saddr {{ {', '.join(v6)} }}")
    rules_in = "\n".join(f"    {m} counter reject" for m in match)
    rules_fwd = "\n".join(
        f"    {m} {'ip' if m.startswith('ip ') else 'ip6'} daddr != {{ {', '.join(v4 if m.startswith('ip ') else v6)} }}"
        " counter drop" for m in match)
    name = table_name(token)
    return (f"add table inet {name}\ndelete table inet {name}\ntable inet {name} {{\n"
            "  chain input { type filter hook input priority filter - 5; policy accept;\n"
            "    ct state established,related accept\n"
            f"{rules_in}\n  }}\n"
            "  chain forward { type filter hook forward priority filter - 5; policy accept;\n"
            "    ct state established,related accept\n"
            f"{rules_fwd}\n  }}\n}}\n")


def install(token: str, subnets: list[str]) -> None:
    nft = Nft()
    try:
        nft.run(render(token, subnets))
    finally:
        nft.close()


def tokens() -> list[str]:
    """Tokens of the guard tables in the runner's namespace (for the stale sweep)."""
    nft = Nft()
    try:
        out = nft.run("list tables inet")
    finally:
        nft.close()
    return re.findall(r"table inet gr-([0-9a-f]{8})-guard", out)


def remove(token: str) -> None:
    """Delete the table if it is there (idempotent; used by stop and by the stale sweep)."""
    nft = Nft()
    try:
        nft.run(f"delete table inet {table_name(token)}")
    except NftError:
        pass
    finally:
        nft.close()
