"""register -> run -> a job with several steps -> what the fake recorded -> remove (v2 and v1)."""

from __future__ import annotations

import json
import stat

from tests.fakegithub.jobs import JobDef, Step
from tests.integration.protocol.conftest import Runner, stop

SECRET = "s3cr3t-Value-9f8e7d"


def demo_job() -> JobDef:
    return JobDef(
        steps=[
            Step(run='echo "hello $WHO"; echo "secret is ${{ secrets.MY_SECRET }}"', id="greet",
                 name="Greet", env={"WHO": "world"}),
            Step(run='echo "val=42" >> "$GITHUB_OUTPUT"', id="out", name="Set output"),
            Step(run="echo failing on purpose; exit 3", id="bad", name="Fails but continues",
                 continue_on_error=True),
            Step(run='echo "got ${{ steps.out.outputs.val }} outcome=${{ steps.bad.outcome }} '
                     'conclusion=${{ steps.bad.conclusion }}"', name="Check"),
            Step(run='echo "### Done ${{ github.repository }}" >> "$GITHUB_STEP_SUMMARY"',
                 name="Summary"),
            Step(run="echo never", name="Skipped", if_="failure()"),
        ],
        runs_on=["self-hosted", "linux-test"],
        secrets={"MY_SECRET": SECRET},
        outputs={"val": "${{ steps.out.outputs.val }}"},
    )


def test_register_run_remove(runner: Runner, mode: str) -> None:
    fake = runner.fake
    out = runner.register("--labels", "linux-test")
    assert "registered r1" in out.stdout
    files = sorted(p.name for p in (runner.state / "runners" / "r1").iterdir())
    assert files == [".credentials", ".credentials_rsaparams", ".runner"]
    for p in (runner.state / "runners" / "r1").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(runner.state.stat().st_mode) == 0o700
    assert SECRET not in runner.config.read_text()
    dot_runner = json.loads((runner.state / "runners" / "r1" / ".runner").read_text())
    assert dot_runner["useV2Flow"] is (mode == "v2")

    job = fake.queue_job(demo_job())
    proc = runner.start("--once")
    try:
        assert job.done.wait(60), runner.output()
        assert proc.wait(30) == 0, runner.output()
    finally:
        stop(proc)

    assert job.conclusion == "succeeded", (runner.output(), job.logs_by_step(), job.job_log, job.annotations, job.step_results)
    steps = job.steps()
    names = [s["name"] for s in steps]
    assert names == ["Set up job", "Greet", "Set output", "Fails but continues", "Check",
                     "Summary", "Skipped", "Complete job"], names
    concl = {s["name"]: s.get("conclusion", s.get("result")) for s in steps}
    if mode == "v2":
        assert concl["Fails but continues"] == 2 and concl["Skipped"] == 7  # numeric enums
        results = {r["name"]: r for r in job.step_results}
        bad = results["Fails but continues"]
        assert bad["conclusion"] == "succeeded"
        assert any(a["level"] == "failure" and "exit code 3" in a["message"]
                   for a in bad["annotations"]), bad
        assert results["Skipped"]["conclusion"] == "skipped"
        assert job.outputs == {"val": {"value": "42"}}
        summary = "".join(job.summaries.values())
    else:
        assert concl["Fails but continues"] == "succeeded" and concl["Skipped"] == "skipped"
        rec = next(s for s in steps if s["name"] == "Fails but continues")
        assert any(i["type"] == "error" for i in rec["issues"]), rec
        assert job.outputs == {"val": "42"}
        assert job.records[job.id]["state"] == "completed"
        summary = "".join(job.summaries.values())
    assert "### Done octo/repo" in summary
    logs = job.logs_by_step()
    by_name = {s["name"]: logs.get(s.get("external_id") or s.get("id"), "") for s in steps}
    assert "hello world" in by_name["Greet"]
    assert "secret is ***" in by_name["Greet"]
    assert "got 42 outcome=failure conclusion=success" in by_name["Check"]
    assert "failing on purpose" in by_name["Fails but continues"]
    # the secret never travelled back to GitHub, in any request
    for r in fake.recorded():
        assert SECRET.encode() not in r.body, r.route
    # nor into the runner's own logs (listener and worker diagnostics)
    assert SECRET not in runner.output()
    # renewed before starting, and the listener never sent the job token
    assert job.renewals >= 1

    out = runner.cli("remove", "--token", fake.registration_token("remove"))
    assert "removed r1" in out.stdout
    assert fake.agent_names() == []
    assert not (runner.state / "runners" / "r1").exists()


def test_live_console_streams_while_the_step_runs(runner: Runner, mode: str) -> None:
    """v2: websocket to FeedStreamUrl; v1: the feed endpoint. Lines arrive before the step ends."""
    fake = runner.fake
    runner.register()
    job = fake.queue_job(JobDef(steps=[Step(run="echo live-line-1; sleep 3; echo live-line-2",
                                            name="Streaming")]))
    proc = runner.start("--once")
    try:
        fake.wait(lambda: any(line == "live-line-1" for _, line in list(job.feed)), 30,
                  "the first line on the live feed")
        assert not job.done.is_set()
        assert not any(line == "live-line-2" for _, line in list(job.feed))
        assert job.done.wait(30), runner.output()
    finally:
        stop(proc)
    assert job.conclusion == "succeeded"
    step = next(s for s in job.steps() if s["name"] == "Streaming")
    sid = step.get("external_id") or step.get("id")
    assert [line for s, line in job.feed if s == sid and line == "live-line-2"]
