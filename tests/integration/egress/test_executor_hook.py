"""The egress hook behind the real sandbox executor, with step attribution and annotations.

The job resolves with the host's own resolv.conf (a resolver it was never told about), so every
lookup is redirected to the proxy: the job cannot tell, and the policy still applies.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from github_runner.egress.audit import read_records
from github_runner.egress.hook import EgressHook, EgressReporter
from github_runner.egress.netns import list_netns
from github_runner.engine.events import (
    Annotation,
    CollectingReporter,
    JobFinished,
    JobStarted,
    StepFinished,
    StepStarted,
    SummaryAppended,
)
from github_runner.executors.base import ExecutorError, JobSpec
from github_runner.executors.sandbox import SandboxExecutor
from tests.conftest import require
from tests.integration.egress.conftest import World, make_policy

CLIENT = """
import socket, sys
def tcp(host, port):
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"resolve-failed:{exc.errno}"
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect(infos[0][4]); return "ok:" + s.recv(100).decode().strip()
    except ConnectionRefusedError:
        return "refused"
    finally:
        s.close()
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    print(target, tcp(host, int(port)))
"""


def _spec(network: EgressHook) -> JobSpec:
    d = Path(tempfile.mkdtemp(prefix="grt-job-"))
    for sub in ("ws", "tmp", "tc"):
        (d / sub).mkdir()
    os.chmod(d, 0o755)
    (d / "ws" / "client.py").write_text(CLIENT)
    return JobSpec(job_id=f"t-{uuid.uuid4().hex[:8]}", work_dir=d, workspace=d / "ws", temp=d / "tmp",
                   tool_cache=d / "tc", network=network)


def _need() -> None:
    require(os.geteuid() == 0, "root-owned job netns needs root")
    require(shutil.which("bwrap") is not None, "bwrap (apt install bubblewrap)")
    require(subprocess.run(["id", "ghr-job"], capture_output=True).returncode == 0, "user ghr-job")


def test_sandbox_job_behind_block_gateway(world: World, tmp_path: Path) -> None:
    _need()
    policy = make_policy(world, "block", ["allowed.example:80"], upstream_dns=f"127.0.0.1:{world.upstream[1]}")
    hook = EgressHook(policy, job="run-7/build", audit_path=tmp_path / "audit.jsonl", state_dir=tmp_path / "st",
                      secrets=["hunter2-secret"])
    sink = CollectingReporter()
    rep = EgressReporter(hook, sink)
    spec = _spec(hook)
    before = set(list_netns())  # other runs may have gateways up now

    async def go() -> str:
        await rep.emit(JobStarted(job_id="build", name="build"))
        async with await SandboxExecutor().prepare(spec) as sb:
            await rep.emit(StepStarted(job_id="build", step_id="net", name="Fetch", number=1))
            argv = ["python3", str(spec.workspace / "client.py"), "allowed.example:80", "blocked.example:80",
                    f"{world.ip4(20)}:80"]
            proc = await sb.run(argv, env={"PATH": "/usr/bin:/bin"}, cwd=str(spec.workspace))
            out = b"".join([c async for c in proc.output()]).decode()
            assert await proc.wait() == 0, out
            await asyncio.sleep(0.2)
            await rep.emit(StepFinished(job_id="build", step_id="net", name="Fetch", outcome="success",
                                        conclusion="success"))
        await rep.emit(JobFinished(job_id="build", name="build", result="success"))
        return out

    try:
        out = asyncio.run(go())
    finally:
        shutil.rmtree(spec.work_dir, ignore_errors=True)
    assert f"allowed.example:80 ok:hello from {world.ip4(10)}:80" in out
    assert "blocked.example:80 resolve-failed" in out
    assert f"{world.ip4(20)}:80 refused" in out
    recs = read_records(tmp_path / "audit.jsonl")
    assert any(r["event"] == "dns" and r["action"] == "redirected" for r in recs)
    step_recs = [r for r in recs if r["event"] in ("dns", "connection")]
    assert step_recs and all(r["step"]["name"] == "Fetch" for r in step_recs)
    notes = [e for e in sink.events if isinstance(e, Annotation)]
    assert any("blocked.example" in a.message and a.level == "error" for a in notes)
    assert any(world.ip4(20) in a.message for a in notes)
    summary = [e for e in sink.events if isinstance(e, SummaryAppended)][0].markdown
    assert "### Egress (block mode)" in summary and "blocked.example" in summary
    assert "egress: mode block" in sink.lines()[0]
    assert not any(n.startswith("gr-") for n in set(list_netns()) - before)


def test_sandbox_refuses_to_start_when_gateway_fails(world: World, tmp_path: Path) -> None:
    _need()
    policy = make_policy(world, "block", ["allowed.example"], uplink_netns="grt-missing-uplink",
                         upstream_dns="127.0.0.1:53")
    hook = EgressHook(policy, job="run-8/build", state_dir=tmp_path / "st")
    spec = _spec(hook)
    before = set(list_netns())

    async def go() -> None:
        try:
            async with await SandboxExecutor().prepare(spec) as sb:
                await sb.run(["true"], env={}, cwd="/")
        except ExecutorError as exc:
            assert "refusing to start the job" in str(exc)
            return
        raise AssertionError("the job started without its gateway")

    try:
        asyncio.run(go())
    finally:
        shutil.rmtree(spec.work_dir, ignore_errors=True)
    assert not any(n.startswith("gr-") for n in set(list_netns()) - before)
