"""Start-to-exit time of a trivial step (`true`) on each executor, next to the raw floor measured
in the same loop (alternating, medians), as issue 6 asks:

* shell   vs `bash -c true` and the same drop (`setpriv ... true`) - per job (prepare+step+close)
* sandbox vs bare bwrap with the same namespaces and limits: a cgroup with the same limits,
  `unshare --net` + lo up + setpriv + bwrap with the same flags running `true`, cgroup removed
  - per job; and per step (a step in a prepared job) vs that same bare bwrap
* docker  vs the docker CLI doing the same work: `network create --internal`, `run --rm` with the
  same hardening options and limits, `network rm`   (target <= 1.2x)
* gvisor  vs the same CLI work with `--runtime runsc-host`

Usage: uv run python bench/executors.py [--runs N] [--rounds N] [--docker-runs N] [--only shell,...]
Needs root, bwrap, the ghr-job user; dockerd and the local busybox image for docker/gvisor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from github_runner.executors import cgroups
from github_runner.executors.base import ContainerSpec, JobSpec, Limits
from github_runner.executors.sandbox import SandboxExecutor, SandboxJob
from github_runner.executors.shell import ShellExecutor
from github_runner.executors.users import resolve_user

LIMITS = Limits(memory_bytes=512 << 20, cpus=1.0, pids=256)
ENV = {"PATH": "/usr/bin:/bin"}


def spec(root: Path, container: ContainerSpec | None = None) -> JobSpec:
    d = Path(tempfile.mkdtemp(prefix="ghr-bench-", dir=root))
    for s in ("ws", "tmp", "tc"):
        (d / s).mkdir()
    return JobSpec(job_id=f"b-{uuid.uuid4().hex[:8]}", work_dir=d, workspace=d / "ws", temp=d / "tmp",
                   tool_cache=d / "tc", limits=LIMITS, container=container)


async def one_job(executor: object, s: JobSpec) -> None:
    job = await executor.prepare(s)  # type: ignore[attr-defined]
    try:
        p = await job.run(["true"], env=ENV, cwd="/")
        [c async for c in p.output()]
        assert await p.wait() == 0
    finally:
        await job.close()


async def sh(argv: list[str]) -> None:
    p = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.DEVNULL)
    assert await p.wait() == 0, argv


async def bare_bwrap(job: SandboxJob, s: JobSpec) -> None:
    """The same namespaces, binds and limits as the sandbox executor, running `true` once."""
    cg = cgroups.job_cgroup(s.job_id + "-bare", s.limits)
    argv = job.bwrap_argv([], [], 1, own_net=False)
    argv = argv[: argv.index("--")]
    argv = [a for a in argv if a not in ("--info-fd", "1")] + ["--", "true"]
    procs = " ".join(str(p) for p in cg.procs_files())  # the same hierarchies a job joins
    script = f'for f in {procs}; do echo $$ > $f; done; ip link set lo up && exec "$@"'
    await sh(["unshare", "--net", "--", "sh", "-c", script, "sh", *job.user.setpriv_prefix(), *argv])
    await cg.remove()


async def measure(runs: int, cases: dict[str, Callable[[], Awaitable[None]]],
                  rounds: int = 1) -> list[dict[str, float]]:
    """Per round: the median ms of each case, the cases alternating inside the round. Several
    rounds show how much the shared host's load moved the figures."""
    out = []
    for fn in cases.values():  # warm-up
        await fn()
    for _ in range(rounds):
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(runs):
            for k, fn in cases.items():
                t = time.perf_counter()
                await fn()
                times[k].append(time.perf_counter() - t)
        out.append({k: statistics.median(v) * 1000 for k, v in times.items()})
    return out


def row(name: str, rs: list[dict[str, float]], case: str, base: str, base_key: str,
        target: float | None = None) -> str:
    """Medians over rounds; the ratio is the median of the per-round ratios (all listed)."""
    ms = statistics.median(r[case] for r in rs)
    base_ms = statistics.median(r[base_key] for r in rs)
    ratios = [r[case] / r[base_key] for r in rs]
    ratio = statistics.median(ratios)
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  OVER target {target}x")
    each = f"  (rounds: {' '.join(f'{x:.2f}' for x in ratios)})" if len(rs) > 1 else ""
    return f"{name:<34} {ms:9.1f} ms   {base:<34} {base_ms:9.1f} ms   {ratio:5.2f}x{verdict}{each}"


def docker_cli_job(image: str, runtime: str | None) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        net = f"ghr-bench-{uuid.uuid4().hex[:8]}"
        await sh(["docker", "network", "create", "--internal", net])
        try:
            await sh(["docker", "run", "--rm", "-q", "--network", net, "--cap-drop", "ALL",
                      "--security-opt", "no-new-privileges:true", "--init", "--ipc", "private",
                      "--memory", str(LIMITS.memory_bytes), "--memory-swap", str(LIMITS.memory_bytes),
                      "--cpus", "1", "--pids-limit", str(LIMITS.pids), "--user", "999:995",
                      *(["--runtime", runtime] if runtime else []), image, "true"])
        finally:
            await sh(["docker", "network", "rm", net])
    return run


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--docker-runs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --runs each (shell, sandbox)")
    ap.add_argument("--only", default="shell,sandbox,docker,gvisor")
    a = ap.parse_args()
    only = set(a.only.split(","))
    root = Path(tempfile.mkdtemp(prefix="ghr-bench-"))
    os.chmod(root, 0o755)
    lines = [f"{'case':<34} {'median':>12}   {'floor (same loop)':<34} {'median':>12}   ratio"]
    try:
        if "shell" in only:
            ex = ShellExecutor(user="ghr-job")
            r = await measure(a.runs, {
                "shell": lambda: one_job(ex, spec(root)),
                "bash": lambda: sh(["bash", "-c", "true"]),
                "setpriv": lambda: sh([*resolve_user("ghr-job", False).setpriv_prefix(), "true"]),
            }, a.rounds)
            lines.append(row("shell job (prepare+true+close)", r, "shell", "bash -c true", "bash"))
            lines.append(row("shell job (prepare+true+close)", r, "shell", "setpriv drop + true", "setpriv"))
        if "sandbox" in only:
            ex = SandboxExecutor()
            probe = SandboxJob(spec(root), ex.user, ex.envfilter, None)
            step_job = await ex.prepare(spec(root))

            async def step() -> None:
                p = await step_job.run(["true"], env=ENV, cwd="/")
                [c async for c in p.output()]
                await p.wait()

            r = await measure(a.runs, {
                "sandbox": lambda: one_job(ex, spec(root)),
                "bare": lambda: bare_bwrap(probe, spec(root)),
                "step": step,
            }, a.rounds)
            await step_job.close()
            lines.append(row("sandbox job (prepare+true+close)", r, "sandbox", "bare bwrap, same ns+limits", "bare", 1.5))
            lines.append(row("sandbox step in a running job", r, "step", "bare bwrap, same ns+limits", "bare"))
        for kind, runtime in (("docker", None), ("gvisor", "runsc-host")):
            if kind not in only or shutil.which("docker") is None:
                continue
            from github_runner.executors.docker import DockerExecutor
            from github_runner.executors.gvisor import GVisorExecutor
            from github_runner.executors.images import build_busybox

            image = build_busybox()
            ex = (GVisorExecutor if runtime else DockerExecutor)()  # docker picks the subnet, as for the CLI
            r = await measure(a.docker_runs, {
                kind: lambda: one_job(ex, spec(root, ContainerSpec(image=image))),
                "cli": docker_cli_job(image, runtime),
            })
            lines.append(row(f"{kind} job (prepare+true+close)", r, kind,
                             f"docker CLI net+run --rm+net rm{' runsc' if runtime else ''}", "cli",
                             1.2 if kind == "docker" else None))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
