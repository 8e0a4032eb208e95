"""Every fault of runner-protocol.md §12, injected into the fake; the runner must recover.

Each case registers a runner through the CLI, arms a fault, runs `github-runner run --once`
with a two-step job and checks the recovery the reference expects, and that no log line or
step result was lost on the way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakegithub import FakeGitHub
from tests.fakegithub.jobs import JobDef, Step
from tests.fakegithub.server import broker_error, run_error, wrapped_exception
from tests.fakegithub.state import FakeJob
from tests.integration.protocol.conftest import Runner, make_fake, new_runner, stop


def two_steps() -> JobDef:
    return JobDef(steps=[Step(run="echo first-line; echo second-line", name="One"),
                         Step(run="echo third-line", name="Two")],
                  runs_on=["self-hosted"])


def assert_complete(job: FakeJob, out: str) -> None:
    """The job succeeded and nothing it printed or reported went missing."""
    assert job.conclusion == "succeeded", out
    logs = "".join(job.logs_by_step().values())
    for line in ("first-line", "second-line", "third-line"):
        assert line in logs, (line, out)
    names = [s["name"] for s in job.steps()]
    assert names == ["Set up job", "One", "Two", "Complete job"], names


def run_job(runner: Runner, job: JobDef | None = None, *, timeout: float = 45,
            before: Callable[[FakeGitHub], Any] | None = None) -> tuple[FakeJob, str, int]:
    fake = runner.fake
    runner.register()
    if before is not None:
        before(fake)
    fj = fake.queue_job(job or two_steps())
    proc = runner.start("--once")
    try:
        fj.done.wait(timeout)
        code = proc.wait(timeout)
    finally:
        stop(proc)
    return fj, runner.output(), code


@dataclass
class Case:
    name: str
    mode: str
    arm: Callable[[FakeGitHub], Any]
    check: Callable[[FakeGitHub, FakeJob, str], None]


def count(fake: FakeGitHub, route: str) -> int:
    return len(fake.recorded(route))


CASES = [
    Case("session-expired-v2", "v2",
         lambda f: f.inject("broker-message", 400, body=broker_error("RunnerSessionInvalid", 400),
                           effect=FakeGitHub.expire_sessions),
         lambda f, j, o: (count(f, "broker-session") >= 2 or pytest.fail(o))),
    Case("session-expired-v1", "v1",
         lambda f: f.inject("messages", 404, body=wrapped_exception(
             "TaskAgentSessionExpiredException", "expired"), effect=FakeGitHub.expire_sessions),
         lambda f, j, o: (count(f, "session-create") >= 2 or pytest.fail(o))),
    Case("bare-404-on-poll", "v2", lambda f: f.inject("broker-message", 404, count=2),
         lambda f, j, o: (count(f, "broker-message") >= 3 or pytest.fail(o))),
    Case("bare-410-on-poll-v1", "v1", lambda f: f.inject("messages", 410, count=2),
         lambda f, j, o: (count(f, "messages") >= 3 or pytest.fail(o))),
    Case("session-conflict", "v2", lambda f: f.inject(
        "broker-session", 409, body=broker_error("RunnerSessionConflict", 409), count=2),
         lambda f, j, o: (count(f, "broker-session") == 3 or pytest.fail(o))),
    Case("runner-token-expired", "v2", lambda f: f.inject("broker-message", 401),
         lambda f, j, o: (count(f, "token") >= 2 or pytest.fail(o))),
    Case("runner-token-expired-v1", "v1", lambda f: f.inject(
        "messages", 401, headers={"WWW-Authenticate": "Bearer"}),
         lambda f, j, o: (count(f, "token") >= 2 or pytest.fail(o))),
    Case("token-endpoint-down", "v2", lambda f: f.inject("token", 500, count=2),
         lambda f, j, o: (count(f, "token") >= 4 and "cannot create a session" in o or pytest.fail(o))),
    Case("clock-skew", "v2", lambda f: f.inject("token", 400, body={
        "error": "invalid_grant",
        "error_description": "Current server time is 2026-11-25T17:00:00Z"}),
         lambda f, j, o: ("clock skew" in o or pytest.fail(o))),
    Case("acquire-409-requeued", "v2", lambda f: f.inject(
        "acquirejob", 409, body=run_error(409, "job assignment is invalid")),
         lambda f, j, o: (count(f, "acquirejob") == 2 and j.deliveries == 2 or pytest.fail(o))),
    Case("acquire-5xx-burst", "v2", lambda f: f.inject("acquirejob", 503, count=3),
         lambda f, j, o: (count(f, "acquirejob") == 4 or pytest.fail(o))),
    Case("rate-limited-429", "v2", lambda f: f.inject(
        "acquirejob", 429, headers={"Retry-After": "1"}),
         lambda f, j, o: _gap(f, "acquirejob", 0.95)),
    Case("rate-limit-near-zero", "v2", lambda f: f.inject(
        "acquirejob", None, headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "3",
                                     "X-RateLimit-Reset": str(int(time.time()) + 4)}),
         lambda f, j, o: ("rate limit low" in o or pytest.fail(o))),
    Case("renew-5xx", "v2", lambda f: f.inject("renewjob", 500, count=2),
         lambda f, j, o: (j.renewals >= 1 or pytest.fail(o))),
    Case("renew-5xx-v1", "v1", lambda f: f.inject("jobrequests", 502, count=2),
         lambda f, j, o: (j.renewals >= 1 or pytest.fail(o))),
    Case("complete-5xx", "v2", lambda f: f.inject("completejob", 500, count=2),
         lambda f, j, o: (count(f, "completejob") == 3 or pytest.fail(o))),
    Case("complete-5xx-v1", "v1", lambda f: f.inject("events", 500, count=2),
         lambda f, j, o: (count(f, "events") == 3 or pytest.fail(o))),
    Case("reporting-5xx", "v2", lambda f: f.inject("results", 500, count=3),
         lambda f, j, o: None),
    Case("blob-403-once", "v2", lambda f: f.inject("blob", 403),
         lambda f, j, o: None),
    Case("timeline-5xx-v1", "v1", lambda f: f.inject("records", 500, count=2),
         lambda f, j, o: None),
    Case("slow-poll", "v2", lambda f: f.inject("broker-message", None, delay=4, count=1),
         lambda f, j, o: ("poll failed" in o or pytest.fail(o))),
    Case("dropped-long-poll", "v2", lambda f: f.inject("broker-message", drop=True, count=2),
         lambda f, j, o: (count(f, "broker-message") >= 3 or pytest.fail(o))),
    Case("dropped-long-poll-v1", "v1", lambda f: f.inject("messages", drop=True),
         lambda f, j, o: (count(f, "messages") >= 2 or pytest.fail(o))),
]


def _gap(fake: FakeGitHub, route: str, at_least: float) -> None:
    times = [r.at for r in fake.recorded(route)]
    assert len(times) >= 2 and times[1] - times[0] >= at_least, times


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_recovery(case: Case, tmp_path: Path, work_dir: Path) -> None:
    fake = make_fake(tmp_path, mode=case.mode, poll_hold=1.0, acquire_timeout=1.5)
    try:
        runner = new_runner(tmp_path, fake, work_dir)
        if case.name == "slow-poll":
            runner.config.write_text(runner.config.read_text().replace(
                "poll_timeout = 10", "poll_timeout = 2"))
        job, out, code = run_job(runner, before=case.arm)
        assert code == 0, out
        assert_complete(job, out)
        case.check(fake, job, out)
    finally:
        fake.stop()


def test_duplicate_delivery_runs_once(tmp_path: Path, work_dir: Path, mode: str) -> None:
    fake = make_fake(tmp_path, mode=mode, poll_hold=1.0)
    try:
        runner = new_runner(tmp_path, fake, work_dir)
        runner.register()
        job = fake.queue_job(two_steps(), duplicate=1)
        proc = runner.start()
        try:
            assert job.done.wait(40), runner.output()
            time.sleep(1.5)  # give a second copy every chance to start
        finally:
            assert stop(proc) == 0, runner.output()
        assert_complete(job, runner.output())
        assert job.deliveries == 2
        assert "duplicate delivery" in runner.output()
        assert job.completions == 1
        if mode == "v2":
            assert count(fake, "acquirejob") == 1
    finally:
        fake.stop()


def test_runner_deleted_stops_and_cleans(runner: Runner, mode: str) -> None:
    runner.register()
    runner.fake.call(lambda: [setattr(a, "deleted", True) for a in runner.fake.agents.values()])
    proc = runner.start()
    code = proc.wait(30)
    assert code == 1, runner.output()
    assert "register it again" in runner.output() or "gone" in runner.output() or \
        "not found" in runner.output(), runner.output()
    assert not (runner.state / "runners" / "r1").exists()


def test_version_too_old_is_fatal(tmp_path: Path, work_dir: Path) -> None:
    fake = make_fake(tmp_path, mode="v2", min_version="9.0.0")
    try:
        runner = new_runner(tmp_path, fake, work_dir)
        runner.register()
        proc = runner.start()
        assert proc.wait(30) == 1
        assert "refuses this runner version" in runner.output()
        assert (runner.state / "runners" / "r1").exists()  # not deleted: upgrading fixes it
    finally:
        fake.stop()


def test_permanent_session_conflict_gives_up(runner: Runner, mode: str) -> None:
    runner.register()
    route = "broker-session" if mode == "v2" else "session-create"
    body = broker_error("RunnerSessionConflict", 409) if mode == "v2" else wrapped_exception(
        "TaskAgentSessionConflictException", "conflict")
    runner.fake.inject(route, 409, body=body, count=1000)
    proc = runner.start()
    assert proc.wait(30) == 1
    assert "another listener holds" in runner.output()


@pytest.mark.parametrize("kind", ["malformed", "oversized", "unknown-type", "bad-reference",
                                  "bad-job-json", "wrong-key"])
def test_bad_messages_are_dropped_and_listener_keeps_serving(
        tmp_path: Path, work_dir: Path, kind: str) -> None:
    mode = "v1" if kind in ("wrong-key", "bad-job-json") else "v2"
    fake = make_fake(tmp_path, mode=mode, poll_hold=1.0)
    try:
        runner = new_runner(tmp_path, fake, work_dir)
        runner.config.write_text(runner.config.read_text().replace(
            "[listener]", "[listener]\nmax_message_bytes = 200000"))
        runner.register()
        proc = runner.start()
        try:
            fake.wait(lambda: bool(fake.live_sessions()), 20, "a session")
            if kind == "malformed":
                mid = fake.push_message("r1", "RunnerJobRequest", '{"runner_request_id": ')
            elif kind == "oversized":
                mid = fake.push_message("r1", "RunnerJobRequest", "x" * 300000)
            elif kind == "unknown-type":
                mid = fake.push_message("r1", "SomethingNew\x1b[31m", "{}")
            elif kind == "bad-reference":
                mid = fake.push_message("r1", "RunnerJobRequest", json.dumps({"id": 1}))
            elif kind == "bad-job-json":
                mid = fake.push_message("r1", "PipelineAgentJobRequest", '{"plan": {"planId": 1}')
            else:
                mid = fake.push_message("r1", "PipelineAgentJobRequest", "{}", wrong_key=True)
            job = fake.queue_job(two_steps())
            assert job.done.wait(40), runner.output()
        finally:
            assert stop(proc) == 0, runner.output()
        out = runner.output()
        assert str(mid) in out, out  # logged with the message id
        assert "\x1b" not in out  # never echo raw control bytes from a message
        assert_complete(job, out)
    finally:
        fake.stop()


def test_malformed_job_message_is_reported_failed(runner: Runner, mode: str) -> None:
    """A job message GitHub could never send (script step without a script): job failed."""
    fake = runner.fake
    runner.register()
    job = fake.queue_job(two_steps())
    fake.call(lambda: job.message["steps"][0].__setitem__("inputs", {"type": 2, "map": []}))
    proc = runner.start("--once")
    try:
        assert job.done.wait(40), runner.output()
        assert proc.wait(20) == 0
    finally:
        stop(proc)
    assert job.conclusion == "failed"
    if mode == "v2":
        assert any("malformed" in a["message"] for a in job.annotations), job.annotations


def test_force_token_refresh_message(runner: Runner, mode: str) -> None:
    fake = runner.fake
    runner.register()
    proc = runner.start()
    try:
        fake.wait(lambda: bool(fake.live_sessions()), 20, "a session")
        before = count(fake, "token")
        fake.push_message("r1", "ForceTokenRefresh", "{}")
        job = fake.queue_job(two_steps())
        assert job.done.wait(40), runner.output()
    finally:
        assert stop(proc) == 0
    assert count(fake, "token") > before
    assert_complete(job, runner.output())


def test_broker_migration_is_followed(tmp_path: Path, work_dir: Path) -> None:
    """A v1 runner told `BrokerMigration` polls the broker with its v1 session and runs the job."""
    fake = make_fake(tmp_path, mode="v1", poll_hold=1.0)
    try:
        runner = new_runner(tmp_path, fake, work_dir)
        runner.register()
        proc = runner.start()
        try:
            fake.wait(lambda: bool(fake.live_sessions()), 20, "a session")
            fake.migrate_to_broker("r1")
            job = fake.queue_job(two_steps())
            assert job.done.wait(40), runner.output()
        finally:
            assert stop(proc) == 0, runner.output()
        assert_complete(job, runner.output())
        v1_sessions = fake.call(lambda: {s.id for s in fake.sessions.values() if not s.v2})
        polls = fake.recorded("broker-message")
        assert polls and {p.query["sessionId"] for p in polls} <= v1_sessions
        assert fake.recorded("acquirejob") and fake.recorded("message-delete")
    finally:
        fake.stop()


def test_unexpected_answers_do_not_end_the_listener(runner: Runner, mode: str) -> None:
    """A session answer that is JSON of the wrong shape: logged, retried, the job still runs."""
    route = "broker-session" if mode == "v2" else "session-create"
    runner.fake.inject(route, 201 if mode == "v2" else 200, body=["not", "an", "object"])
    job, out, code = run_job(runner)
    assert code == 0, out
    assert "unexpected error; carrying on" in out
    assert_complete(job, out)
