"""Fixtures for executor integration tests: real per-job directories a dropped user can reach,
and leftovers checks (processes, cgroups) that every test can assert after the job."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from github_runner.executors.base import JobSpec, Limits

JOB_USER = "ghr-job"


def have_user(name: str) -> bool:
    return subprocess.run(["id", name], capture_output=True).returncode == 0


def live_pids_matching(needle: str) -> list[int]:
    """Non-zombie processes whose command line contains `needle`."""
    out: list[int] = []
    for e in os.scandir("/proc"):
        if not e.name.isdigit() or int(e.name) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{e.name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{e.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmd and state != "Z":
            out.append(int(e.name))
    return out


@pytest.fixture
def make_spec() -> Iterator[Callable[..., JobSpec]]:
    made: list[Path] = []

    def make(limits: Limits | None = None, **kw: object) -> JobSpec:
        d = Path(tempfile.mkdtemp(prefix="ghr-test-"))
        made.append(d)
        for sub in ("ws", "tmp", "tc"):
            (d / sub).mkdir()
        return JobSpec(
            job_id=f"t-{uuid.uuid4().hex[:10]}",
            work_dir=d,
            workspace=d / "ws",
            temp=d / "tmp",
            tool_cache=d / "tc",
            limits=limits or Limits(),
            **kw,  # type: ignore[arg-type]
        )

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)
