"""`github-runner exec --egress ...` end to end (issue 7 "Checked by"), sandbox executor.

Block mode: the allowed endpoint works, the blocked name fails fast and is named in the output,
and the job summary shows the egress table. Audit mode, then `egress report`, gives an allowlist
that lets the same workflow pass in block mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from github_runner.egress.netns import list_netns
from tests.conftest import require
from tests.integration.egress.conftest import World
from tests.integration.egress.test_executor_hook import CLIENT

WORKFLOW = """
on: push
jobs:
  build:
    runs-on: self-hosted
    steps:
      - name: Fetch allowed
        run: python3 client.py allowed.example:80 www.allowed.example:80 | tee -a out.txt; ! grep -v ' ok:' out.txt
      - name: Fetch other
        run: python3 client.py {other}:80 | tee other.txt; grep -q ' ok:' other.txt
"""


@pytest.fixture
def repo(world: World) -> Iterator[Path]:
    require(os.geteuid() == 0, "egress with the sandbox executor needs root")
    require(shutil.which("bwrap") is not None, "bwrap (apt install bubblewrap)")
    require(subprocess.run(["id", "ghr-job"], capture_output=True).returncode == 0, "user ghr-job")
    d = Path(tempfile.mkdtemp(prefix="grt-repo-"))
    os.chmod(d, 0o777)
    (d / ".github" / "workflows").mkdir(parents=True)
    (d / "client.py").write_text(CLIENT)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run_exec(world: World, repo: Path, other: str, *flags: str, executor: str = "sandbox"
             ) -> subprocess.CompletedProcess[str]:
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW.format(other=other))
    for f in ("out.txt", "other.txt"):
        (repo / f).unlink(missing_ok=True)
    env = {**os.environ, "GITHUB_RUNNER_EGRESS_UPLINK_NETNS": world.netns}
    argv = [sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", executor,
            "--egress-upstream", f"127.0.0.1:{world.upstream[1]}", *flags]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def _docker_ready() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.parametrize("executor", ["sandbox", "docker", "gvisor"])
def test_block_mode_names_the_blocked_endpoint(world: World, repo: Path, tmp_path: Path, executor: str) -> None:
    if executor in ("docker", "gvisor"):  # §7 cases 23, 26: the job container behind the same gateway
        require(_docker_ready(), "dockerd is not running (.ci/setup.d/20-dockerd.sh)")
    log = tmp_path / "egress.jsonl"
    before = set(list_netns())  # other runs may have gateways up now
    res = run_exec(world, repo, "blocked.example", "--egress", "block", "--allow", "allowed.example:80",
                   "--allow", "*.allowed.example:80", "--egress-log", str(log), executor=executor)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert f"allowed.example:80 ok:hello from {world.ip4(10)}:80" in out, out
    assert "blocked.example:80 resolve-failed" in out, out
    assert "egress: DNS blocked.example blocked (not in allowlist)" in out  # title: message  # the annotation
    assert "Egress (block mode)" in out and "`blocked.example (DNS)` | blocked" in out  # summary table
    assert "egress: mode block" in out
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert {r["step"]["name"] for r in recs if r["event"] == "dns" and r["action"] != "redirected"} == {
        "Fetch allowed", "Fetch other"}
    assert not any(n.startswith("gr-") for n in set(list_netns()) - before)


def test_audit_then_report_then_block_passes(world: World, repo: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    res = run_exec(world, repo, "multi.allowed.example", "--egress", "audit", "--egress-log", str(audit))
    assert res.returncode == 0, res.stdout + res.stderr
    report = subprocess.run([sys.executable, "-m", "github_runner", "egress", "report", str(audit),
                             "--format", "json"], capture_output=True, text=True, check=True)
    suggested = json.loads(report.stdout)["suggested_allowlist"]
    assert "allowed.example:80" in suggested and "multi.allowed.example:80" in suggested
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("\n".join(suggested) + "\n")
    res = run_exec(world, repo, "multi.allowed.example", "--egress", "block", "--allowlist", str(allowlist))
    assert res.returncode == 0, res.stdout + res.stderr
    check = subprocess.run([sys.executable, "-m", "github_runner", "egress", "report", str(audit),
                            "--check", str(allowlist)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_bad_allow_entry_is_bad_input(world: World, repo: Path) -> None:
    res = run_exec(world, repo, "x", "--egress", "block", "--allow", "a.*.com")
    assert res.returncode == 2 and "entry 0 'a.*.com'" in res.stderr


HARDENED = """
on: push
jobs:
  build:
    runs-on: self-hosted
{egress}
    steps:
{harden}
      - name: Fetch
        run: python3 client.py allowed.example:80 blocked.example:80
"""


@pytest.mark.parametrize("form", ["egress-key", "harden-runner"])
def test_job_states_its_own_policy(world: World, repo: Path, form: str) -> None:
    egress = "    egress:\n      mode: enforce\n      allow: [allowed.example:80]" if form == "egress-key" else ""
    harden = ("      - uses: step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0\n"
              "        with:\n          egress-policy: block\n          allowed-endpoints: >\n"
              "            allowed.example:80\n") if form == "harden-runner" else ""
    (repo / ".github" / "workflows" / "ci.yml").write_text(HARDENED.format(egress=egress, harden=harden))
    env = {**os.environ, "GITHUB_RUNNER_EGRESS_UPLINK_NETNS": world.netns}
    res = subprocess.run([sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", "sandbox",
                          "--egress-upstream", f"127.0.0.1:{world.upstream[1]}"],  # no --egress: the job asks
                         capture_output=True, text=True, env=env, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert f"allowed.example:80 ok:hello from {world.ip4(10)}:80" in out, out
    assert "blocked.example:80 resolve-failed" in out, out
    assert "egress: mode block" in out
    if form == "harden-runner":
        assert "step-security/harden-runner is not run" in out
        assert "mode block from jobs.build.steps[0] (harden-runner)" in out
    else:
        assert "mode block from jobs.build.egress" in out


def test_shell_executor_is_refused_never_fails_open(world: World, repo: Path) -> None:
    res = run_exec(world, repo, "blocked.example", "--egress", "block", "--allow", "allowed.example:80",
                   executor="shell")
    out = res.stdout + res.stderr
    assert res.returncode == 1
    assert "needs the sandbox, docker or gvisor executor" in out
    assert "ok:hello" not in out and "resolve-failed" not in out  # no step ran


STRAY = """
on: push
jobs:
  build:
    runs-on: self-hosted
    steps:
      - name: Leave a process
        run: setsid sleep 300 >/dev/null 2>&1 < /dev/null & sleep 0.3
      - name: Next
        run: "true"
"""


def test_34_process_outliving_its_step_is_reported(world: World, repo: Path, tmp_path: Path) -> None:
    (repo / ".github" / "workflows" / "ci.yml").write_text(STRAY)
    log = tmp_path / "audit.jsonl"
    env = {**os.environ, "GITHUB_RUNNER_EGRESS_UPLINK_NETNS": world.netns}
    res = subprocess.run([sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", "sandbox",
                          "--egress", "audit", "--egress-upstream", f"127.0.0.1:{world.upstream[1]}",
                          "--egress-log", str(log)], capture_output=True, text=True, env=env, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "detection process_outlived_step" in out and "sleep 300" in out, out
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    stray = [r for r in recs if r.get("kind") == "process_outlived_step"]
    assert len(stray) == 1 and stray[0]["cmdline"].endswith("sleep 300") and stray[0]["step"]["name"] == "Leave a process"


PROBE = r"""
import socket, struct, sys, time
def dns(server, name):
    q = struct.pack("!6H", 0x4242, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(q, (server, 53))
    return "rcode=%d" % (s.recv(512)[3] & 0xF)
def tcp(host, port):
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, int(port))); return "connected"
    except ConnectionRefusedError:
        return "refused"
def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((host, int(port)))
    try:
        for _ in range(3):
            s.send(b"x" * 16); time.sleep(0.1)
        return "sent"
    except OSError as e:
        return "error %d" % e.errno
kind, a, b = sys.argv[1:4]
print(kind, a, b, {"dns": dns, "tcp": tcp, "udp": udp}[kind](a, b))
"""


@pytest.mark.parametrize("executor", ["docker", "gvisor"])
def test_container_attacks_in_block_mode(world: World, repo: Path, tmp_path: Path, executor: str) -> None:
    """§7 cases 23 and 26 beyond names: direct IP, a hard-coded resolver, UDP, metadata."""
    require(_docker_ready(), "dockerd is not running (.ci/setup.d/20-dockerd.sh)")
    (repo / "probe.py").write_text(PROBE)
    ip20, rogue = world.ip4(20), world.ip4(53)
    (repo / ".github" / "workflows" / "ci.yml").write_text(f"""
on: push
jobs:
  build:
    runs-on: self-hosted
    steps:
      - run: |
          python3 probe.py tcp {ip20} 80
          python3 probe.py dns {rogue} blocked.example
          python3 probe.py dns {rogue} allowed.example
          python3 probe.py udp {ip20} 9999
          python3 probe.py tcp 169.254.169.254 80
""")
    since = time.time()
    log = tmp_path / "audit.jsonl"
    env = {**os.environ, "GITHUB_RUNNER_EGRESS_UPLINK_NETNS": world.netns}
    res = subprocess.run([sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", executor,
                          "--egress", "block", "--allow", "allowed.example:80", "--egress-log", str(log),
                          "--egress-upstream", f"127.0.0.1:{world.upstream[1]}"],
                         capture_output=True, text=True, env=env, timeout=180)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert f"tcp {ip20} 80 refused" in out, out
    assert f"dns {rogue} blocked.example rcode=3" in out  # NXDOMAIN from the proxy, not the rogue
    assert f"dns {rogue} allowed.example rcode=0" in out
    assert f"udp {ip20} 9999 error 113" in out or f"udp {ip20} 9999 error 111" in out, out
    assert "tcp 169.254.169.254 80 refused" in out
    assert [e for e in world.server_events(since) if e.get("server") == "rogue" or e["kind"] == "udp"] == []
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert any(r["event"] == "dns" and r["action"] == "redirected" and r["resolver"] == rogue for r in recs)
    assert any(r["event"] == "connection" and r.get("reason") == "always-deny" for r in recs)


GATEWAY_DIES = """
on: push
jobs:
  build:
    runs-on: self-hosted
    steps:
      - name: Fetch, then wait while the gateway breaks
        run: |
          python3 client.py allowed.example:80
          touch ready
          for i in $(seq 100); do [ -e go ] && break; sleep 0.1; done
          python3 client.py allowed.example:80 || true
"""


def _gateway_failed_records(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [r for r in (json.loads(x) for x in log.read_text().splitlines()) if r.get("kind") == "gateway_failure"]


@pytest.mark.parametrize("mode", ["block", "audit"])
def test_31_gateway_dies_mid_job(world: World, repo: Path, tmp_path: Path, mode: str) -> None:
    """The DNS proxy's sockets are destroyed (`ss -K` in the gateway namespace) while a step runs.
    Block mode: the job fails loudly although every step succeeded, and its link is cut. Audit
    mode: a warning, and the job's own result stands."""
    (repo / ".github" / "workflows" / "ci.yml").write_text(GATEWAY_DIES)
    for f in ("ready", "go"):
        (repo / f).unlink(missing_ok=True)
    log = tmp_path / "audit.jsonl"
    state = tmp_path / "state"  # the gateway's state file names it (others may run gateways now)
    env = {**os.environ, "GITHUB_RUNNER_EGRESS_UPLINK_NETNS": world.netns, "GITHUB_RUNNER_EGRESS_STATE": str(state)}
    proc = subprocess.Popen([sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", "sandbox",
                             "--egress", mode, "--allow", "allowed.example:80", "--egress-log", str(log),
                             "--egress-upstream", f"127.0.0.1:{world.upstream[1]}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 60
        while not (repo / "ready").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        gateways = [f"gr-{json.loads(f.read_text())['token']}-gw" for f in state.glob("*.json")]
        assert len(gateways) == 1 and gateways[0] in list_netns(), gateways
        subprocess.run(["ip", "netns", "exec", gateways[0], "ss", "-K", "-u", "-t", "-l", "sport", "=", ":53"],
                       check=True, capture_output=True)
        while not _gateway_failed_records(log) and time.time() < deadline:
            time.sleep(0.1)
        (repo / "go").touch()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "egress gateway failed mid-job (dns_proxy): UDP socket 198.18.0.1:53 failed" in out, out
    assert f"allowed.example:80 ok:hello from {world.ip4(10)}:80" in out  # before the failure
    assert "allowed.example:80 resolve-failed" in out  # after it
    failed = _gateway_failed_records(log)
    assert len(failed) == 1 and failed[0]["step"]["name"] == "Fetch, then wait while the gateway breaks"
    if mode == "block":
        assert proc.returncode == 1, out
        assert "the job's network is cut off; the job fails" in out
    else:
        assert proc.returncode == 0, out
        assert "audit mode: the job goes on unobserved" in out
    assert gateways[0] not in list_netns() and list(state.glob("*.json")) == []


def test_the_jobs_last_connection_is_in_the_audit(world: World, repo: Path, tmp_path: Path) -> None:
    """The kernel may batch NFLOG records; the job's last connection, made just before the job
    ends, must still reach the audit log (it once arrived after the gateway had stopped)."""
    for i in range(3):
        audit = tmp_path / f"audit{i}.jsonl"
        res = run_exec(world, repo, "multi.allowed.example", "--egress", "audit", "--egress-log", str(audit))
        assert res.returncode == 0, res.stdout + res.stderr
        recs = [json.loads(line) for line in audit.read_text().splitlines()]
        last_dns = max(r["ts"] for r in recs if r.get("qname") == "multi.allowed.example")
        assert any(r["event"] == "connection" and r["ts"] >= last_dns and "multi.allowed.example" in r["names"]
                   for r in recs), recs
