"""The sandbox executor on the real kernel: escape attempts, limits, network, no leftovers."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from github_runner.executors import cgroups
from github_runner.executors.base import ExecutorError, JobSpec, Limits
from github_runner.executors.sandbox import SandboxExecutor
from tests.conftest import require
from tests.integration.executors.conftest import JOB_USER, have_user, live_pids_matching
from tests.integration.executors.escapes import ALL, ESCAPE_SCRIPT, parse
from tests.integration.executors.test_shell import FORK_BOMB

pytestmark = pytest.mark.root
ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}


def _need() -> None:
    require(os.geteuid() == 0, "sandbox cgroups and root-owned netns need root")
    require(have_user(JOB_USER), f"user {JOB_USER} (.ci/setup.d/20-jobuser.sh)")
    require(shutil.which("bwrap") is not None, "bwrap (apt install bubblewrap)")


async def _run(sb: object, script: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await sb.run(["sh", "-c", script], env={**ENV, **(env or {})}, cwd=str(sb.spec.workspace))  # type: ignore[attr-defined]
    out = b"".join([c async for c in proc.output()])
    return await proc.wait(), out.decode()


@pytest.fixture
def secrets_on_host() -> Iterator[dict[str, str]]:
    """A runner state dir with a world-readable credential and a setuid-root busybox."""
    d = Path(tempfile.mkdtemp(prefix="ghr-state-"))
    os.chmod(d, 0o755)
    (d / ".credentials").write_text("runner-secret")
    os.chmod(d / ".credentials", 0o644)
    shutil.copy("/bin/busybox", d / "suid-bb")
    os.chmod(d / "suid-bb", 0o4755)
    yield {"STATE_FILE": str(d / ".credentials"), "SUID_BB": str(d / "suid-bb"), "dir": str(d)}
    shutil.rmtree(d)


def test_escape_attempts_blocked(make_spec: Callable[..., JobSpec], secrets_on_host: dict[str, str]) -> None:
    _need()

    async def go() -> dict[str, str]:
        # the state dir is even shown read-only: the setuid binary in it must still grant nothing
        ex = SandboxExecutor(ro_binds=[secrets_on_host["dir"]], state_dir="/etc/github-runner")
        other = make_spec()
        (other.workspace / "secret.txt").write_text("other job")
        os.chmod(other.work_dir, 0o755)
        async with await ex.prepare(other), await ex.prepare(make_spec()) as sb:
            env = {
                "STATE_FILE": "/etc/github-runner/.credentials",
                "OTHER_FILE": str(other.workspace / "secret.txt"),
                "RUNNER_PID": str(os.getpid()),
                "SUID_BB": secrets_on_host["SUID_BB"],
            }
            rc, out = await _run(sb, ESCAPE_SCRIPT, env)
            assert rc == 0, out
            rc, out2 = await _run(sb, f"cat {secrets_on_host['STATE_FILE']}; touch /tmp/host-visible")
            assert "runner-secret" in out2  # shown on purpose: proves ro_binds work, not a leak
        assert not Path("/tmp/host-visible").exists()
        return parse(out)

    assert asyncio.run(go()) == dict.fromkeys(ALL, "blocked")


def test_state_dir_hidden_even_under_shown_system_dirs(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    d = Path("/opt") / f"ghr-state-{uuid.uuid4().hex[:6]}"
    d.mkdir()
    (d / "token").write_text("t")
    try:
        async def go() -> str:
            async with await SandboxExecutor(state_dir=str(d)).prepare(make_spec()) as sb:
                return (await _run(sb, f"ls -A {d}; cat {d}/token 2>/dev/null || echo gone"))[1]

        assert asyncio.run(go()).split() == ["gone"]
    finally:
        shutil.rmtree(d)


def test_loopback_only_and_host_loopback_unreachable(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    try:
        async def go() -> tuple[int, str]:
            async with await SandboxExecutor().prepare(make_spec()) as sb:
                return await _run(
                    sb,
                    "ls /sys/class/net 2>/dev/null || ip -o link | cut -d: -f2; "
                    f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 1)'"
                    " 2>&1 | tail -1",
                )

        rc, out = asyncio.run(go())
        lines = out.split("\n")
        assert lines[0].strip() == "lo"
        assert "ConnectionRefusedError" in out  # its own loopback, where nothing listens
    finally:
        srv.close()


class DummyLinkHook:
    """A real NetworkHook: puts a veth pair into the job netns, as egress will put a veth."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def attach(self, netns_path: Path) -> None:
        self.calls.append(f"attach {netns_path}")
        subprocess.run(["nsenter", f"--net={netns_path}", "ip", "link", "add", "ghr-hook0", "type", "veth", "peer", "name", "ghr-hook1"], check=True)

    async def detach(self) -> None:
        self.calls.append("detach")


def test_network_hook_attached_before_steps_and_detached(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    hook = DummyLinkHook()

    async def go() -> str:
        async with await SandboxExecutor().prepare(make_spec(network=hook)) as sb:
            assert hook.calls == [f"attach /proc/{sb.init_pid}/ns/net"]
            out = (await _run(sb, "ip -o link show ghr-hook0 && ip link set ghr-hook0 up; echo rc=$?"))[1]
        return out

    out = asyncio.run(go())
    assert "ghr-hook0" in out and "rc=2" in out.replace("rc=1", "rc=2")  # job may not reconfigure it
    assert hook.calls[-1] == "detach"


def test_limits_pids_and_memory(make_spec: Callable[..., JobSpec]) -> None:
    _need()

    async def go() -> None:
        spec = make_spec(Limits(pids=32, memory_bytes=96 << 20))
        async with await SandboxExecutor().prepare(spec) as sb:
            rc, out = await _run(sb, f"python3 -c '{FORK_BOMB}'")
            assert rc == 0 and out.startswith("capped "), out
            rc, _ = await _run(sb, "python3 -c 'x = bytearray(300 << 20)'")
            assert rc in (-signal.SIGKILL, 128 + signal.SIGKILL)  # sh reports its child's death
            assert sb.cgroup is not None and sb.cgroup.oom_killed()
            rc, out = await _run(sb, "echo still-usable")
            assert (rc, out) == (0, "still-usable\n")

    asyncio.run(go())


def test_state_persists_across_steps_and_nothing_left_after_close(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    tag = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 983}"

    async def go() -> None:
        spec = make_spec()
        sb = await SandboxExecutor().prepare(spec)
        rc, _ = await _run(sb, f"echo hi > /tmp/x; (setsid sleep {tag} &); nohup sleep {tag} >/dev/null 2>&1 &")
        assert rc == 0
        rc, out = await _run(sb, "cat /tmp/x; echo $HOME; touch $HOME/y && echo home-ok")
        assert out.split() == ["hi", f"/home/{JOB_USER}", "home-ok"]
        assert len(live_pids_matching(f"sleep {tag}")) == 2
        await sb.close()
        await sb.close()
        assert live_pids_matching(f"sleep {tag}") == []
        assert live_pids_matching(f"--info-fd") == [] or all(
            spec.job_id not in Path(f"/proc/{p}/cmdline").read_text() for p in live_pids_matching("--info-fd")
        )
        assert not any(p.name.startswith(spec.job_id) for p in cgroups.leftovers())

    asyncio.run(go())


def test_failure_timeout_and_cancel_leave_nothing(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    tag = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 977}"

    async def job(kind: str) -> None:
        spec = make_spec()
        async with await SandboxExecutor().prepare(spec) as sb:
            p = await sb.run(["sh", "-c", f"sleep {tag} & sleep {tag}; exit 7"], env=ENV, cwd="/")
            if kind == "failure":
                await p.kill()
            elif kind == "timeout":
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(p.wait(), 0.3)
            elif kind == "cancel":
                t = asyncio.create_task(p.wait())
                await asyncio.sleep(0.2)
                t.cancel()
        assert live_pids_matching(f"sleep {tag}") == []
        assert not any(c.name.startswith(spec.job_id) for c in cgroups.leftovers())

    for kind in ("failure", "timeout", "cancel"):
        asyncio.run(job(kind))


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from github_runner.executors.base import JobSpec
    from github_runner.executors.sandbox import SandboxExecutor
    async def main():
        d = Path(sys.argv[1])
        spec = JobSpec(job_id=sys.argv[2], work_dir=d, workspace=d / "ws", temp=d / "tmp", tool_cache=d / "tc")
        sb = await SandboxExecutor().prepare(spec)
        p = await sb.run(["sh", "-c", "setsid sleep %s & sleep %s"], env={"PATH": "/usr/bin:/bin"}, cwd="/")
        print("started", flush=True)
        await p.wait()
    asyncio.run(main())
    """
)


def test_killed_worker_leaves_nothing_after_sweep(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    tag = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 971}"
    spec = make_spec()
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER % (tag, tag), str(spec.work_dir), spec.job_id], stdout=subprocess.PIPE
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == b"started"
        for _ in range(100):
            if len(live_pids_matching(f"sleep {tag}")) >= 4:  # worker, nsenter, sh, the sleeps
                break
            asyncio.run(asyncio.sleep(0.02))
        assert len(live_pids_matching(f"sleep {tag}")) >= 4
        worker.kill()
        worker.wait()
        for _ in range(100):  # --die-with-parent: the pid namespace goes down with the worker
            if not live_pids_matching(f"sleep {tag}"):
                break
            asyncio.run(asyncio.sleep(0.02))
        assert live_pids_matching(f"sleep {tag}") == []
        from github_runner.executors.cleanup import sweep

        removed = asyncio.run(sweep())
        assert f"cgroup {spec.job_id}@{worker.pid}" in removed
        from github_runner.executors import staging  # the stage lived in the init's namespace only

        assert not staging.stage_dir(f"{spec.job_id}@{worker.pid}").exists()
        assert not any(c.name.startswith(spec.job_id) for c in cgroups.leftovers())
    finally:
        worker.kill()


def test_bad_settings_are_clear_errors(make_spec: Callable[..., JobSpec]) -> None:
    _need()
    with pytest.raises(ExecutorError, match="must be absolute"):
        SandboxExecutor(ro_binds=["relative/dir"])
    with pytest.raises(ExecutorError, match=r"limits\.memory"):
        SandboxExecutor(limits={"memory": "huge"})
    with pytest.raises(ExecutorError, match="no such user"):
        SandboxExecutor(user="no-such-user-ghr")


def test_job_dirs_below_a_dir_the_job_user_cannot_enter() -> None:
    """The engine's work root may be /root/... or a 0700 temp dir: staged binds still show it."""
    _need()
    from github_runner.executors import staging

    top = Path(tempfile.mkdtemp(prefix="ghr-private-"))  # 0700 root
    try:
        d = top / "job"
        for s in ("ws", "tmp", "tc"):
            (d / s).mkdir(parents=True)
        spec = JobSpec(job_id=f"t-{uuid.uuid4().hex[:8]}", work_dir=d, workspace=d / "ws", temp=d / "tmp",
                       tool_cache=d / "tc")

        async def go() -> str:
            async with await SandboxExecutor().prepare(spec) as sb:
                return (await _run(sb, "echo made > out.txt && pwd"))[1]

        assert asyncio.run(go()).strip() == str(spec.workspace)
        assert (spec.workspace / "out.txt").read_text() == "made\n"
        assert not staging.stage_dir(f"{spec.job_id}@{os.getpid()}").exists()
    finally:
        shutil.rmtree(top)


def test_init_dropped_like_setpriv(make_spec: Callable[..., JobSpec]) -> None:
    """The init is dropped in its forked child (privdrop.py), not by setpriv: its bwrap must hold
    exactly what `setpriv --reuid --regid --clear-groups --inh-caps=-all --bounding-set=-all
    --no-new-privs` leaves."""
    import pwd

    _need()
    pw = pwd.getpwnam(JOB_USER)

    async def go() -> dict[str, str]:
        job = await SandboxExecutor().prepare(make_spec())
        try:
            assert job.init is not None and job.init.pid is not None
            text = Path(f"/proc/{job.init.pid}/status").read_text()
            return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        finally:
            await job.close()

    st = asyncio.run(go())
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4 and st["Gid"].split() == [str(pw.pw_gid)] * 4
    assert st["Groups"].strip() == "" and st["NoNewPrivs"].strip() == "1"
    for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[caps], 16) == 0, (caps, st[caps])
