"""The shell executor on the real kernel: user drop, env denylist, groups, cgroups, cleanup."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import require
from github_runner.executors import cgroups, get_executor
from github_runner.executors.base import ExecutorError, JobSpec, Limits
from github_runner.executors.shell import ShellExecutor

from tests.integration.executors.conftest import JOB_USER, have_user, live_pids_matching

pytestmark = pytest.mark.root
FORK_BOMB = """
import os, signal, time
kids = []
try:
    while len(kids) < 200:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
except OSError as e:
    print("capped", len(kids), e.errno)
for pid in kids:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C"}


def _need_root_and_user() -> None:
    require(os.geteuid() == 0, "shell executor user drop and cgroups need root")
    require(have_user(JOB_USER), f"user {JOB_USER} (created by .ci/setup.d/20-jobuser.sh)")


async def _run(sb: object, script: str, **kw: object) -> tuple[int, str]:
    proc = await sb.run(["bash", "-c", script], env=kw.pop("env", ENV), cwd="/", **kw)  # type: ignore[attr-defined]
    out = b"".join([c async for c in proc.output()])
    return await proc.wait(), out.decode()


def test_root_refused_without_allow_root() -> None:
    require(os.geteuid() == 0, "needs root")
    with pytest.raises(ExecutorError, match="allow_root"):
        get_executor("shell")


def test_runs_as_job_user_with_filtered_env_and_ordered_output(make_spec: Callable[..., JobSpec]) -> None:
    _need_root_and_user()

    async def go() -> None:
        ex = ShellExecutor(user=JOB_USER, env_denylist=["MY_*"])
        spec = make_spec()
        async with await ex.prepare(spec) as sb:
            env = {**ENV, "RUNNER_TOKEN": "s3cret", "MY_KEY": "k", "KEEP": "yes"}
            rc, out = await _run(
                sb,
                "id -un; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status;"
                "echo \"[$RUNNER_TOKEN][$MY_KEY][$KEEP]\"; echo one; echo two >&2; echo three;"
                "exit 3",
                env=env,
            )
            rc2, out2 = await _run(sb, f"touch {spec.workspace}/f && stat -c %U {spec.workspace}/f")
        assert rc == 3
        lines = out.splitlines()
        assert lines[0] == JOB_USER
        assert "CapEff:\t0000000000000000" in lines and "CapBnd:\t0000000000000000" in lines
        assert "NoNewPrivs:\t1" in lines
        assert "[][][yes]" in lines
        assert lines[lines.index("one") + 1 : lines.index("one") + 3] == ["two", "three"]
        assert (rc2, out2.strip()) == (0, JOB_USER)

    asyncio.run(go())


def test_temporary_files_stay_in_the_job(make_spec: Callable[..., JobSpec]) -> None:
    """`mktemp` writes under RUNNER_TEMP (emptied with the job), not the host's shared /tmp;
    a TMPDIR the workflow sets wins."""
    _need_root_and_user()

    async def go() -> tuple[str, str, str]:
        spec = make_spec()
        async with await ShellExecutor(user=JOB_USER).prepare(spec) as sb:
            _, made = await _run(sb, "mktemp -d")
            _, chosen = await _run(sb, 'echo "$TMPDIR"', env={**ENV, "TMPDIR": "/var/tmp"})
        return str(spec.temp), made.strip(), chosen.strip()

    temp, made, chosen = asyncio.run(go())
    assert made.startswith(temp + "/tmp."), made
    assert chosen == "/var/tmp"


def test_setuid_binary_grants_nothing(make_spec: Callable[..., JobSpec]) -> None:
    _need_root_and_user()
    d = Path(tempfile.mkdtemp(prefix="ghr-suid-"))
    try:
        os.chmod(d, 0o755)
        shutil.copy("/usr/bin/id", d / "id")
        os.chmod(d / "id", 0o4755)

        async def go() -> tuple[int, str]:
            async with await ShellExecutor(user=JOB_USER).prepare(make_spec()) as sb:
                return await _run(sb, f"{d}/id -u; {d}/id -un")

        rc, out = asyncio.run(go())
        assert rc == 0 and out.split() == [str(pwd.getpwnam(JOB_USER).pw_uid), JOB_USER]
    finally:
        shutil.rmtree(d)


def test_signal_and_kill_hit_the_whole_group(make_spec: Callable[..., JobSpec]) -> None:
    _need_root_and_user()
    tag = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 997}"

    async def go() -> None:
        async with await ShellExecutor(user=JOB_USER).prepare(make_spec()) as sb:
            p = await sb.run(["bash", "-c", f"sleep {tag} & sleep {tag} & wait"], env=ENV, cwd="/")
            for _ in range(100):
                if len(live_pids_matching(f"sleep {tag}")) == 2:
                    break
                await asyncio.sleep(0.02)
            await p.signal(signal.SIGTERM)
            assert await asyncio.wait_for(p.wait(), 5) == -signal.SIGTERM
            await asyncio.sleep(0.05)
            assert live_pids_matching(f"sleep {tag}") == []
            p2 = await sb.run(["bash", "-c", f"trap '' TERM INT; setsid sleep {tag} & sleep {tag}"], env=ENV, cwd="/")
            await asyncio.sleep(0.2)
            await asyncio.wait_for(p2.kill(), 5)
            assert await p2.wait() == -signal.SIGKILL
            assert live_pids_matching(f"sleep {tag}") == []

    asyncio.run(go())


def test_close_kills_escaped_processes_and_removes_cgroup(make_spec: Callable[..., JobSpec]) -> None:
    _need_root_and_user()
    tag = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 991}"

    async def go() -> None:
        spec = make_spec()
        sb = await ShellExecutor(user=JOB_USER).prepare(spec)
        rc, out = await _run(
            sb,
            f"(setsid sleep {tag} &); (sleep {tag} & disown) ; nohup sleep {tag} >/dev/null 2>&1 &"
            f"bash -c 'bash -c \"sleep {tag}\" &' ; echo started",
        )
        assert (rc, out.strip()) == (0, "started")
        await asyncio.sleep(0.1)
        assert len(live_pids_matching(f"sleep {tag}")) == 4
        await sb.close()
        await sb.close()  # idempotent
        assert live_pids_matching(f"sleep {tag}") == []
        assert not any(p.name.startswith(spec.job_id) for p in cgroups.leftovers())

    asyncio.run(go())


def test_pids_and_memory_limits_enforced(make_spec: Callable[..., JobSpec]) -> None:
    _need_root_and_user()

    async def go() -> None:
        spec = make_spec(Limits(pids=24, memory_bytes=64 << 20))
        async with await ShellExecutor(user=JOB_USER).prepare(spec) as sb:
            rc, out = await _run(sb, f"python3 -c '{FORK_BOMB}'")
            assert rc == 0 and out.startswith("capped ")
            assert 0 < int(out.split()[1]) < 24 and out.split()[2] == "11"  # EAGAIN
            rc, _ = await _run(sb, "python3 -c 'x = bytearray(256 << 20); print(len(x))'")
            assert rc == -signal.SIGKILL
            assert sb.cgroup is not None and sb.cgroup.oom_killed()

    asyncio.run(go())


def test_containers_refused_clearly(make_spec: Callable[..., JobSpec]) -> None:
    _need_root_and_user()
    from github_runner.executors.base import ContainerSpec

    with pytest.raises(ExecutorError, match="docker or gvisor"):
        asyncio.run(ShellExecutor(user=JOB_USER).prepare(make_spec(container=ContainerSpec(image="x"))))


def test_escape_attempts_shell_blocks_what_a_uid_can(make_spec: Callable[..., JobSpec]) -> None:
    """The weakest boundary: the uid, no caps and no_new_privs hold; visibility does not."""
    from tests.integration.executors.escapes import ESCAPE_SCRIPT, parse

    _need_root_and_user()
    d = Path(tempfile.mkdtemp(prefix="ghr-state-"))
    try:
        os.chmod(d, 0o755)
        (d / ".credentials").write_text("x")
        os.chmod(d / ".credentials", 0o600)
        shutil.copy("/bin/busybox", d / "suid-bb")
        os.chmod(d / "suid-bb", 0o4755)

        async def go() -> str:
            ex = ShellExecutor(user=JOB_USER)
            other = make_spec()
            (other.workspace / "secret.txt").write_text("other job")
            async with await ex.prepare(other), await ex.prepare(make_spec()) as sb:
                env = {**ENV, "STATE_FILE": str(d / ".credentials"), "RUNNER_PID": str(os.getpid()),
                       "OTHER_FILE": str(other.workspace / "secret.txt"), "SUID_BB": str(d / "suid-bb")}
                return (await _run(sb, ESCAPE_SCRIPT, env=env))[1]

        got = parse(asyncio.run(go()))
        weak = {"see-host-processes", "read-other-workspace", "new-userns"}  # documented
        assert {k for k, v in got.items() if v == "ESCAPED"} == weak
    finally:
        shutil.rmtree(d)


SHELL_WORKER = """
import asyncio, sys
from pathlib import Path
from github_runner.executors.base import JobSpec
from github_runner.executors.shell import ShellExecutor
async def main():
    d = Path(sys.argv[1])
    spec = JobSpec(job_id=sys.argv[2], work_dir=d, workspace=d / "ws", temp=d / "tmp", tool_cache=d / "tc")
    sb = await ShellExecutor(user="ghr-job").prepare(spec)
    await sb.run(["bash", "-c", "(setsid sleep %s &); nohup sleep %s >/dev/null 2>&1 &"], env={"PATH": "/usr/bin:/bin"}, cwd="/")
    print("started", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def test_killed_worker_escapees_removed_by_sweep(make_spec: Callable[..., JobSpec]) -> None:
    """No pdeathsig can reach setsid'ed processes: the sweep finds them in the dead job's cgroup."""
    import subprocess
    import sys

    from github_runner.executors.cleanup import sweep

    _need_root_and_user()
    tag = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 967}"
    spec = make_spec()
    w = subprocess.Popen([sys.executable, "-c", SHELL_WORKER % (tag, tag), str(spec.work_dir), spec.job_id],
                         stdout=subprocess.PIPE)
    try:
        assert w.stdout is not None and w.stdout.readline().strip() == b"started"
        for _ in range(500):  # up to 10 s: the shared 2-core host can be slow to fork
            if len(live_pids_matching(f"sleep {tag}")) >= 3:  # worker + 2 escapees
                break
            asyncio.run(asyncio.sleep(0.02))
        w.kill()
        w.wait()
        assert len(live_pids_matching(f"sleep {tag}")) == 2  # they outlive the worker...
        assert f"cgroup {spec.job_id}@{w.pid}" in asyncio.run(sweep())
        assert live_pids_matching(f"sleep {tag}") == []  # ...until the sweep
    finally:
        w.kill()
