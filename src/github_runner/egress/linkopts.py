"""Bigger GSO/GRO packets on the gateway's veths ("BIG TCP"): fewer packets through the hop.

Every packet a job sends crosses two veths, conntrack and the forward chain in the gateway, so
the gateway's cost is per packet. Veths accept GSO packets of up to 512 KiB (`tso_max_size`), but
the stack builds them no larger than a link's `gso_max_size` / `gso_ipv4_max_size` (64 KiB by
default). Raising both on the four gateway links lets a job's TCP sender hand over 192 KiB at a
time; bench/egress.py measures the difference. Packets that leave through a device without
the support are segmented by the kernel there, as any GSO packet is. Debian 12's iproute2 (6.1)
cannot set the IPv4 sizes (kernel 6.3+), so this speaks rtnetlink itself. Best effort: a kernel
that refuses leaves the defaults, which work.
"""

from __future__ import annotations

import socket
import struct

RTM_NEWLINK = 16
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE = 41, 58, 63, 64
BIG = 196608  # 3 x 64 KiB: the size the kernel documentation and the BIG TCP work use


def set_big_packets(names: list[str], size: int = BIG) -> list[str]:
    """Raise the GSO/GRO limits of links in the calling thread's namespace; returns the errors."""
    errors: list[str] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as nl:
        for seq, name in enumerate(names, 1):
            try:
                index = socket.if_nametoindex(name)
            except OSError as exc:
                errors.append(f"{name}: {exc}")
                continue
            attrs = b"".join(struct.pack("HHI", 8, kind, size) for kind in
                             (IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE))
            body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, 0, 0) + attrs
            nl.send(struct.pack("IHHII", 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body)
            reply = nl.recv(4096)
            kind = struct.unpack_from("H", reply, 4)[0]
            code = struct.unpack_from("i", reply, 16)[0] if kind == NLMSG_ERROR else 0
            if code:
                errors.append(f"{name}: errno {-code}")
    return errors
