"""Bringing `lo` up in a job's network namespace without running `ip`: a throwaway thread joins
the netns (setns affects only the calling thread) and sets IFF_UP with one ioctl. Saves a
fork+exec of `sh` and `ip` per job; the thread is never reused, so no other code ever runs in
the job's namespace."""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import threading
from pathlib import Path

from github_runner.executors.base import ExecutorError

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_libc = ctypes.CDLL(None, use_errno=True)


def _lo_up(netns: Path, errors: list[str]) -> None:
    try:
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifr = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    except OSError as e:
        errors.append(str(e))


def loopback_up(netns: Path) -> None:
    errors: list[str] = []
    t = threading.Thread(target=_lo_up, args=(netns, errors), name="ghr-netns-lo")
    t.start()
    t.join()
    if errors:
        raise ExecutorError(f"cannot bring lo up in {netns}: {errors[0]}")
