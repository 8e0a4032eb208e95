"""Doing things inside another network namespace without leaving our own.

`setns(CLONE_NEWNET)` only moves the calling thread, and a socket stays in the namespace it was
created in. So the gateway creates its listening sockets, NFLOG socket and nft context in a
short-lived thread that joins the gateway namespace, while the rest of the runner (and the DNS
proxy's upstream socket, which must reach the host's resolver, even on 127.0.0.1) stays put.
A fresh thread per call matters: a pooled thread would carry the namespace into unrelated work.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class CommandError(RuntimeError):
    """An `ip`/`nsenter` command failed; the message carries the command and its stderr."""


def run_in_netns(path: str | Path, fn: Callable[[], T]) -> T:
    """Run fn in a new thread that has joined the network namespace at `path`."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(str(path), os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({path}): {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)

    thread = threading.Thread(target=target, name=f"netns:{path}")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def interfaces() -> list[str]:
    """Names of the links of the calling thread's namespace (use inside `run_in_netns`)."""
    import socket

    return [name for _, name in socket.if_nameindex()]


def write_sysctl(path: str | Path, key: str, value: str) -> None:
    """Set a net.* sysctl inside the namespace (/proc/sys/net follows the thread's netns)."""

    def write() -> None:
        with open("/proc/sys/" + key.replace(".", "/"), "w", encoding="ascii") as fh:
            fh.write(value)

    run_in_netns(path, write)


async def run(argv: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
    """Run a host command (ip, nsenter); raise CommandError naming it when it fails."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if check and proc.returncode != 0:
        shown = " ".join(argv)
        if stdin:
            shown += " <<< " + stdin.strip().replace("\n", "; ")
        raise CommandError(f"{shown}: exit {proc.returncode}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


def netns_path(name: str) -> Path:
    return Path("/run/netns") / name


def list_netns() -> list[str]:
    try:
        return sorted(p.name for p in Path("/run/netns").iterdir())
    except FileNotFoundError:
        return []
