"""Adding timed elements to the gateway's allow sets with one raw nf_tables netlink batch.

libnftables re-reads the table (its cache) on every command, which cost ~175 us per DNS answer
in the gateway; the proxy holds each allowed answer until the elements are in, so that time is
added to every fresh lookup. The elements of `allow4/6` (`addr . inet_proto . inet_service`)
and `any4/6` (`addr . inet_proto`) have a fixed layout, so they are sent directly: a batch
(BEGIN, NEWSETELEM, END) with an ACK, about 20 us. Each field of a concatenated key occupies a
4-byte register: the address, then the protocol number, then the port in network order.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NFT_MSG_NEWSETELEM = 12
NFPROTO_INET = 1
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE = 0x1, 0x4, 0x400
NLMSG_ERROR = 2
NLA_F_NESTED = 0x8000
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_LIST_ELEM = 1
NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_TIMEOUT = 1, 4
NFTA_DATA_VALUE = 1
PROTO_NUM = {"tcp": 6, "udp": 17}


def _attr(atype: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, atype) + payload + b"\0" * ((4 - length % 4) % 4)


def _msg(mtype: int, flags: int, seq: int, family: int, res_id: int, body: bytes) -> bytes:
    nfgen = struct.pack("=BBH", family, 0, socket.htons(res_id))
    return struct.pack("=IHHII", 16 + 4 + len(body), mtype, flags, seq, 0) + nfgen + body


def key(addr: str, proto: str, port: int | None) -> tuple[int, bytes]:
    """(IP version, key bytes) of one element."""
    ip = ipaddress.ip_address(addr)
    data = ip.packed + struct.pack("=B3x", PROTO_NUM[proto])
    if port is not None:
        data += struct.pack("!H2x", port)
    return ip.version, data


class _Netlink:
    """A nf_tables netlink socket in the namespace it is created in (see netns.run_in_netns)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.bind((0, 0))
        self.sock.settimeout(2.0)
        self.seq = 1

    def close(self) -> None:
        self.sock.close()


class SetWriter(_Netlink):
    """Adds timed elements to the gateway's allow sets."""

    def add(self, set_name: str, keys: list[bytes], timeout_s: int) -> None:
        """Add (or refresh the timeout of) elements; raises OSError with the kernel's errno."""
        elems = b"".join(
            _attr(NFTA_LIST_ELEM | NLA_F_NESTED,
                  _attr(NFTA_SET_ELEM_KEY | NLA_F_NESTED, _attr(NFTA_DATA_VALUE, k))
                  + _attr(NFTA_SET_ELEM_TIMEOUT, struct.pack("!Q", timeout_s * 1000)))
            for k in keys)
        body = (_attr(NFTA_SET_ELEM_LIST_TABLE, self.table.encode() + b"\0")
                + _attr(NFTA_SET_ELEM_LIST_SET, set_name.encode() + b"\0")
                + _attr(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, elems))
        begin, op, end = self.seq, self.seq + 1, self.seq + 2
        self.seq += 3
        batch = (_msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin, 0, NFNL_SUBSYS_NFTABLES, b"")
                 + _msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
                        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, op, NFPROTO_INET, 0, body)
                 + _msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end, 0, NFNL_SUBSYS_NFTABLES, b""))
        self.sock.send(batch)
        while True:  # the ACK (or error) for our NEWSETELEM
            data = self.sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _f, seq, _p = struct.unpack_from("=IHHII", data, offset)
                if mtype == NLMSG_ERROR and seq == op:
                    (err,) = struct.unpack_from("=i", data, offset + 16)
                    if err:
                        raise OSError(-err, f"NEWSETELEM {set_name}: {os.strerror(-err)}")
                    return
                offset += (length + 3) & ~3 if length else len(data)


NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, NFT_MSG_GETSETELEM = 4, 7, 13
NLM_F_DUMP = 0x300
NLMSG_DONE = 3
NFTA_TABLE_NAME = 1  # NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are 1 too


class RuleReader(_Netlink):
    """Dumps a table's chains, rules and some sets' elements as bytes, for the watchdog to
    compare: a fraction of a millisecond where libnftables' `list table` took 9 to 33 ms with a
    few thousand admitted elements (it always fetches every set element)."""

    def __init__(self, table: str, sets: tuple[str, ...]) -> None:
        super().__init__(table)
        self.sets = sets

    def snapshot(self) -> bytes:
        """Chains, rules and the listed sets' elements; OSError when the table or a set is gone."""
        name = _attr(NFTA_TABLE_NAME, self.table.encode() + b"\0")
        parts = [self._dump(NFT_MSG_GETCHAIN, name), self._dump(NFT_MSG_GETRULE, name)]
        for set_name in self.sets:
            parts.append(self._dump(NFT_MSG_GETSETELEM, _attr(NFTA_SET_ELEM_LIST_TABLE, self.table.encode() + b"\0")
                                    + _attr(NFTA_SET_ELEM_LIST_SET, set_name.encode() + b"\0")))
        return b"\n".join(parts)

    def _dump(self, msg: int, body: bytes) -> bytes:
        seq = self.seq
        self.seq += 1
        self.sock.send(_msg((NFNL_SUBSYS_NFTABLES << 8) | msg, NLM_F_REQUEST | NLM_F_DUMP, seq, NFPROTO_INET, 0, body))
        out: list[bytes] = []
        while True:
            data = self.sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _f, mseq, _p = struct.unpack_from("=IHHII", data, offset)
                if length < 16:
                    raise OSError(0, "malformed netlink answer")
                if mseq == seq:
                    if mtype == NLMSG_DONE:
                        return b"".join(out)
                    if mtype == NLMSG_ERROR:
                        (err,) = struct.unpack_from("=i", data, offset + 16)
                        if err:
                            raise OSError(-err, f"nf_tables dump {msg} of {self.table}: {os.strerror(-err)}")
                        return b"".join(out)
                    out.append(data[offset + 16 + 4:offset + length])  # the attributes, no header
                offset += (length + 3) & ~3
