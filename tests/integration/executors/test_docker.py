"""docker and gvisor executors against the real dockerd and runsc: hardening, policy refusals
(before anything starts), services, network hook, limits, and no leftovers on any exit path."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from github_runner.executors.base import ContainerSpec, ExecutorError, JobSpec, Limits
from github_runner.executors.docker import DockerExecutor, sweep_orphans
from github_runner.executors.gvisor import GVisorExecutor
from tests.conftest import require
from tests.integration.executors.escapes import ALL, ESCAPE_SCRIPT, parse
from tests.integration.executors.test_sandbox import DummyLinkHook

pytestmark = [pytest.mark.docker, pytest.mark.root]
POOL = "198.18.0.0/16"
ENV = {"PATH": "/usr/bin:/bin"}


def docker_ok() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True).returncode == 0


def runsc_ok() -> bool:
    out = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True)
    return "runsc-host" in out.stdout


@pytest.fixture(scope="module")
def bb() -> str:
    require(os.geteuid() == 0 and docker_ok(), "a running dockerd (.ci/setup.d/20-dockerd.sh)")
    from github_runner.executors.images import build_busybox

    return build_busybox()


def leftovers(job_id: str) -> list[str]:
    out = []
    for kind in ("ps -a", "network ls", "volume ls"):
        r = subprocess.run(f"docker {kind} -q --filter label=ghr.job={job_id}".split(), capture_output=True, text=True)
        out += [f"{kind}: {x}" for x in r.stdout.split()]
    return out


def make_executor(kind: str, **kw: object) -> DockerExecutor:
    if kind == "gvisor":
        require(runsc_ok(), "runsc-host registered with dockerd (.ci/setup.d/20-dockerd.sh)")
        return GVisorExecutor(subnet_pool=POOL, **kw)  # type: ignore[arg-type]
    return DockerExecutor(subnet_pool=POOL, **kw)  # type: ignore[arg-type]


async def _run(job: object, script: str, env: dict[str, str] | None = None, container: str | None = None) -> tuple[int, str]:
    p = await job.run(["sh", "-c", script], env={**ENV, **(env or {})}, cwd="/", container=container)  # type: ignore[attr-defined]
    out = b"".join([c async for c in p.output()])
    return await p.wait(), out.decode()


@pytest.fixture
def suid_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="ghr-suid-"))
    os.chmod(d, 0o755)
    shutil.copy("/bin/busybox", d / "suid-bb")
    os.chmod(d / "suid-bb", 0o4755)
    yield d
    shutil.rmtree(d)


@pytest.mark.parametrize("kind", ["docker", "gvisor"])
def test_escape_attempts_blocked(kind: str, bb: str, make_spec: Callable[..., JobSpec], suid_dir: Path) -> None:
    async def go() -> tuple[str, str]:
        ex = make_executor(kind)
        other = make_spec()
        (other.workspace / "secret.txt").write_text("x")
        spec = make_spec(container=ContainerSpec(image=bb, volumes=[f"{suid_dir}:/suid"]))
        async with await ex.prepare(spec) as job:
            env = {"STATE_FILE": "/etc/github-runner/.runner", "OTHER_FILE": str(other.workspace / "secret.txt"),
                   "RUNNER_PID": str(os.getpid()), "SUID_BB": "/suid/suid-bb"}
            rc, out = await _run(job, ESCAPE_SCRIPT, env)
            _, ident = await _run(job, "id -u; grep -E '^Cap(Eff|Bnd)' /proc/self/status; touch /suid/x || echo ro")
        assert rc == 0, out
        return out, ident

    out, ident = asyncio.run(go())
    assert parse(out) == dict.fromkeys(ALL, "blocked")
    lines = ident.split("\n")
    assert lines[0] == str(pwd.getpwnam("ghr-job").pw_uid)  # the host job user's uid, not root
    assert "CapEff:\t0000000000000000" in lines and "ro" in lines


@pytest.mark.parametrize(
    ("container", "flag"),
    [
        (ContainerSpec(image="evil/miner:latest"), "is not allowed by allowed_images"),
        (ContainerSpec(image="BB", volumes=["/var/run/docker.sock:/var/run/docker.sock"]), "docker.sock"),
        (ContainerSpec(image="BB", volumes=["/etc:/host-etc"]), "/etc is refused"),
        (ContainerSpec(image="BB", volumes=["/srv/a:/data", "/srv/b:/data"]), "duplicate target /data"),
        (ContainerSpec(image="BB", volumes=["data/dir:/data"]), "relative path"),
        (ContainerSpec(image="BB", options="--privileged"), "--privileged is refused"),
        (ContainerSpec(image="BB", options="--network host"), "--network is refused"),
        (ContainerSpec(image="BB", options="--cpus 2 --pid=host"), "--pid is refused"),
    ],
)
def test_policy_refusals_before_anything_starts(container: ContainerSpec, flag: str, bb: str,
                                               make_spec: Callable[..., JobSpec]) -> None:
    c = ContainerSpec(image=bb if container.image == "BB" else container.image, options=container.options,
                      volumes=container.volumes)
    spec = make_spec(container=c)
    ex = make_executor("docker", allowed_images=["ghr-*", "debian:*"])
    with pytest.raises(ExecutorError, match=flag.replace("-", r"\-").replace(".", r"\.")):
        asyncio.run(ex.prepare(spec))
    assert leftovers(spec.job_id) == []


@pytest.fixture(scope="module")
def svc_image(bb: str) -> str:
    """A service image with its own CMD (services run their image's default command)."""
    import io

    import docker

    tag = f"ghr-test-svc:{bb.split(':')[1]}"
    df = f'FROM {bb}\nCMD ["nc", "-ll", "-p", "8080", "-e", "echo", "hello-from-svc"]\n'
    docker.from_env().images.build(fileobj=io.BytesIO(df.encode()), tag=tag, pull=False, rm=True)
    return tag


def test_service_by_name_on_internal_job_network(bb: str, svc_image: str, make_spec: Callable[..., JobSpec]) -> None:
    spec = make_spec(container=ContainerSpec(image=bb), services={"web": ContainerSpec(image=svc_image)})

    async def go() -> tuple[str, str]:
        async with await make_executor("docker").prepare(spec) as job:
            _, out = await _run(job, "for i in 1 2 3 4 5 6 7 8 9 10; do r=$(echo | nc -w 1 web 8080) && break;"
                                     " sleep 0.2; done; echo \"$r\"")
            _, route = await _run(job, "nc -w 1 192.0.2.2 22 </dev/null; echo rc=$?")
        return out, route

    out, route = asyncio.run(go())
    assert out.strip() == "hello-from-svc"
    assert "rc=0" not in route  # internal network: the host is not reachable
    assert leftovers(spec.job_id) == []


def test_network_hook_sees_the_job_container_netns(bb: str, make_spec: Callable[..., JobSpec]) -> None:
    hook = DummyLinkHook()
    spec = make_spec(container=ContainerSpec(image=bb), network=hook)

    async def go() -> str:
        async with await make_executor("docker").prepare(spec) as job:
            assert hook.calls and hook.calls[0].startswith("attach /proc/")
            return (await _run(job, "cat /proc/net/dev"))[1]

    assert "ghr-hook0" in asyncio.run(go())
    assert hook.calls[-1] == "detach"


async def _sandbox_gone(job: object, within: float = 15.0) -> None:
    """The OOM-killed sandbox is reported gone; dockerd sees the container's exit a moment
    after the step's, so an exec in between may still start (seen on a loaded machine)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await _run(job, "true")
        except ExecutorError as exc:
            assert "not running" in str(exc)
            return
        assert asyncio.get_running_loop().time() < deadline, "the sandbox outlived its OOM kill"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("kind", ["docker", "gvisor"])
def test_limits(kind: str, bb: str, make_spec: Callable[..., JobSpec]) -> None:
    spec = make_spec(Limits(pids=128 if kind == "gvisor" else 48, memory_bytes=128 << 20),
                     container=ContainerSpec(image=bb))

    async def go() -> tuple[int, str]:
        async with await make_executor(kind).prepare(spec) as job:
            out = ""
            rc_mem, _ = await _run(job, "dd if=/dev/zero of=/dev/null bs=400M count=1")
            if kind == "docker":  # under runsc the pids limit counts the sentry's host threads (docs)
                # ash gives up at the first failed fork: count forks in a subshell, report outside
                _, out = await _run(job, "(i=0; while [ $i -lt 300 ]; do sleep 5 & i=$((i+1)); echo $i; done)"
                                         " 2>/dev/null; echo capped")
            if kind == "gvisor":  # the limit is the whole sandbox's: gVisor is killed with the job
                await _sandbox_gone(job)
            return rc_mem, out

    rc_mem, out = asyncio.run(go())
    assert rc_mem == 137  # OOM-killed (128 + SIGKILL)
    if kind == "docker":
        assert out.split()[-1] == "capped" and 0 < int(out.split()[-2]) < 48
    assert leftovers(spec.job_id) == []


def test_gvisor_refuses_pids_below_128(bb: str, make_spec: Callable[..., JobSpec]) -> None:
    spec = make_spec(Limits(pids=64), container=ContainerSpec(image=bb))
    with pytest.raises(ExecutorError, match="below 128"):
        asyncio.run(make_executor("gvisor").prepare(spec))
    assert leftovers(spec.job_id) == []


@pytest.mark.parametrize("how", ["success", "failure", "timeout", "cancel"])
def test_nothing_left_on_any_exit_path(how: str, bb: str, make_spec: Callable[..., JobSpec]) -> None:
    spec = make_spec(container=ContainerSpec(image=bb, volumes=["cache:/cache", "/anon"]))

    async def go() -> None:
        async with await make_executor("docker").prepare(spec) as job:
            assert len(leftovers(spec.job_id)) == 4  # container, network, two volumes
            p = await job.run(["sh", "-c", {"success": "true", "failure": "exit 3"}.get(how, "sleep 30")],
                              env=ENV, cwd="/")
            if how == "timeout":
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(p.wait(), 0.3)
            elif how == "cancel":
                t = asyncio.create_task(p.wait())
                await asyncio.sleep(0.2)
                t.cancel()
            else:
                assert await p.wait() == (0 if how == "success" else 3)

    asyncio.run(go())
    assert leftovers(spec.job_id) == []


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from github_runner.executors.base import ContainerSpec, JobSpec
    from github_runner.executors.docker import DockerExecutor
    async def main():
        d = Path(sys.argv[1])
        spec = JobSpec(job_id=sys.argv[2], work_dir=d, workspace=d / "ws", temp=d / "tmp", tool_cache=d / "tc",
                       container=ContainerSpec(image=sys.argv[3]))
        job = await DockerExecutor(subnet_pool="198.18.0.0/16").prepare(spec)
        p = await job.run(["sleep", "60"], env={}, cwd="/")
        print("started", flush=True)
        await p.wait()
    asyncio.run(main())
    """
)


def test_killed_worker_leftovers_removed_by_sweep(bb: str, make_spec: Callable[..., JobSpec]) -> None:
    spec = make_spec()
    w = subprocess.Popen([sys.executable, "-c", WORKER, str(spec.work_dir), spec.job_id, bb], stdout=subprocess.PIPE)
    try:
        assert w.stdout is not None and w.stdout.readline().strip() == b"started"
        assert len(leftovers(spec.job_id)) == 2
        w.kill()
        w.wait()
        gone = sweep_orphans()
        assert any(spec.job_id in g for g in gone)
        assert leftovers(spec.job_id) == []
    finally:
        w.kill()


def test_missing_runtime_and_bad_settings_are_clear(make_spec: Callable[..., JobSpec], bb: str) -> None:
    spec = make_spec(container=ContainerSpec(image=bb))
    with pytest.raises(ExecutorError, match="runtime: 'no-such-rt' is not registered"):
        asyncio.run(DockerExecutor(runtime="no-such-rt").prepare(spec))
    with pytest.raises(ExecutorError, match="dns"):
        DockerExecutor(dns=["not-an-ip"])
    with pytest.raises(ExecutorError, match="volume '/etc:/e'"):
        DockerExecutor(volumes=["/etc:/e"])
    assert leftovers(spec.job_id) == []


def test_dns_override_read_only_root_and_runtime_choice(bb: str, make_spec: Callable[..., JobSpec]) -> None:
    spec = make_spec(container=ContainerSpec(image=bb))

    async def go() -> tuple[str, dict[str, object]]:
        ex = make_executor("docker", dns=["198.18.0.53"], read_only_rootfs=True, runtime="runc")
        async with await ex.prepare(spec) as job:
            out = (await _run(job, "cat /etc/resolv.conf; touch /x 2>/dev/null || echo root-ro;"
                                   " touch /tmp/x && echo tmp-rw"))[1]
            return out, job.container.attrs["HostConfig"]

    out, host = asyncio.run(go())
    # on a user-defined network the container asks Docker's embedded DNS, which forwards to `dns`
    assert "nameserver 127.0.0.11" in out and host["Dns"] == ["198.18.0.53"]
    assert "root-ro" in out and "tmp-rw" in out
    assert host["Runtime"] == "runc" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and host["Privileged"] is False
    assert host["SecurityOpt"] == ["no-new-privileges:true"] and host["NetworkMode"] == f"ghr-{spec.job_id}"
