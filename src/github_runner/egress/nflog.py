"""A minimal NFLOG (nfnetlink_log) subscriber: the gateway's view of every new flow.

pyroute2 has the constants but no reader, so this speaks the protocol directly: bind the
group, ask for packet copies (headers only), and decode the prefix, timestamp and the IP/L4
headers of each logged packet. Plain `log` would be useless here, because the kernel drops
log lines from non-initial namespaces while `nf_log_all_netns` is 0.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import time

from msgspec import Struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NFULA_CFG_CMD = 1
NFULA_CFG_MODE = 2
NFULA_CFG_TIMEOUT = 4  # flush timer, 1/100 s
NFULA_CFG_QTHRESH = 5
NFULA_CFG_FLAGS = 6
NFULNL_CFG_CMD_BIND = 1
NFULNL_CFG_CMD_UNBIND = 2
NFULNL_COPY_PACKET = 2
NFULA_PACKET_HDR = 1
NFULA_TIMESTAMP = 3
NFULA_PAYLOAD = 9
NFULA_PREFIX = 10
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
SO_TIMESTAMP = 29  # Linux; not exported by the socket module
COPY_RANGE = 96  # IPv6 header + TCP ports; we never look at payload data


class LoggedPacket(Struct, frozen=True):
    prefix: str
    ts: float
    family: str  # ipv4 | ipv6
    proto: str  # tcp | udp | icmp | icmpv6 | <number>
    src: str
    dst: str
    sport: int | None
    dport: int | None
    icmp_type: int | None


def _attr(atype: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, atype) + payload + b"\0" * ((4 - length % 4) % 4)


def _config_msg(group: int, attrs: bytes, seq: int) -> bytes:
    nfgen = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(group))
    body = nfgen + attrs
    msg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
    return struct.pack("=IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def open_socket(group: int) -> socket.socket:
    """Open and bind an NFLOG socket in the calling thread's network namespace."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        # packets carry a receive timestamp only while some socket asks for them; without it a
        # record read late gets the read time, and a DNS answer that came in between would seem
        # to explain a connection made before it (step and name attribution use the time)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        sock.bind((0, 0))
        seq = 1
        for attrs in (
            _attr(NFULA_CFG_CMD, struct.pack("=B", NFULNL_CFG_CMD_UNBIND)),
            _attr(NFULA_CFG_CMD, struct.pack("=B", NFULNL_CFG_CMD_BIND)),
            _attr(NFULA_CFG_MODE, struct.pack("!IBB", COPY_RANGE, NFULNL_COPY_PACKET, 0)),
            # one record per netlink message, sent at once: batching would hold the job's last
            # records back past the end of the job (the flush timer is the backstop)
            _attr(NFULA_CFG_QTHRESH, struct.pack("!I", 1)),
            _attr(NFULA_CFG_TIMEOUT, struct.pack("!I", 1)),
        ):
            sock.send(_config_msg(group, attrs, seq))
            _expect_ack(sock, seq, ignore_errors=seq == 1)
            seq += 1
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _expect_ack(sock: socket.socket, seq: int, ignore_errors: bool) -> None:
    data = sock.recv(65536)
    _length, mtype, _flags, rseq, _pid = struct.unpack_from("=IHHII", data)
    if mtype == NLMSG_ERROR:
        (err,) = struct.unpack_from("=i", data, 16)
        if err != 0 and not ignore_errors:
            raise OSError(-err, f"NFLOG config (seq {rseq}) failed: {os.strerror(-err)}")


def parse_messages(data: bytes) -> list[LoggedPacket]:
    """Decode one recv() buffer (possibly several netlink messages)."""
    out: list[LoggedPacket] = []
    offset = 0
    while offset + 16 <= len(data):
        length, mtype, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            break
        if mtype == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
            pkt = _parse_packet(data[offset + 20 : offset + length])
            if pkt is not None:
                out.append(pkt)
        offset += (length + 3) & ~3
    return out


def _parse_packet(body: bytes) -> LoggedPacket | None:
    attrs: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(body):
        alen, atype = struct.unpack_from("=HH", body, offset)
        if alen < 4:
            break
        attrs[atype & 0x7FFF] = body[offset + 4 : offset + alen]
        offset += (alen + 3) & ~3
    payload = attrs.get(NFULA_PAYLOAD)
    if not payload:
        return None
    prefix = attrs.get(NFULA_PREFIX, b"").rstrip(b"\0").decode(errors="replace")
    ts = time.time()
    if NFULA_TIMESTAMP in attrs and len(attrs[NFULA_TIMESTAMP]) >= 16:
        sec, usec = struct.unpack("!QQ", attrs[NFULA_TIMESTAMP][:16])
        ts = sec + usec / 1e6
    return decode_ip(prefix, ts, payload)


PROTOS = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}


def decode_ip(prefix: str, ts: float, payload: bytes) -> LoggedPacket | None:
    version = payload[0] >> 4
    if version == 4 and len(payload) >= 20:
        ihl = (payload[0] & 0x0F) * 4
        proto_num = payload[9]
        src = str(ipaddress.IPv4Address(payload[12:16]))
        dst = str(ipaddress.IPv4Address(payload[16:20]))
        l4 = payload[ihl:]
        family = "ipv4"
    elif version == 6 and len(payload) >= 40:
        proto_num = payload[6]
        src = str(ipaddress.IPv6Address(payload[8:24]))
        dst = str(ipaddress.IPv6Address(payload[24:40]))
        l4 = payload[40:]
        family = "ipv6"
    else:
        return None
    proto = PROTOS.get(proto_num, str(proto_num))
    sport = dport = icmp_type = None
    if proto in ("tcp", "udp") and len(l4) >= 4:
        sport, dport = struct.unpack_from("!HH", l4)
    elif proto in ("icmp", "icmpv6") and l4:
        icmp_type = l4[0]
    return LoggedPacket(prefix.strip(), ts, family, proto, src, dst, sport, dport, icmp_type)
