"""The gateway's nftables ruleset, rendered as one `nft -f` transaction.

Layout (egress-design.md §4.3): DNS to any resolver is DNAT'ed to the proxy; the gateway itself
accepts only DNS (and IPv6 neighbour discovery) from the job; forwarding accepts established
flows, drops spoofed or unsolicited traffic, rejects the always-deny list in both modes, then
either admits only what the DNS proxy put into the sets (block) or logs every new flow (audit).
Every log rule is rate-limited and what it suppresses is counted, so a flood cannot drown the
runner. Log prefixes are parsed back by `nflog.py`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from msgspec import Struct

from github_runner.egress.allowlist import Rule
from github_runner.egress.policy import PRIVATE4, PRIVATE6

TABLE = "gr"
NFLOG_GROUP = 7
PREFIXES = {
    "allow": "gr:allow ",
    "block": "gr:block ",
    "deny": "gr:deny ",
    "private": "gr:private ",
    "audit": "gr:audit ",
    "input": "gr:input ",
    "redirect": "gr:redirect ",
}


class RulesetPlan(Struct, frozen=True):
    mode: str  # audit | block
    job_if: str  # the gateway's end of the job veth
    uplink_if: str
    gw4: str
    gw6: str
    job4: str
    job6: str
    static: Sequence[Rule] = ()  # IP/CIDR allowlist entries
    deny4: Sequence[str] = ()
    deny6: Sequence[str] = ()
    deny_private: bool = True
    log_rate: int = 200


def _elements(items: Sequence[str]) -> str:
    return f"elements = {{ {', '.join(items)} }}" if items else ""


def _static_rule(rule: Rule) -> str:
    assert rule.network is not None
    fam = "ip" if rule.network.version == 4 else "ip6"
    ports = ""
    if rule.ports is not None:
        lo, hi = rule.ports
        ports = f" {rule.proto} dport {lo}" + (f"-{hi}" if hi != lo else "")
    else:
        ports = f" meta l4proto {rule.proto}"
    return f"{fam} daddr {rule.network}{ports} jump allow"


def render_ruleset(plan: RulesetPlan) -> str:
    g = NFLOG_GROUP
    rate = f"limit rate {plan.log_rate}/second burst {max(plan.log_rate // 4, 5)} packets"
    deny4 = sorted(set(plan.deny4), key=_sort_key)
    deny6 = sorted(set(plan.deny6), key=_sort_key)
    lines = [
        f"add table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        "  counter suppressed { }",
        "  set allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }",
        "  set allow6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }",
        "  set any4 { type ipv4_addr . inet_proto; flags timeout; }",
        "  set any6 { type ipv6_addr . inet_proto; flags timeout; }",
        f"  set deny4 {{ type ipv4_addr; flags interval; {_elements(deny4)} }}",
        f"  set deny6 {{ type ipv6_addr; flags interval; {_elements(deny6)} }}",
        f"  set private4 {{ type ipv4_addr; flags interval; {_elements(list(PRIVATE4))} }}",
        f"  set private6 {{ type ipv6_addr; flags interval; {_elements(list(PRIVATE6))} }}",
        "  chain prerouting { type nat hook prerouting priority dstnat; policy accept;",
        f'    iifname "{plan.job_if}" meta l4proto {{ tcp, udp }} th dport 53 ip daddr != {plan.gw4}'
        f' log prefix "{PREFIXES["redirect"]}" group {g} dnat ip to {plan.gw4}',
        f'    iifname "{plan.job_if}" meta l4proto {{ tcp, udp }} th dport 53 ip6 daddr != {plan.gw6}'
        f' ip6 daddr != fe80::/10 log prefix "{PREFIXES["redirect"]}" group {g} dnat ip6 to {plan.gw6}',
        "  }",
        "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;",
        f'    oifname "{plan.uplink_if}" masquerade',
        "  }",
        "  chain input { type filter hook input priority filter; policy accept;",
        '    iifname "lo" accept',
        "    ct state established,related accept",
        "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
        f'    iifname "{plan.uplink_if}" drop',
        f'    iifname "{plan.job_if}" meta l4proto {{ tcp, udp }} th dport 53 accept',
        f'    {rate} log prefix "{PREFIXES["input"]}" group {g} goto refuse',
        "    counter name suppressed goto refuse",
        "  }",
        "  chain refuse {",
        "    meta l4proto tcp reject with tcp reset",
        "    reject with icmpx admin-prohibited",
        "  }",
        f'  chain allow {{ {rate} log prefix "{PREFIXES["allow"]}" group {g} accept;'
        " counter name suppressed accept; }",
        f'  chain audit {{ {rate} log prefix "{PREFIXES["audit"]}" group {g} accept;'
        " counter name suppressed accept; }",
    ]
    for kind in ("block", "deny", "private"):
        lines.append(
            f'  chain {kind} {{ {rate} log prefix "{PREFIXES[kind]}" group {g} goto refuse;'
            " counter name suppressed goto refuse; }"
        )
    lines += [
        "  chain forward { type filter hook forward priority filter; policy drop;",
        "    ct state established,related accept",
        f'    iifname != "{plan.job_if}" drop',
        f"    meta nfproto ipv4 ip saddr != {plan.job4} drop",
        f"    meta nfproto ipv6 ip6 saddr != {plan.job6} drop",
        "    ct state invalid drop",
        "    ip daddr @deny4 goto deny",
        "    ip6 daddr @deny6 goto deny",
    ]
    if plan.mode == "block":
        lines += [
            "    meta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @allow4 goto allow",
            "    meta l4proto { tcp, udp } ip6 daddr . meta l4proto . th dport @allow6 goto allow",
            "    meta l4proto { tcp, udp } ip daddr . meta l4proto @any4 goto allow",
            "    meta l4proto { tcp, udp } ip6 daddr . meta l4proto @any6 goto allow",
        ]
        lines += [f"    {_static_rule(r)}" for r in plan.static]
        if plan.deny_private:
            lines += ["    ip daddr @private4 goto private", "    ip6 daddr @private6 goto private"]
        lines.append("    goto block")
    else:
        lines.append("    goto audit")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _sort_key(text: str) -> tuple[int, int]:
    net = ipaddress.ip_network(text, strict=False)
    return (net.version, int(net.network_address))


def set_elements(
    addrs: Sequence[str], proto_ports: Sequence[tuple[str, tuple[int, int] | None]], timeout: int
) -> str:
    """The `add element` commands that admit `addrs` for the given (proto, ports) pairs."""
    cmds: list[str] = []
    for version in (4, 6):
        exact: list[str] = []
        anyport: list[str] = []
        for addr in addrs:
            if ipaddress.ip_address(addr).version != version:
                continue
            for proto, ports in proto_ports:
                if ports is None:
                    anyport.append(f"{addr} . {proto} timeout {timeout}s")
                else:
                    for port in range(ports[0], ports[1] + 1):
                        exact.append(f"{addr} . {proto} . {port} timeout {timeout}s")
        if exact:
            cmds.append(f"add element inet {TABLE} allow{version} {{ {', '.join(exact)} }}")
        if anyport:
            cmds.append(f"add element inet {TABLE} any{version} {{ {', '.join(anyport)} }}")
    return "\n".join(cmds)
