"""Bringing `lo` up in a job's fresh network namespace without running `ip`: one ioctl setting
IFF_UP, made by the sandbox init's child right after it unshared the netns (staging.py), so no
extra process and no thread ever has to join the job's namespace."""

from __future__ import annotations

import fcntl
import socket
import struct

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def lo_up_here() -> bool:
    """In the calling process's netns; False on any error (the caller reports it)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifr = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    except OSError:
        return False
    return True
