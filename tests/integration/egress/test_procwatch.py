"""Process detections on real cgroups (§7 cases 34, 35, 37): stray processes and a renamed miner.

The cgroups are made by the test under the cgroup2 mount (v1 hierarchies would do the same:
only `cgroup.procs` is read), and every process in them is killed and the tree removed after.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from github_runner.egress.audit import AuditLog
from github_runner.egress.detect import cgroup_pids
from github_runner.egress.procwatch import ProcessWatch
from tests.conftest import require

UNIFIED = Path("/sys/fs/cgroup/unified")


@pytest.fixture
def job_cgroup() -> Iterator[Path]:
    require(os.geteuid() == 0, "cgroups need root")
    root = UNIFIED if (UNIFIED / "cgroup.procs").exists() else Path("/sys/fs/cgroup")
    require((root / "cgroup.procs").exists(), "no cgroup2 mount")
    d = root / f"grt-{secrets.token_hex(3)}"
    d.mkdir()
    try:
        yield d
    finally:
        for _ in range(50):
            pids = cgroup_pids(d)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for sub in sorted(d.rglob("*"), key=lambda p: -len(p.parts)):
            if sub.is_dir():
                sub.rmdir()
        d.rmdir()


def _in_cgroup(cg: Path, script: str) -> subprocess.Popen[bytes]:
    """A step shell that joins the cgroup before running anything, as the executors do."""
    return subprocess.Popen(["bash", "-c", f"echo $$ > {cg}/cgroup.procs || exit 99\n{script}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_34_35_stray_processes(job_cgroup: Path, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "a.jsonl", "j", "audit")
    watch = ProcessWatch(audit, job_cgroup)
    step = job_cgroup / "step-1"
    step.mkdir()
    audit.set_step({"index": 1, "name": "Build"})
    watch.step_started(step)
    sh = _in_cgroup(step, "setsid sleep 301 & nohup sleep 302 >/dev/null 2>&1 & exit 0")
    assert sh.wait() == 0
    time.sleep(0.2)
    left = watch.step_finished()
    assert sorted(r["cmdline"] for r in left) == ["sleep 301", "sleep 302"]
    assert all(r["kind"] == "process_outlived_step" and r["step"]["name"] == "Build" for r in left)
    assert all(r["exe"].endswith("sleep") and len(r["exe_sha256"]) == 64 for r in left)
    audit.set_step(None)
    # started while no step runs (a cron-like leftover spawning work between steps)
    bg = _in_cgroup(job_cgroup, "exec sleep 303")
    time.sleep(0.2)
    outside = watch.outside_steps()
    assert [r["cmdline"] for r in outside] == ["sleep 303"]
    assert outside[0]["kind"] == "process_outside_step" and outside[0]["step"] is None
    bg.kill()
    bg.wait()


def test_34_kill_leftovers_at_step_end(job_cgroup: Path, tmp_path: Path) -> None:
    watch = ProcessWatch(AuditLog(None, "j", "block"), job_cgroup, kill_leftovers=True)
    step = job_cgroup / "step-1"
    step.mkdir()
    watch.step_started(step)
    assert _in_cgroup(step, "setsid sleep 304 & exit 0").wait() == 0
    time.sleep(0.2)
    assert len(watch.step_finished()) == 1
    for _ in range(40):
        if not cgroup_pids(step):
            break
        time.sleep(0.05)
    assert cgroup_pids(step) == []


def test_37_renamed_miner_with_sustained_cpu(job_cgroup: Path, tmp_path: Path) -> None:
    watch = ProcessWatch(AuditLog(None, "j", "audit"), job_cgroup)
    miner = _in_cgroup(job_cgroup, "exec -a xmrig /usr/bin/python3 -c 'while True: pass' --donate-level 1 "
                                   "-o stratum+tcp://pool.miner.example:3333")
    build = _in_cgroup(job_cgroup, "exec /usr/bin/python3 -c 'while True: pass'")  # busy, but not a miner
    try:
        time.sleep(0.3)
        found = asyncio.run(watch.miner_scan(1.0))
    finally:
        miner.kill()
        build.kill()
        miner.wait()
        build.wait()
    assert len(found) == 1 and found[0]["kind"] == "cryptomining" and found[0]["pid"] == miner.pid
    reasons = " ".join(found[0]["reasons"])
    assert "of a core" in reasons and "xmrig" in reasons and "stratum+tcp" in reasons
