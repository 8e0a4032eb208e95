"""The Executor seam: how the engine runs job processes without knowing how they are isolated.

One module per backend (`shell.py`, `sandbox.py`, `docker.py`, `gvisor.py`, ...), each exposing
a class that satisfies `Executor`; `executors/__init__.py` maps config names to them so that the
engine never imports a backend directly.

Life cycle, per job:

    executor = get_executor("sandbox", settings)
    async with await executor.prepare(spec) as sandbox:      # JobSandbox
        proc = await sandbox.run(argv, env=..., cwd=...)      # Process
        async for chunk in proc.output(): ...                 # stdout+stderr bytes, in order
        code = await proc.wait()
    # leaving the block removes everything the sandbox made (processes, cgroups, netns,
    # containers, networks, temp dirs) on every exit path.

Paths: the engine owns a per-job directory tree on the host (`JobSpec.work_dir`, with the
workspace, `_temp` for scripts and file-command files, the tool cache...). A backend may show
those directories to job processes at other paths (Docker mounts them under `/__w`), so the
engine converts with `sandbox.to_job_path(host_path)` before putting a path in argv or env, and
reads the files back on the host side.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from msgspec import Struct, field

from github_runner.executors.errors import ExecutorError  # re-exported for the backends

__all__ = [
    "ContainerSpec", "Executor", "ExecutorError", "JobSandbox", "JobSpec", "Limits", "NetworkHook",
    "Process",
]


class Limits(Struct, frozen=True):
    memory_bytes: int | None = None
    cpus: float | None = None
    pids: int | None = None


class ContainerSpec(Struct, frozen=True):
    """A job container (`container:`) or service container (`services:`)."""

    image: str
    options: str = ""  # the raw `options:` string, validated by policy before use
    env: Mapping[str, str] = field(default_factory=dict)
    ports: Sequence[str] = ()
    volumes: Sequence[str] = ()
    credentials: Mapping[str, str] | None = None
    name: str | None = None  # the service's key, used as its network alias


class NetworkHook(Protocol):
    """Where egress control plugs in: given the job's network namespace, link it out.

    `attach` is called after the job's netns exists and before any job process starts; if it
    raises, the job does not start (block mode never fails open). `detach` is called on every
    exit path, after the job's processes are gone.
    """

    async def attach(self, netns_path: Path) -> None: ...

    async def detach(self) -> None: ...


class JobSpec(Struct, frozen=True):
    job_id: str  # unique, safe for names: used in labels, cgroup and netns names
    work_dir: Path  # host dir that holds everything below
    workspace: Path  # host path of GITHUB_WORKSPACE
    temp: Path  # host path of RUNNER_TEMP (scripts, file-command files)
    tool_cache: Path
    container: ContainerSpec | None = None  # the job container, docker-like executors only
    services: Mapping[str, ContainerSpec] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    network: NetworkHook | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Process(Protocol):
    pid: int | None

    def output(self) -> AsyncIterator[bytes]:
        """stdout and stderr bytes as they arrive, interleaved, until both close."""
        ...

    async def wait(self) -> int:
        """The exit code; negative for death by signal, as in `subprocess`."""
        ...

    async def signal(self, sig: int = signal.SIGINT) -> None:
        """Signal the whole process tree of this step (its process group or container)."""
        ...

    async def kill(self) -> None:
        """SIGKILL the whole tree; returns once nothing of it is left."""
        ...


class JobSandbox(Protocol):
    name: str  # executor name, for logs and `runner.environment`

    def to_job_path(self, host_path: Path) -> str: ...

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        stdin: bytes | None = None,
        container: str | None = None,  # None: the job environment; else a container's name
    ) -> Process: ...

    async def close(self) -> None:
        """Remove everything this job created. Idempotent; never raises for missing things."""
        ...

    async def __aenter__(self) -> "JobSandbox": ...

    async def __aexit__(self, *exc: object) -> None: ...


class Executor(Protocol):
    name: str

    async def prepare(self, spec: JobSpec) -> JobSandbox: ...

    def check(self) -> list[str]:
        """What is missing on this host for this executor (empty list: ready). For `doctor`."""
        ...
