"""`github-runner exec --executor NAME` runs the same workflow on every executor (issue 6)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.executors.conftest import JOB_USER, have_user

WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: self-hosted
    steps:
      - id: one
        run: |
          echo "GREETING=hello" >> "$GITHUB_ENV"
          echo "answer=42" >> "$GITHUB_OUTPUT"
          echo "$(id -u)" > uid.txt
          (sleep 30 &)
          echo "done one"
      - run: test "$GREETING" = hello && test "${{ steps.one.outputs.answer }}" = 42 && echo "env ok"
      - shell: python3 {0}
        run: |
          import os
          print("py", os.environ["GREETING"])
      - run: echo "ws=$GITHUB_WORKSPACE" && test -f uid.txt && echo "file ok"
"""


def _docker_ready() -> bool:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        return False
    from github_runner.executors.images import debian_ref

    return subprocess.run(["docker", "image", "inspect", debian_ref()], capture_output=True).returncode == 0


@pytest.mark.parametrize("executor", ["sandbox", "docker", "gvisor"])
def test_same_workflow_on_each_executor(executor: str, tmp_path: Path) -> None:
    require(os.geteuid() == 0 and have_user(JOB_USER), "root and the ghr-job user")
    if executor == "sandbox":
        require(shutil.which("bwrap") is not None, "bwrap")
    else:
        require(_docker_ready(), "dockerd and the ghr-debian image (.ci/setup.d/20-images.sh)")
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    p = subprocess.run([sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", executor],
                       capture_output=True, text=True, env=env, timeout=180)
    log = p.stdout + p.stderr
    assert p.returncode == 0, log
    for expected in ("done one", "env ok", "py hello", "file ok"):
        assert expected in log, log
    assert (repo / "uid.txt").read_text().strip() == str(__import__("pwd").getpwnam(JOB_USER).pw_uid)
    if executor != "sandbox":
        assert "ws=/__ws" in log  # the container's view of the workspace


def test_unknown_executor_is_a_clear_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    p = subprocess.run([sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--executor", "vm"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "vm" in p.stderr
