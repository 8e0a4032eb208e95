"""The event loop a run of the engine uses: `asyncio.run` with a pidfd child watcher.

Why: on Python 3.11 asyncio's default child watcher starts one thread per child process to
wait for it; starting and joining that thread costs a step ~1 ms. A pidfd (Linux >= 5.3) lets
the loop itself see the exit, which is what Python 3.12 does by default. Where pidfds are not
available (old kernel, seccomp) the default watcher stays.
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _pidfd_works() -> bool:
    try:
        fd = os.pidfd_open(os.getpid())
    except (AttributeError, OSError):
        return False
    os.close(fd)
    return True


async def _with_pidfd_watcher(main: Coroutine[Any, Any, T]) -> T:
    with warnings.catch_warnings():  # the child watcher API is deprecated from 3.12 on
        warnings.simplefilter("ignore", DeprecationWarning)
        previous = asyncio.get_child_watcher()
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(asyncio.get_running_loop())
        asyncio.set_child_watcher(watcher)
    try:
        return await main
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_child_watcher(previous)  # the next loop (tests run many) starts clean
            watcher.close()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, with child processes reaped through pidfds where possible."""
    if sys.version_info < (3, 12) and sys.platform == "linux" and _pidfd_works():
        return asyncio.run(_with_pidfd_watcher(main))
    return asyncio.run(main)
