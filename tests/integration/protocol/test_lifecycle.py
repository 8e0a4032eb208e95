"""JIT, runner-admin registration, bad input, N concurrent slots, cancellation, SIGTERM, lost lock."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.fakegithub.jobs import JobDef, Step
from tests.fakegithub.state import FakeJob
from tests.integration.protocol.conftest import Runner, make_fake, new_runner, stop
from tests.integration.protocol.test_faults import assert_complete, two_steps


def _in_progress(fake, job, name: str) -> bool:  # type: ignore[no-untyped-def]
    def check() -> bool:
        for s in job.steps():
            if s.get("name") == name and s.get("status", s.get("state")) in (3, "inProgress"):
                return True
        return False

    return fake.call(check)


def test_jit_config_runs_one_job_and_cleans_up(runner: Runner, mode: str) -> None:
    fake = runner.fake
    runner.write_config(extra='\n[log]\nformat = "json"\n')
    blob = fake.generate_jit("jit-1", ["self-hosted", "gpu"])
    out = runner.cli("register", "--jitconfig", blob)
    assert "jit-1" in out.stdout
    job = fake.queue_job(JobDef(steps=[Step(run="echo jit-ok", name="One")],
                                runs_on=["self-hosted", "gpu"]))
    proc = runner.start()  # JIT runners are ephemeral: no --once needed
    try:
        assert job.done.wait(40), runner.output()
        assert proc.wait(20) == 0, runner.output()
    finally:
        stop(proc)
    assert job.conclusion == "succeeded"
    assert "jit-ok" in "".join(job.logs_by_step().values())
    assert fake.agent_names() == []  # the server deleted the ephemeral runner
    assert not (runner.state / "runners" / "jit-1").exists()
    records = [json.loads(line) for line in runner.output().splitlines()]  # log.format = json
    assert any(r["logger"] == "github_runner.worker" for r in records)


@pytest.mark.parametrize("mode", ["v1"])  # flow-independent: once is enough
def test_bad_jitconfig_is_one_line_and_writes_nothing(runner: Runner) -> None:
    p = runner.cli("register", "--jitconfig", "not-base64!!", check=False)
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0 and "--jitconfig" in p.stderr
    assert not (runner.state / "runners").exists() or not any((runner.state / "runners").iterdir())


@pytest.mark.parametrize("mode", ["v2"])
def test_runner_admin_flow_register_run_remove(tmp_path: Path, work_dir: Path, mode: str) -> None:
    fake = make_fake(tmp_path, mode=mode, admin_flow=True)
    try:
        runner = new_runner(tmp_path, fake, work_dir)
        runner.register("--runner-group", "gpu-group")
        assert fake.recorded("runners-register")
        body = fake.recorded("runners-register")[0].json()
        assert body["group_id"] == 2 and body["public_key"].startswith("<RSAKeyValue>")
        job = fake.queue_job(two_steps())
        proc = runner.start("--once")
        try:
            assert job.done.wait(40), runner.output()
        finally:
            stop(proc)
        assert_complete(job, runner.output())
        runner.cli("remove", "--token", fake.registration_token("remove"))
        assert fake.recorded("runners-delete") and fake.agent_names() == []
    finally:
        fake.stop()


@pytest.mark.parametrize("mode", ["v1"])  # flow-independent: once is enough
def test_bad_input_is_one_line_with_nothing_left(runner: Runner) -> None:
    fake = runner.fake
    p = runner.cli("register", "--url", fake.repo_url, "--token", "wrong", "--name", "x", check=False)
    assert p.returncode == 1 and "token was refused" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = runner.cli("register", "--url", "ftp://x/y", "--token", "t", check=False)
    assert p.returncode == 1 and "--url" in p.stderr
    p = runner.cli("register", "--url", "http://192.0.2.1/o/r", "--token", "t", check=False)
    assert p.returncode == 1 and "HTTPS only" in p.stderr
    assert not (runner.state / "runners").exists() or not any((runner.state / "runners").iterdir())
    assert fake.agent_names() == []
    runner.config.write_text(runner.config.read_text() + "\n[runner.extra]\nx = 1\n")
    p = runner.cli("run", check=False)
    assert p.returncode == 1 and "runner.extra: unknown key" in p.stderr, p.stderr
    runner.config.write_text(runner.config.read_text().replace(
        "[runner.extra]\nx = 1\n", "").replace('labels = ["linux-test"]',
                                               'labels = ["${NOT_SET_ANYWHERE}"]'))
    p = runner.cli("run", check=False)
    assert p.returncode == 1 and "runner.labels[0]: environment variable NOT_SET_ANYWHERE" in p.stderr


@pytest.mark.parametrize("mode", ["v1"])  # flow-independent: once is enough
def test_register_failure_mid_way_rolls_back(runner: Runner) -> None:
    """The third of four identities fails: the first two are deleted again, nothing local."""
    fake = runner.fake
    fake.inject("agents-add", 500, skip=2, count=10)
    p = runner.cli("register", "--url", fake.repo_url, "--token", fake.registration_token(),
                   "--name", "n", "--concurrency", "4", check=False)
    assert p.returncode == 1, p.stderr
    assert fake.agent_names() == []
    assert not any((runner.state / "runners").iterdir())


@pytest.mark.parametrize("mode", ["v1"])  # flow-independent: once is enough
def test_replace_existing_runner(runner: Runner, tmp_path: Path) -> None:
    runner.register()
    p = runner.cli("register", "--url", runner.fake.repo_url, "--token",
                   runner.fake.registration_token(), "--name", "r1", "--state-dir",
                   str(tmp_path / "other"), check=False)
    assert p.returncode == 1 and "--replace" in p.stderr
    runner.cli("register", "--url", runner.fake.repo_url, "--token",
               runner.fake.registration_token(), "--name", "r1", "--replace", "--state-dir",
               str(tmp_path / "other"))
    assert runner.fake.recorded("agents-replace")


def test_four_concurrent_jobs_no_cross_talk(runner: Runner, mode: str) -> None:
    fake = runner.fake
    out = runner.cli("register", "--url", fake.repo_url, "--token", fake.registration_token(),
                     "--name", "slot", "--concurrency", "4")
    assert "slot-1, slot-2, slot-3, slot-4" in out.stdout
    jobs = [fake.queue_job(JobDef(
        name=f"job{i}", secrets={"S": f"secret-of-job-{i}-xyz"},
        steps=[Step(run=f"echo start-{i}; sleep 1.5; echo marker-{i} ${{{{ secrets.S }}}}",
                    name=f"Work {i}"),
               Step(run=f'echo "n={i}" >> "$GITHUB_OUTPUT"', id="o", name="Out")],
        outputs={"n": "${{ steps.o.outputs.n }}"})) for i in range(4)]
    proc = runner.start()
    try:
        for j in jobs:
            assert j.done.wait(60), runner.output()
    finally:
        assert stop(proc) == 0, runner.output()
    assert len(fake.live_sessions()) == 0
    agents = {j.agent_name for j in jobs}
    assert agents == {"slot-1", "slot-2", "slot-3", "slot-4"}
    for i, j in enumerate(jobs):
        assert j.conclusion == "succeeded"
        logs = "".join(j.logs_by_step().values())
        assert f"marker-{i} ***" in logs and f"secret-of-job-{i}" not in logs
        for k in range(4):
            if k != i:
                assert f"marker-{k}" not in logs and f"start-{k}" not in logs
        val = j.outputs["n"]
        assert (val["value"] if isinstance(val, dict) else val) == str(i)
    # they ran at the same time, not one after the other
    starts = [min(r.at for r in fake.recorded() if r.route in ("renewjob", "jobrequests")
                  and j.job_token in r.headers.get("Authorization", "")) for j in jobs]
    assert max(starts) - min(starts) < 1.5, starts


def _long_job() -> JobDef:
    return JobDef(steps=[
        Step(run="echo started; sleep 20; echo finished-long", name="Long"),
        Step(run="echo cleanup-ran", name="Cleanup", if_="always()"),
        Step(run="echo not-run", name="After"),
    ])


def _start_long(runner: Runner, *args: str) -> tuple[FakeJob, subprocess.Popen[str]]:
    """Register, queue the long job, start the runner and wait until the long step runs."""
    runner.register()
    job = runner.fake.queue_job(_long_job())
    proc = runner.start(*args)
    try:
        runner.fake.wait(lambda: _in_progress(runner.fake, job, "Long"), 30, "the long step")
    except BaseException:
        stop(proc)
        raise
    return job, proc


def test_cancellation_mid_step(runner: Runner, mode: str) -> None:
    fake = runner.fake
    job, proc = _start_long(runner, "--once")
    try:
        time.sleep(0.3)
        fake.cancel_job(job.id)
        assert job.done.wait(30), runner.output()
        assert proc.wait(20) == 0
    finally:
        stop(proc)
    assert job.conclusion == "canceled", runner.output()
    logs = "".join(job.logs_by_step().values())
    assert printed(logs, "started") and printed(logs, "cleanup-ran")
    assert not printed(logs, "finished-long") and not printed(logs, "not-run")
    assert _no_process("sleep 20")


def printed(logs: str, text: str) -> bool:
    """A line the step printed (not the echo of its script): `<timestamp> <text>`."""
    return any(line.split(" ", 1)[-1] == text for line in logs.splitlines())


def _no_process(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 1


def test_sigterm_finishes_running_job(runner: Runner, mode: str) -> None:
    fake = runner.fake
    runner.register()
    job = fake.queue_job(JobDef(steps=[Step(run="sleep 2; echo done-after-term", name="Work")]))
    proc = runner.start()
    try:
        fake.wait(lambda: _in_progress(fake, job, "Work"), 30, "the step")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, runner.output()
    finally:
        stop(proc)
    assert job.conclusion == "succeeded", runner.output()
    assert "done-after-term" in "".join(job.logs_by_step().values())
    assert fake.live_sessions() == []


def test_second_sigterm_cancels(runner: Runner, mode: str) -> None:
    job, proc = _start_long(runner)
    try:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, runner.output()
    finally:
        stop(proc)
    assert job.conclusion == "canceled"
    assert "cleanup-ran" in "".join(job.logs_by_step().values())
    assert _no_process("sleep 20")


def test_lost_lock_stops_the_job(runner: Runner, mode: str) -> None:
    fake = runner.fake
    runner.register()
    route = "renewjob" if mode == "v2" else "jobrequests"
    from tests.fakegithub.server import run_error, wrapped_exception

    body = run_error(404, "job not found") if mode == "v2" else wrapped_exception(
        "TaskAgentJobNotFoundException", "gone")
    fake.inject(route, 404, body=body, skip=1, count=100)
    job = fake.queue_job(_long_job())
    proc = runner.start()
    try:
        fake.wait(lambda: "lock was lost" in runner.output(), 40, "the lost lock")
        time.sleep(0.5)
        assert proc.poll() is None  # the listener keeps serving
    finally:
        assert stop(proc) == 0
    assert _no_process("sleep 20")
    route = "completejob" if mode == "v2" else "events"
    assert not [r for r in fake.recorded(route) if b"JobCompleted" in r.body or mode == "v2"]
    assert not printed("".join(job.logs_by_step().values()), "finished-long")


def test_worker_crash_is_reported_failed(runner: Runner, mode: str) -> None:
    import os
    import re

    job, proc = _start_long(runner, "--once")
    try:
        pid = int(re.findall(r"in worker pid (\d+)", runner.output())[-1])
        os.kill(pid, signal.SIGKILL)
        assert job.done.wait(30), runner.output()
        assert proc.wait(20) == 0, runner.output()
    finally:
        stop(proc)
    assert job.conclusion == "failed"
    assert "reporting the job failed" in runner.output()
    assert _no_process("sleep 20"), runner.output()  # the job's processes did not outlive it


@pytest.mark.parametrize("mode", ["v2"])
def test_egress_section_reaches_the_worker(runner: Runner, mode: str) -> None:
    """`[egress] mode = "block"` with the shell executor must refuse to run the job unguarded."""
    runner.write_config(extra='\n[egress]\nmode = "block"\n')
    runner.register()
    job = runner.fake.queue_job(two_steps())
    proc = runner.start("--once")
    try:
        assert job.done.wait(40), runner.output()
    finally:
        stop(proc)
    assert job.conclusion == "failed"
    assert any("egress" in a["message"] and "executor" in a["message"]
               for r in job.step_results for a in r["annotations"]), job.step_results
