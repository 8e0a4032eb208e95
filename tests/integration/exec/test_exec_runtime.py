"""exec behaviour over time: Ctrl-C cancellation, timeouts, composite actions, the example."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _pids_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_readme_example_succeeds() -> None:
    _example("shell")


def test_example_in_the_sandbox_executor() -> None:
    import shutil

    from tests.conftest import require

    require(shutil.which("bwrap") is not None and os.geteuid() == 0, "bwrap and root")
    _example("sandbox")


def _example(executor: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "github_runner", "exec", "-C", str(REPO / "examples" / "hello"),
         "--executor", executor],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "composite said Hello, world!" in proc.stdout
    assert "matrix bash with-include of 3" in proc.stdout
    assert "Run success" in proc.stdout


def test_ctrl_c_cancels_running_step_and_runs_always_steps(repo) -> None:
    marker = f"600.{time.monotonic_ns()}"  # a unique sleep argument to find the step's processes
    repo.workflow(
        f"""
        on: push
        jobs:
          j:
            runs-on: x
            steps:
              - run: |
                  echo started
                  trap 'echo got-sigint; exit 130' INT
                  sleep {marker} & wait
                  echo not-reached
              - run: echo skipped-after-cancel
              - if: always()
                run: echo always-after-cancel
              - if: cancelled()
                run: echo cancelled-is-true
        """
    )
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "github_runner", "exec", "-C", str(repo.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "started" in line:
            break
    assert "started" in seen
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    out = seen + out
    assert proc.returncode == 130, out + err
    assert "got-sigint" in out
    assert "not-reached" not in out.replace("echo not-reached", "")
    assert "always-after-cancel" in out and "cancelled-is-true" in out
    assert "| skipped-after-cancel" not in out
    time.sleep(0.2)
    assert not _pids_with(marker), "the step's background sleep survived the cancel"


def test_step_timeout_and_job_timeout(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          step-timeout:
            runs-on: x
            steps:
              - run: sleep 30
                timeout-minutes: 0.02
              - if: always()
                run: echo after-timeout
          job-timeout:
            runs-on: x
            timeout-minutes: 0.02
            steps:
              - run: sleep 30
        """
    )
    start = time.monotonic()
    r = repo.exec()
    assert time.monotonic() - start < 25
    assert r.code == 1  # the step timeout fails its job; the job timeout cancels the other
    assert "has timed out after 0.02 minutes" in r.out
    assert "after-timeout" in r.out
    assert "The job has exceeded the maximum execution time of 1.2s" in r.out
    assert "The operation was canceled." in r.out


def test_composite_inputs_outputs_env_isolation_and_status(repo) -> None:
    repo.file(
        "act/action.yml",
        """
        name: a
        description: d
        inputs:
          name: {description: n, required: true}
          extra: {description: e, default: dflt}
        outputs:
          out: {description: o, value: "${{ steps.inner.outputs.v }}-${{ env.CALLER }}"}
        runs:
          using: composite
          steps:
            - id: inner
              shell: bash
              run: |
                echo "in ${{ inputs.name }} ${{ inputs.extra }} caller=$CALLER"
                echo "v=${{ inputs.name }}" >> "$GITHUB_OUTPUT"
            - shell: bash
              run: exit 1
            - if: failure()
              shell: bash
              run: echo composite-failure-seen
            - if: success()
              shell: bash
              run: echo composite-success-wrong
        """,
    )
    repo.workflow(
        """
        on: push
        jobs:
          j:
            runs-on: x
            steps:
              - id: c
                uses: ./act
                continue-on-error: true
                with: {name: N}
                env: {CALLER: yes}
              - run: |
                  echo "out=${{ steps.c.outputs.out }} outcome=${{ steps.c.outcome }} caller=[$CALLER]"
        """
    )
    r = repo.exec("--json", str(repo.root / "e.jsonl"))
    assert r.code == 0, r.out + r.err
    import json

    events = [json.loads(x) for x in (repo.root / "e.jsonl").read_text().splitlines()]
    # nested steps are sections of the calling step's log, not steps (timeline records) of their own
    assert [e["step_id"] for e in events if e["type"] == "StepStarted"] == ["c", "__run"]
    lines = {e["text"]: e["step_id"] for e in events if e["type"] == "LogLine"}
    assert lines["in N dflt caller=yes"] == "c"
    assert "in N dflt caller=yes" in r.out
    assert "composite-failure-seen" in r.out
    assert "| composite-success-wrong" not in r.out
    assert "out=N-yes outcome=failure caller=[]" in r.out


def test_unsupported_actions_fail_naming_the_step(repo) -> None:
    repo.file("js/action.yml", "name: js\ndescription: d\nruns:\n  using: node20\n  main: index.js\n")
    repo.workflow(
        """
        on: push
        jobs:
          j:
            runs-on: x
            steps:
              - run: echo before
              - id: jsstep
                uses: ./js
              - uses: docker://alpine:3
        """
    )
    r = repo.exec()
    assert r.code == 1
    assert "step 'jsstep' (uses: ./js): JavaScript actions (`using: node20`) are not supported yet" in r.out


def test_killed_run_leaves_nothing_after_the_next_run(repo, tmp_path: Path) -> None:
    """SIGKILL of exec cannot clean up; the next exec removes the dead run's work directory."""
    work = tmp_path / "work"
    repo.workflow(
        """
        on: push
        jobs:
          j:
            runs-on: x
            steps:
              - run: echo started; sleep 2
        """
    )
    env = {**os.environ, "GITHUB_RUNNER_WORK": str(work)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "github_runner", "exec", "-C", str(repo.root)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None
    for _ in range(200):
        if "started" in proc.stdout.readline():
            break
    proc.kill()
    proc.wait()
    assert (work / f"exec-{proc.pid}").exists()
    repo.workflow("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo ok\n")
    r = subprocess.run([sys.executable, "-m", "github_runner", "exec", "-C", str(repo.root)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0
    assert list(work.iterdir()) == []
