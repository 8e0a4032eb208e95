"""Process detections from a job's cgroup tree: stray processes and miners.

A cgroup cannot be left without root, so unlike a process group or a parent chain (which
`setsid`, double forks and re-parenting to pid 1 escape) it is a complete list of what a step
started. The executor runs each step in its own child cgroup of the job's cgroup (v1 or v2:
only `cgroup.procs` is read); this module turns what is left in them into audit detections:

- `process_outlived_step`: still in the step's cgroup after the step's main process ended;
- `process_outside_step`: in the job's cgroup while no step runs;
- `cryptomining`: sustained CPU of a process whose command line or executable looks like a miner
  (CPU alone is noise: builds are CPU-bound).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from github_runner.egress.audit import AuditLog
from github_runner.egress.detect import (
    cgroup_pids,
    exe_sha256,
    miner_reasons,
    proc_info,
    sample_cpu,
)


class ProcessWatch:
    def __init__(self, audit: AuditLog, job_cgroup: Path, *, kill_leftovers: bool = False,
                 ignore_pids: set[int] | None = None) -> None:
        self.audit = audit
        self.job_cgroup = job_cgroup
        self.kill_leftovers = kill_leftovers
        self.ignore = set(ignore_pids or ())  # the executor's own long-lived helpers (init)
        self.step_cgroup: Path | None = None
        self._reported: set[tuple[str, int]] = set()

    def step_started(self, step_cgroup: Path) -> None:
        self.step_cgroup = step_cgroup

    def _record(self, kind: str, pid: int, severity: str, **extra: Any) -> dict[str, Any] | None:
        if (kind, pid) in self._reported:
            return None
        info = proc_info(pid)
        if info is None:
            return None
        self._reported.add((kind, pid))
        return self.audit.write("detection", "logged", kind=kind, severity=severity, pid=pid, ppid=info.ppid,
                                exe=info.exe, cmdline=info.cmdline, exe_sha256=exe_sha256(info.exe), **extra)

    def step_finished(self) -> list[dict[str, Any]]:
        """Call after the step's main process ended: whatever is left outlived it."""
        out: list[dict[str, Any]] = []
        if self.step_cgroup is not None:
            for pid in cgroup_pids(self.step_cgroup):
                if pid in self.ignore:
                    continue
                rec = self._record("process_outlived_step", pid, "medium")
                if rec is not None:
                    out.append(rec)
                if self.kill_leftovers:
                    _kill(pid)
        self.step_cgroup = None
        return out

    def outside_steps(self) -> list[dict[str, Any]]:
        """Call while no step runs: any process of the job's tree started outside a step."""
        if self.step_cgroup is not None:
            return []
        out = []
        for pid in cgroup_pids(self.job_cgroup):
            if pid not in self.ignore and ("process_outlived_step", pid) not in self._reported:
                rec = self._record("process_outside_step", pid, "medium")
                if rec is not None:
                    out.append(rec)
        return out

    async def miner_scan(self, seconds: float = 2.0) -> list[dict[str, Any]]:
        pids = [p for p in cgroup_pids(self.job_cgroup) if p not in self.ignore]
        samples = await asyncio.to_thread(sample_cpu, pids, seconds)
        out = []
        for pid, (info, share) in sorted(samples.items()):
            reasons = miner_reasons(info.cmdline + " " + os.path.basename(info.exe), share, seconds)
            if reasons:
                rec = self._record("cryptomining", pid, "high", reasons=reasons)
                if rec is not None:
                    out.append(rec)
        return out


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cgroup_of_pid(pid: int, root: Path = Path("/sys/fs/cgroup")) -> Path | None:
    """The cgroup directory holding pid: the v1 `pids` hierarchy, else the v2 one."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    v2 = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            candidate = root / "pids" / path.lstrip("/")
            if candidate.is_dir():
                return candidate
        if controllers == "":
            v2 = path
    if v2 is not None:
        for base in (root / "unified", root):
            candidate = base / v2.lstrip("/")
            if (candidate / "cgroup.procs").exists():
                return candidate
    return None


class StepSnapshots:
    """Stray-process detection by snapshots of the job's cgroup tree at step boundaries.

    Works without knowing the executor's per-step cgroups: what appears during a step and is
    still there after its main process ended outlived it; what appears between steps started
    outside any step. Whatever existed when the job's namespace was handed over (the executor's
    init) is ignored.
    """

    def __init__(self, watch: ProcessWatch) -> None:
        self.watch = watch
        self.known = set(cgroup_pids(watch.job_cgroup))
        self.tasks: set[asyncio.Task[Any]] = set()

    def begin_step(self) -> list[dict[str, Any]]:
        current = set(cgroup_pids(self.watch.job_cgroup))
        out = [r for pid in sorted(current - self.known)
               if (r := self.watch._record("process_outside_step", pid, "medium")) is not None]
        self.known = current
        return out

    def end_step(self, miner_seconds: float = 2.0) -> list[dict[str, Any]]:
        current = set(cgroup_pids(self.watch.job_cgroup))
        new = sorted(current - self.known)
        out = [r for pid in new if (r := self.watch._record("process_outlived_step", pid, "medium")) is not None]
        self.known = current
        if new:  # a leftover that burns CPU with a miner's command line is a miner
            task = asyncio.ensure_future(self._miner(new, miner_seconds))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return out

    async def _miner(self, pids: list[int], seconds: float) -> None:
        samples = await asyncio.to_thread(sample_cpu, pids, seconds)
        for pid, (info, share) in sorted(samples.items()):
            reasons = miner_reasons(info.cmdline + " " + os.path.basename(info.exe), share, seconds)
            if reasons:
                self.watch._record("cryptomining", pid, "high", reasons=reasons)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
