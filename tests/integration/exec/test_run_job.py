"""`run_job` as the worker calls it: a JobPlan built by hand, the real shell executor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from github_runner.engine.events import CollectingReporter, JobFinished, LogLine, StepFinished
from github_runner.engine.job import run_job
from github_runner.engine.plan import JobPlan, RunnerInfo, StepPlan
from github_runner.executors import get_executor
from github_runner.secrets.masker import Masker


def _plan() -> JobPlan:
    return JobPlan(
        job_id="build",
        job_key="build",
        name="build",
        steps=[
            StepPlan(id="greet", run='echo "hi ${{ github.repository }} $GITHUB_JOB"\necho "x=1" >> "$GITHUB_OUTPUT"'),
            StepPlan(id="__run", run="echo token=${{ secrets.TOKEN }}", generated_id=True),
        ],
        contexts={"github": {"repository": "octo/repo", "event_name": "push", "event": {}}},
        secrets={"TOKEN": "tok-abcdef-123"},
        env=[{"A": "${{ github.repository }}"}],
        outputs={"x": "${{ steps.greet.outputs.x }}"},
    )


def test_run_job_from_a_plain_plan_with_network_seam(tmp_path: Path) -> None:
    seen = CollectingReporter()
    main = CollectingReporter()
    runner = RunnerInfo(work_root=tmp_path / "work",
                        network=lambda plan: SimpleNamespace(hook=None, reporter=seen))
    outcome = asyncio.run(run_job(_plan(), executor=get_executor("shell", allow_root=True),
                                  reporter=main, masker=Masker(), runner=runner))
    assert outcome.result == "success" and outcome.outputs == {"x": "1"}
    assert [s.outcome for s in outcome.steps] == ["success", "success"]
    assert "hi octo/repo build" in main.lines() and "token=***" in main.lines()
    # the runner's step header: the evaluated script (masked), the shell line, the env
    groups = [e.text for e in main.events if isinstance(e, LogLine) and e.kind == "group"]
    assert groups == ['Run echo "hi octo/repo $GITHUB_JOB"', "Run echo token=***"]
    assert "  A: octo/repo" in main.lines()
    assert [type(e) for e in seen.events] == [type(e) for e in main.events]  # fanned out
    left = [p.name for p in (tmp_path / "work").iterdir() if p.name != "_tool"]  # the tool cache stays
    assert not left, f"per-job directories were left behind: {left}"


def test_network_factory_error_fails_the_job_before_any_step(tmp_path: Path) -> None:
    def broken(plan: JobPlan) -> None:
        raise ValueError("bad egress allowlist line 3")

    main = CollectingReporter()
    runner = RunnerInfo(work_root=tmp_path / "work", network=broken)
    outcome = asyncio.run(run_job(_plan(), executor=get_executor("shell", allow_root=True),
                                  reporter=main, masker=Masker(), runner=runner))
    assert outcome.result == "failure" and "bad egress allowlist line 3" in (outcome.error or "")
    assert not [e for e in main.events if isinstance(e, StepFinished)]
    assert isinstance(main.events[-1], JobFinished) and main.events[-1].result == "failure"


def test_a_broken_executor_fails_the_job_not_the_caller(tmp_path: Path) -> None:
    class Broken:
        name = "broken"

        async def prepare(self, spec):  # noqa: ANN001 - the Executor protocol
            raise OSError(28, "No space left on device")

        def check(self) -> list[str]:
            return []

    main = CollectingReporter()
    outcome = asyncio.run(run_job(_plan(), executor=Broken(), reporter=main, masker=Masker(),
                                  runner=RunnerInfo(work_root=tmp_path / "work")))
    assert outcome.result == "failure" and "No space left on device" in (outcome.error or "")
    assert isinstance(main.events[-1], JobFinished) and main.events[-1].result == "failure"
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["_tool"]  # job dirs removed


def test_cancel_between_steps_makes_cancelled_true(tmp_path: Path) -> None:
    """Ctrl-C while no step runs: later steps see cancelled(); only always()/cancelled() run."""
    plan = JobPlan(
        job_id="j", job_key="j", name="j",
        steps=[
            StepPlan(id="a", run="echo a"),
            StepPlan(id="b", run="echo b-should-not-run"),
            StepPlan(id="c", run="echo c-cancelled", condition="cancelled()"),
            StepPlan(id="d", run="echo d-status=${{ job.status }}", condition="always()"),
        ],
    )
    cancel = asyncio.Event()
    main = CollectingReporter()

    class CancelAfterFirst:
        async def emit(self, event) -> None:  # noqa: ANN001
            await main.emit(event)
            if isinstance(event, StepFinished) and event.step_id == "a":
                cancel.set()

    outcome = asyncio.run(run_job(plan, executor=get_executor("shell", allow_root=True),
                                  reporter=CancelAfterFirst(), masker=Masker(),
                                  runner=RunnerInfo(work_root=tmp_path / "w"), cancel=cancel))
    lines = main.lines()
    assert outcome.result == "cancelled"
    assert "b-should-not-run" not in lines  # only in the "Skipping step" line
    assert "c-cancelled" in lines and "d-status=cancelled" in lines  # ran to their end
