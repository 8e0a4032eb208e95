"""`github-runner doctor` on this host: it runs the real probes and says what is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.conftest import require



def _doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "from github_runner.cli.main import cli; cli()"
    return subprocess.run([sys.executable, "-c", code, "doctor", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_sandbox_ready_here() -> None:
    require(os.geteuid() == 0 and shutil.which("bwrap") is not None, "root and bwrap")
    p = _doctor("--executor", "sandbox", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    (report,) = json.loads(p.stdout)
    assert report["ready"] and {c["name"] for c in report["checks"]} >= {"bubblewrap", "cgroups", "job user"}


def test_missing_user_and_dependency_are_named_with_a_fix() -> None:
    p = _doctor("--executor", "sandbox", "--user", "no-such-ghr-user")
    assert p.returncode == 1
    assert "MISSING job user: no user 'no-such-ghr-user'" in p.stdout and "fix: useradd" in p.stdout
    env = {**os.environ, "PATH": "/nonexistent"}
    p = _doctor("--executor", "sandbox", env=env)
    assert p.returncode == 1 and "MISSING bwrap: not found" in p.stdout and "apt-get install bubblewrap" in p.stdout


def test_gvisor_report_states_what_this_build_supports() -> None:
    p = _doctor("--executor", "gvisor", "--json")
    (report,) = json.loads(p.stdout)
    notes = " ".join(report["notes"])
    assert "--network=host" in notes and "128" in notes and "runsc do" in notes
    if os.environ.get("CI") == "true":
        assert report["ready"], report


def test_reports_cgroup_migration_tuning_and_egress() -> None:
    from github_runner.executors import cgtune

    if os.geteuid() == 0:
        cgtune.ensure(True)  # what any executor start does
    p = _doctor("--json")
    reports = {r["executor"]: r for r in json.loads(p.stdout)}
    (mig,) = [c for c in reports["sandbox"]["checks"] if c["name"] == "fast cgroup migration"]
    assert mig["advisory"] and "favordynmods" in mig["detail"]
    egress = reports["egress"]
    assert {"root", "libnftables"} <= {c["name"] for c in egress["checks"]}
    assert any(n.startswith("shell: ") for n in egress["notes"])
    if os.geteuid() == 0:
        assert mig["ok"] is cgtune.status().on
