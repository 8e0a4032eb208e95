"""§7 cases 24 and 25 on the real dockerd: a Docker job cannot get around its egress gateway.

Case 24: every container option that would give the job another way out (host or other
networks, privileges, NET_ADMIN, the docker socket, its own resolver) is refused before anything
exists: no container, no network and no gateway. Case 25: with egress on, the per-job bridge is
internal even where the operator turned `network_internal` off, so service containers have no
route out at all; the job reaches them on the bridge (job-internal, not through the gateway), and
the host's own address on that bridge is not a way out either.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from github_runner.egress.hook import EgressHook
from github_runner.egress.netns import list_netns
from github_runner.executors.base import ContainerSpec, ExecutorError, JobSpec
from github_runner.executors.docker import DockerExecutor
from github_runner.executors.gvisor import GVisorExecutor
from tests.conftest import require
from tests.integration.egress.conftest import World, make_policy
from tests.integration.executors.test_docker import runsc_ok, svc_image  # noqa: F401 - svc_image: a fixture

POOL = "198.18.64.0/18"  # inside 198.18.0.0/15, clear of the gateway's link and uplink pools
ENV = {"PATH": "/usr/bin:/bin:/bin"}


@pytest.fixture(scope="module")
def bb() -> str:
    require(os.geteuid() == 0 and shutil.which("docker") is not None
            and subprocess.run(["docker", "info"], capture_output=True).returncode == 0,
            "a running dockerd (.ci/setup.d/20-dockerd.sh)")
    from github_runner.executors.images import build_busybox

    return build_busybox()


@pytest.fixture
def spec_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="grt-dkr-"))
    for sub in ("ws", "tmp", "tc"):
        (d / sub).mkdir()
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _spec(d: Path, hook: EgressHook, container: ContainerSpec,
          services: dict[str, ContainerSpec] | None = None) -> JobSpec:
    return JobSpec(job_id=f"grt-{uuid.uuid4().hex[:8]}", work_dir=d, workspace=d / "ws", temp=d / "tmp",
                   tool_cache=d / "tc", container=container, services=services or {}, network=hook)


def _leftovers(job_id: str) -> list[str]:
    out = []
    for kind in ("ps -a", "network ls"):
        r = subprocess.run(f"docker {kind} -q --filter label=ghr.job={job_id}".split(), capture_output=True, text=True)
        out += r.stdout.split()
    return out


async def _sh(job: object, script: str, container: str | None = None) -> tuple[int, str]:
    p = await job.run(["sh", "-c", script], env=ENV, cwd="/", container=container)  # type: ignore[attr-defined]
    out = b"".join([c async for c in p.output()])
    return await p.wait(), out.decode()


@pytest.mark.parametrize(("options", "volumes", "named"), [
    ("--network host", (), "--network"),
    ("--net=host", (), "--net"),
    ("--network bridge", (), "--network"),
    ("--network container:other", (), "--network"),
    ("--privileged", (), "--privileged"),
    ("--cap-add NET_ADMIN", (), "NET_ADMIN"),
    ("--dns 192.0.2.53", (), "--dns"),
    ("", ("/var/run/docker.sock:/var/run/docker.sock",), "docker.sock"),
])
def test_24_escape_options_refused_before_any_gateway(world: World, bb: str, spec_dir: Path, tmp_path: Path,
                                                      options: str, volumes: tuple[str, ...], named: str) -> None:
    hook = EgressHook(make_policy(world, "block", ["allowed.example:80"],
                                  upstream_dns=f"127.0.0.1:{world.upstream[1]}"),
                      job="run/24", state_dir=tmp_path / "st")
    spec = _spec(spec_dir, hook, ContainerSpec(image=bb, options=options, volumes=volumes))
    before = set(list_netns())

    async def go() -> None:
        with pytest.raises(ExecutorError, match=named):
            async with await DockerExecutor(subnet_pool=POOL).prepare(spec) as job:
                await _sh(job, "true")

    asyncio.run(go())
    assert hook.gateway is None and not hook.started  # refused before the gateway was asked for
    assert not {n for n in set(list_netns()) - before if n.startswith("gr-")}
    assert _leftovers(spec.job_id) == []


class _HostListener:
    """A TCP server on one host address (the job bridge's own address), counting connections."""

    def __init__(self, addr: str) -> None:
        self.sock = socket.create_server((addr, 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.mark.parametrize("kind", ["docker", "gvisor"])
def test_25_services_stay_on_an_internal_bridge(world: World, bb: str, svc_image: str, spec_dir: Path,  # noqa: F811
                                                tmp_path: Path, kind: str) -> None:
    log = tmp_path / "audit.jsonl"
    hook = EgressHook(make_policy(world, "block", ["allowed.example:80"],
                                  upstream_dns=f"127.0.0.1:{world.upstream[1]}"),
                      job="run/25", audit_path=log, state_dir=tmp_path / "st")
    svc = ContainerSpec(image=svc_image, name="svc")
    spec = _spec(spec_dir, hook, ContainerSpec(image=bb), {"svc": svc})
    ip10, ip20 = world.ip4(10), world.ip4(20)
    results: dict[str, object] = {}

    async def go() -> None:
        # the operator turned network_internal off: egress must still make the bridge internal
        if kind == "gvisor":  # the sentry sends through packet sockets: the guard is on the host side
            require(runsc_ok(), "runsc-host registered with dockerd (.ci/setup.d/20-dockerd.sh)")
            ex: DockerExecutor = GVisorExecutor(subnet_pool=POOL, network_internal=False)
        else:
            ex = DockerExecutor(subnet_pool=POOL, network_internal=False)
        async with await ex.prepare(spec) as job:
            net = json.loads(subprocess.run(["docker", "network", "inspect", job.network.name],  # type: ignore[attr-defined]
                                            capture_output=True, text=True, check=True).stdout)[0]
            results["internal"] = net["Internal"]
            bridge = net["Options"]["com.docker.network.bridge.name"]
            addr = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", bridge], capture_output=True,
                                  text=True, check=True).stdout.split()
            bridge_ip = addr[addr.index("inet") + 1].split("/")[0]  # the host's own address on it
            listener = _HostListener(bridge_ip)
            try:
                results["job->svc"] = await _sh(job, "nc -w 2 svc 8080 </dev/null")
                results["job->allowed"] = await _sh(job, "nc -w 2 allowed.example 80 </dev/null; echo rc=$?")
                results["token"] = hook.gateway.token  # type: ignore[union-attr]
                results["guard"] = subprocess.run(["nft", "list", "table", "inet", f"gr-{results['token']}-guard"],
                                                  capture_output=True, text=True).stdout
                results["job->host"] = await _sh(job, f"nc -w 2 {bridge_ip} {listener.port} </dev/null; echo rc=$?")
                results["svc->world"] = await _sh(job, f"nc -w 2 {ip20} 80 </dev/null; echo rc=$?", container="svc")
                results["svc->host"] = await _sh(job, f"nc -w 2 {bridge_ip} {listener.port} </dev/null; echo rc=$?",
                                                 container="svc")
                results["svc routes"] = await _sh(job, "ip route", container="svc")
            finally:
                listener.close()
            results["host accepted"] = listener.accepted

    asyncio.run(go())
    assert _leftovers(spec.job_id) == []
    assert results["internal"] is True, results
    assert "hello-from-svc" in results["job->svc"][1], results  # type: ignore[index]
    assert "hello from" not in results["svc->world"][1], results  # type: ignore[index]
    assert f"hello from {ip10}:80" in results["job->allowed"][1], results  # type: ignore[index]
    assert results["host accepted"] == 0, results  # neither the job nor a service reaches the host
    assert "rc=1" in results["job->host"][1] and "rc=1" in results["svc->host"][1], results  # type: ignore[index]
    assert "reject" in results["guard"], results  # type: ignore[operator]
    assert f"gr-{results['token']}-guard" not in subprocess.run(["nft", "list", "tables"], capture_output=True,
                                                               text=True).stdout
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert not any(r["event"] == "connection" and r.get("dst") == ip20 for r in recs)  # never left the bridge
