"""Dropping a forked child to the job user before it execs, for the sandbox's init.

The same result as `setpriv --reuid=U --regid=G --clear-groups --inh-caps=-all
--bounding-set=-all --no-new-privs` (users.py), without exec'ing setpriv: the init is already
set up in a forked child (staging.py), so doing the drop there saves one process per job.
Order matters: the bounding set and inheritable caps can only be cleared while still root;
switching every uid away from 0 (with keep-caps off) then empties the permitted and effective
sets. Any failure exits the child (126) with a message: the job never starts half-dropped.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path

PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 63


def drop_in_child(uid: int, gid: int) -> Callable[[], None]:
    """The child-side drop (everything is prepared here, in the parent)."""
    libc = ctypes.CDLL(None, use_errno=True)
    prctl, capget, capset = libc.prctl, libc.capget, libc.capset
    setgroups, setresgid, setresuid = libc.setgroups, libc.setresgid, libc.setresuid
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    caps = range(last_cap() + 1)

    def fail(what: bytes) -> None:
        os.write(2, b"ghr: dropping to the job user failed: " + what + b"\n")
        os._exit(126)

    def drop() -> None:
        for cap in caps:
            if prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                fail(b"bounding set")
        if prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
            fail(b"ambient caps")
        if capget(ctypes.byref(header), data) != 0:
            fail(b"capget")
        data[0].inheritable = data[1].inheritable = 0
        if capset(ctypes.byref(header), data) != 0:
            fail(b"inheritable caps")
        if prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0:
            fail(b"keep-caps")
        if setgroups(0, None) != 0:
            fail(b"setgroups")
        if setresgid(gid, gid, gid) != 0:
            fail(b"setresgid")
        if setresuid(uid, uid, uid) != 0:
            fail(b"setresuid")
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            fail(b"no_new_privs")

    return drop
