"""Per-job cgroup v1 trees: limits for the job, and the only reliable list of what it started.

A process group is not enough to find a job's processes: `setsid`, double forks and `nohup`
escape it. Every job process is put into `ghr/<job>/<step>` in each controller below *before it
execs*, and children cannot leave a cgroup without root, so at job end a race-free kill is
possible (forbid forks with `pids.max = 0`, SIGKILL everything listed, repeat until empty) and
the directories can be removed.

The tree sits under the runner's own cgroup in each hierarchy (so an outer limit on the runner
still bounds its jobs). Only root can build it: on cgroup v1 nothing is delegated cleanly.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from github_runner.executors.base import ExecutorError, Limits

ROOT = Path(os.environ.get("GHR_CGROUP_ROOT", "/sys/fs/cgroup"))
CONTROLLERS: tuple[str, ...] = ("memory", "pids", "cpu", "freezer")
# process tracking and the race-free kill (pids.max = 0). The freezer is no longer used (freezing
# waits for every task to reach the fridge, and each extra hierarchy costs a move per process);
# it stays in CONTROLLERS so old trees are still found and swept.
ALWAYS: tuple[str, ...] = ("pids",)
REQUIRED: tuple[str, ...] = ("memory", "pids", "cpu")
PREFIX = "ghr"
CPU_PERIOD_US = 100_000


def _own_path(controller: str) -> str:
    """This process's cgroup path in the v1 hierarchy of `controller` ("/" if unknown)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path
    except OSError:
        pass
    return "/"


@functools.cache
def base_dir(controller: str) -> Path:
    """Cached: a job's nodes are made and removed under the same parent even if the runner is
    moved meanwhile, and /proc/self/cgroup is not re-read for every file a job touches."""
    return ROOT / controller / _own_path(controller).lstrip("/") / PREFIX


def available() -> str | None:
    """None when job cgroups can be made here, else why not (for errors and `doctor`)."""
    if os.geteuid() != 0:
        return "job cgroups need root (cgroup v1 has no clean delegation)"
    for c in REQUIRED:
        d = ROOT / c
        if not (d / "cgroup.procs").exists():
            return f"cgroup v1 controller {c!r} is not mounted at {d}"
        if not os.access(d, os.W_OK):
            return f"{d} is not writable"
    return None


class Cgroup:
    """One node (`ghr/<job>` or `ghr/<job>/<step>`) present in every controller."""

    def __init__(self, rel: str, controllers: tuple[str, ...] = CONTROLLERS,
                 joins: tuple[Path, ...] = ()) -> None:
        """`controllers`: the hierarchies with a node of this name; memory/cpu only when limited
        (each is one more move per process). `joins`: other nodes' cgroup.procs a process put
        here also enters (a step: its job's memory/cpu nodes, where the limits are)."""
        self.rel = rel
        self.controllers = controllers
        self.joins = joins

    def dir(self, controller: str) -> Path:
        return base_dir(controller) / self.rel

    def create(self, limits: Limits | None = None) -> "Cgroup":
        for c in self.controllers:
            self.dir(c).mkdir(parents=True, exist_ok=True)
        if limits is not None:
            self._write_limits(limits)
        return self

    def child(self, name: str) -> "Cgroup":
        """A step's node: only where processes are tracked (pids); its processes enter the
        job's own node of the other hierarchies (two mkdir/rmdir less per step)."""
        joins = tuple(self.dir(c) / "cgroup.procs" for c in self.controllers if c not in ALWAYS)
        return Cgroup(f"{self.rel}/{name}", tuple(c for c in self.controllers if c in ALWAYS),
                      self.joins + joins).create()

    def _write_limits(self, limits: Limits) -> None:
        try:
            if limits.memory_bytes is not None:
                mem = self.dir("memory")
                (mem / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
                swap = mem / "memory.memsw.limit_in_bytes"
                if swap.exists():  # no swap past the limit either, when the kernel accounts it
                    swap.write_text(str(limits.memory_bytes))
            if limits.pids is not None:
                (self.dir("pids") / "pids.max").write_text(str(limits.pids))
            if limits.cpus is not None:
                cpu = self.dir("cpu")
                (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (cpu / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * CPU_PERIOD_US)))
        except OSError as e:
            raise ExecutorError(f"cannot apply limits {limits} to cgroup {self.rel}: {e}") from e

    def procs_files(self) -> list[Path]:
        """Each controller's cgroup.procs: writing a pid there moves that process in."""
        return [*(self.dir(c) / "cgroup.procs" for c in self.controllers), *self.joins]

    def open_procs(self) -> list[int]:
        """Write-only fds of each controller's cgroup.procs, for the child to join before exec."""
        return [os.open(p, os.O_WRONLY | os.O_CLOEXEC) for p in self.procs_files()]

    def _dirs(self, controller: str) -> Iterator[Path]:
        """This node and all nodes below it, deepest first."""
        top = self.dir(controller)
        if not top.is_dir():
            return
        for dirpath, _dirnames, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            yield Path(dirpath)

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self._dirs("pids"):
            try:
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except OSError:
                continue
        return found

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed anything in this subtree (v1 counts per node)."""
        for d in self._dirs("memory"):
            try:
                ctl = (d / "memory.oom_control").read_text()
            except OSError:
                continue
            for line in ctl.splitlines():
                if line.startswith("oom_kill ") and line != "oom_kill 0":
                    return True
        return False

    def _block_forks(self) -> None:
        """No task below this node can fork or clone any more (pids.max is hierarchical and only
        checked at fork), so the kill loop cannot be outrun: forks already past the check finish,
        and their children are caught on the next round."""
        try:
            (self.dir("pids") / "pids.max").write_text("0")
        except OSError:
            pass

    async def kill_all(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in this subtree; returns when it is empty."""
        pids = self.pids()
        if not pids:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.0002
        self._block_forks()
        while pids:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            pids = self.pids()
            if pids and loop.time() > deadline:
                raise ExecutorError(f"cgroup {self.rel}: processes survive SIGKILL: {sorted(pids)}")

    async def remove(self, timeout: float = 10.0) -> None:
        """Kill what is left and remove the directories. Missing ones are fine."""
        await self.kill_all(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for c in CONTROLLERS:
            for d in list(self._dirs(c)):
                while True:
                    try:
                        d.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError as e:
                        if e.errno != errno.EBUSY or loop.time() > deadline:
                            raise ExecutorError(f"cannot remove cgroup {d}: {e}") from e
                        await asyncio.sleep(0.001)


def job_cgroup(job_id: str, limits: Limits) -> Cgroup:
    """The job's node, named `<job>@<runner pid>` so a sweep can tell orphans from live jobs."""
    used = ALWAYS + (("memory",) if limits.memory_bytes is not None else ()) + (
        ("cpu",) if limits.cpus is not None else ())
    return Cgroup(f"{job_id}@{os.getpid()}", used).create(limits)


def owner_alive(name: str) -> bool:
    _, _, pid = name.rpartition("@")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


async def sweep_orphans() -> list[str]:
    """Kill and remove job cgroups whose runner process is gone (a killed worker's leftovers)."""
    removed: list[str] = []
    for name in sorted({p.name for p in leftovers()}):
        if not owner_alive(name):
            await Cgroup(name).remove()
            removed.append(name)
    return removed


def leftovers() -> list[Path]:
    """Every job cgroup left on this host (tests and `doctor` assert this is empty)."""
    out: list[Path] = []
    for c in CONTROLLERS:
        b = base_dir(c)
        if b.is_dir():
            out.extend(p for p in b.iterdir() if p.is_dir())
    return out
