"""Running one JobPlan through an Executor: set-up, steps, post steps, outputs, clean-up.

`run_job` is the single entry point for both `exec` and the GitHub worker. It never raises for
problems of the job itself (they become a failed JobOutcome with a masked error); it only
propagates `asyncio.CancelledError` after the sandbox is closed.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from msgspec import Struct

from github_runner.engine import templates
from github_runner.engine.contexts import runner_context, runner_env
from github_runner.engine.events import JobFinished, JobStarted, MultiReporter, Reporter
from github_runner.engine.output import JobLog
from github_runner.engine.plan import JobOutcome, JobPlan, RunnerInfo
from github_runner.engine.state import JobState, Scope


def go_duration(seconds: float) -> str:
    """GitHub's duration text in timeout messages (Go's format): `45m0s`, `6h0m0s`, `1.5s`."""
    if seconds < 60:
        return f"{seconds:.6g}s"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    frac = seconds - whole
    sec = f"{s + frac:.6g}" if frac else str(s)
    return f"{h}h{m}m{sec}s" if h else f"{m}m{sec}s"


class _Run(Struct):
    """What every phase of one job run needs: the plan and its collaborators."""

    plan: JobPlan
    executor: Any
    reporter: Reporter
    masker: Any
    runner: RunnerInfo
    log: JobLog
    cancel: asyncio.Event | None
    grace_seconds: float
    network_hook: Any = None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "job"


async def run_job(
    plan: JobPlan,
    *,
    executor: Any,
    reporter: Reporter,
    masker: Any,
    runner: RunnerInfo,
    cancel: asyncio.Event | None = None,
    grace_seconds: float = 7.5,
) -> JobOutcome:
    """Run every step of `plan`; the result follows GitHub's job conclusion rules."""
    from github_runner.secrets.store import hold

    secrets = hold(plan.secrets, masker)  # registered once; zeroised when the job ends
    plan.secrets = secrets
    network_error: str | None = None
    try:
        network = runner.network(plan) if runner.network is not None else None
    except Exception as exc:  # a bad egress setting fails the job; it never runs unguarded
        network, network_error = None, f"network: {exc}"
    if network is not None and getattr(network, "reporter", None) is not None:
        reporter = MultiReporter(reporter, network.reporter)
        if hasattr(network, "bind"):  # egress annotations/summary go back into this job's stream
            network.bind(reporter)
    log = JobLog(plan.job_id, reporter, masker)
    started = time.monotonic()
    await reporter.emit(
        JobStarted(plan.job_id, masker.mask(plan.name), plan.contexts.get("matrix") or None)
    )
    if network_error is not None:
        await log.annotate("error", network_error)
        await reporter.emit(JobFinished(plan.job_id, masker.mask(plan.name), "failure"))
        secrets.close()
        return JobOutcome(plan.job_id, "failure", error=network_error)
    runner.work_root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f"{_safe(plan.job_id)}-", dir=runner.work_root))
    outcome: JobOutcome
    try:
        job = _Run(plan, executor, reporter, masker, runner, log, cancel, grace_seconds,
                   getattr(network, "hook", None))
        outcome = await _run_in_sandbox(job, work_dir)
        hook = getattr(network, "hook", None)
        if outcome.result == "success" and getattr(hook, "fails_job", False):
            await log.annotate("error", getattr(hook, "fail_reason", None)
                               or "egress: the job made connections its policy forbids")
            outcome.result = "failure"
    except asyncio.CancelledError:
        await reporter.emit(
            JobFinished(plan.job_id, masker.mask(plan.name), "cancelled", duration=time.monotonic() - started)
        )
        raise
    except Exception as exc:  # executor set-up or clean-up broke: this job fails, the run goes on
        message = f"job {plan.job_key!r}: internal error: {type(exc).__name__}: {exc}"
        await log.annotate("error", message)
        outcome = JobOutcome(plan.job_id, "failure", error=masker.mask(message))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        secrets.close()
    await reporter.emit(
        JobFinished(
            plan.job_id,
            masker.mask(plan.name),
            outcome.result,
            outputs={k: masker.mask(v) for k, v in outcome.outputs.items()},
            duration=time.monotonic() - started,
        )
    )
    return outcome


async def _run_in_sandbox(job: _Run, work_dir: Path) -> JobOutcome:
    plan, runner, log = job.plan, job.runner, job.log
    from github_runner.executors.base import ExecutorError, JobSpec

    if plan.container is not None or plan.services:
        what = "job containers (`container:`)" if plan.container is not None else "service containers (`services:`)"
        message = f"job {plan.job_key!r}: {what} are not supported yet"
        await log.annotate("error", f"{plan.pos}: {message}" if plan.pos else message)
        return JobOutcome(plan.job_id, "failure", error=message)
    workspace = runner.workspace or (work_dir / "workspace")
    temp = work_dir / "_temp"
    tool_cache = runner.tool_cache or (runner.work_root / "_tool")
    for d in (workspace, temp, tool_cache):
        d.mkdir(parents=True, exist_ok=True)
    spec = JobSpec(
        job_id=work_dir.name,  # unique on the host: cgroup and netns names derive from it
        work_dir=work_dir,
        workspace=workspace,
        temp=temp,
        tool_cache=tool_cache,
        labels={"github-runner.job": plan.job_id},
        network=job.network_hook,
    )
    try:
        sandbox = await job.executor.prepare(spec)
    except ExecutorError as exc:
        await log.annotate("error", f"executor: {exc}")
        return JobOutcome(plan.job_id, "failure", error=str(exc))
    async with sandbox:
        return await _run_steps(job, sandbox, spec)


async def _run_steps(job: _Run, sandbox: Any, spec: Any) -> JobOutcome:
    """`spec` is the executors.base.JobSpec: the host directories of this job."""
    plan, runner, log = job.plan, job.runner, job.log
    workspace, temp, tool_cache = spec.workspace, spec.temp, spec.tool_cache
    job_path = sandbox.to_job_path
    github = dict(plan.contexts.get("github") or {})
    github["workspace"] = job_path(workspace)
    github["job"] = plan.job_key
    event_file = temp / "_github_workflow" / "event.json"
    event_file.parent.mkdir(parents=True, exist_ok=True)
    import json

    event_file.write_text(json.dumps(github.get("event") or {}), encoding="utf-8")
    github["event_path"] = job_path(event_file)
    runner_ctx = runner_context(
        runner, temp=job_path(temp), tool_cache=job_path(tool_cache), debug=plan.debug
    )
    base_env = runner_env(github, runner_ctx)
    base_env.update(runner.extra_env)
    state = JobState(
        plan=plan,
        runner=runner,
        sandbox=sandbox,
        log=log,
        masker=job.masker,
        reporter=job.reporter,
        workspace=workspace,
        temp=temp,
        tool_cache=tool_cache,
        github=github,
        runner_ctx=runner_ctx,
        base_env=base_env,
        cancel=job.cancel or asyncio.Event(),
        grace_seconds=job.grace_seconds,
    )
    from github_runner.engine.commands.processor import JobCommandState

    state.command_state = JobCommandState()
    scope = Scope()
    from github_runner.engine.steps import eval_context, run_step

    try:
        for layer in plan.env:
            ctx = eval_context(state, scope, dict(state.job_env))
            state.job_env.update(templates.evaluate_mapping(layer, ctx, "env"))
    except templates.TemplateError as exc:
        await log.annotate("error", f"job {plan.job_key!r} {exc}")
        return JobOutcome(plan.job_id, "failure", error=str(exc))

    timeout = plan.timeout_minutes * 60 if plan.timeout_minutes else None
    timed_out = False

    async def steps() -> None:
        for step in plan.steps:
            state.outcomes.append(await run_step(state, scope, step))

    task = asyncio.ensure_future(steps())
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
    except TimeoutError:
        timed_out = True
        await log.annotate(
            "error", f"The job has exceeded the maximum execution time of {go_duration(timeout or 0)}"
        )
        state.cancel.set()
        await task
    except asyncio.CancelledError:
        state.cancel.set()
        await task
        raise
    if state.cancelled or timed_out:
        result = "cancelled"  # GitHub concludes a timed-out job as cancelled too
    elif state.status == "failure":
        result = "failure"
    else:
        result = "success" if state.status == "success" else state.status
    outputs = await _job_outputs(state, scope)
    return JobOutcome(
        plan.job_id,
        result,  # type: ignore[arg-type]
        outputs=outputs,
        steps=list(state.outcomes),
    )


async def _job_outputs(state: JobState, scope: Scope) -> dict[str, str]:
    """`jobs.<id>.outputs`, evaluated after the last step; secret-bearing values are dropped."""
    from github_runner.engine.steps import eval_context

    outputs: dict[str, str] = {}
    ctx = eval_context(state, scope, dict(state.job_env) | state.env)
    for key, value in state.plan.outputs.items():
        try:
            text = templates.evaluate_string(value, ctx, f"outputs.{key}")
        except templates.TemplateError as exc:
            await state.log.annotate("error", f"job {state.plan.job_key!r} {exc}")
            continue
        if text and state.masker.contains_secret(text):
            await state.log.annotate(
                "warning", f"Skip output '{key}' since it may contain secret."
            )
            continue
        outputs[key] = text
    return outputs
