"""engine.loop.run: child processes are reaped through pidfds, and the loop after it is clean."""

from __future__ import annotations

import asyncio
import threading
import warnings

from github_runner.engine.loop import run


async def _spawn_and_count_threads() -> tuple[int, int, str]:
    before = threading.active_count()
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", "echo out; exit 3", stdout=asyncio.subprocess.PIPE
    )
    during = threading.active_count()  # the threaded watcher would have added a thread here
    out, _ = await proc.communicate()
    return during - before, await proc.wait(), out.decode()


def test_children_are_reaped_without_a_thread_each() -> None:
    extra_threads, code, out = run(_spawn_and_count_threads())
    assert (extra_threads, code, out) == (0, 3, "out\n")


def test_the_next_plain_loop_still_runs_children() -> None:
    run(_spawn_and_count_threads())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert not isinstance(asyncio.get_child_watcher(), asyncio.PidfdChildWatcher)
    _, code, out = asyncio.run(_spawn_and_count_threads())
    assert (code, out) == (3, "out\n")


def test_the_result_and_exceptions_come_back() -> None:
    async def fail() -> None:
        raise ValueError("boom")

    async def value() -> int:
        return 42

    assert run(value()) == 42
    try:
        run(fail())
    except ValueError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the exception was swallowed")
