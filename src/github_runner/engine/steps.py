"""Running one step: `if`, env, the script through the sandbox, commands, outcome/conclusion.

The order of a step follows the runner: evaluate `if` (against the job or composite status),
evaluate `env` (workflow -> job -> GITHUB_ENV -> composite caller -> step), write the script
to `RUNNER_TEMP`, create the file-command files, run, stream output through the command
processor and Masker, then apply GITHUB_ENV/PATH/OUTPUT/STATE/STEP_SUMMARY.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from github_runner.engine import templates
from github_runner.engine.events import StepFinished, StepStarted
from github_runner.engine.expressions import EvalContext, ExpressionError, evaluate_condition
from github_runner.engine.plan import StepOutcome, StepPlan
from github_runner.engine.state import JobState, Scope
from github_runner.executors.base import ExecutorError


class StepError(Exception):
    """The step cannot run (bad value, unsupported action...); it fails with this message."""


def eval_context(state: JobState, scope: Scope, env: dict[str, str]) -> EvalContext:
    contexts: dict[str, Any] = dict(state.plan.contexts)
    github = {**state.github, "action": state.action}
    if scope.action_path:
        github["action_path"] = scope.action_path
    contexts.update(
        {
            "github": github,
            "env": env,
            "steps": scope.steps,
            "runner": state.runner_ctx,
            "secrets": state.plan.secrets,
            "job": {
                "status": "cancelled" if state.cancelled else state.status,
                "container": {},
                "services": {},
            },
        }
    )
    contexts.setdefault("vars", {})
    contexts.setdefault("needs", {})
    contexts.setdefault("matrix", {})
    contexts.setdefault("strategy", {})
    contexts.setdefault("inputs", {})
    if scope.inputs is not None:
        contexts["inputs"] = scope.inputs
    return EvalContext(
        contexts=contexts,
        job_status="cancelled" if state.cancelled else state.status,
        action_status=scope.action_status,
        composite=scope.action_status is not None,
        workspace=state.workspace,
    )


def context_env(state: JobState, scope: Scope) -> dict[str, str]:
    """The `env` context a step's own `env:` is evaluated against."""
    env = dict(state.job_env)
    env.update(state.env)
    s: Scope | None = scope
    chain: list[Scope] = []
    while s is not None:
        chain.append(s)
        s = s.parent
    for item in reversed(chain):
        env.update(item.env)
    return env


def display_name(step: StepPlan, ctx: EvalContext | None) -> str:
    if step.name is not None:
        if ctx is not None:
            try:
                return templates.evaluate_string(step.name, ctx, "name")
            except templates.TemplateError:
                pass
        return str(step.name)
    if step.uses is not None:
        return f"Run {step.uses}"
    first = str(step.run or "").strip().splitlines()
    return f"Run {first[0]}" if first else "Run"


def _should_run(state: JobState, scope: Scope, step: StepPlan, ctx: EvalContext) -> bool:
    if state.cancelled:
        # After cancellation only steps whose condition mentions always()/cancelled() run.
        lowered = step.condition.lower()
        if "always(" not in lowered and "cancelled(" not in lowered:
            return False
    try:
        return bool(evaluate_condition(step.condition, ctx))
    except ExpressionError as exc:
        where = f"{step.pos}: " if step.pos else ""
        raise StepError(f"{where}step {step.id!r} if: {exc}") from None


async def run_step(state: JobState, scope: Scope, step: StepPlan) -> StepOutcome:
    """Run (or skip) one step, record it in `scope.steps`, update the job or action status."""
    nested = scope.owner is not None
    if not nested:
        state.step_counter += 1
    number = state.step_counter
    state.action = step.id
    log_id = scope.log_id(step.id)
    env_ctx = context_env(state, scope)
    ctx = eval_context(state, scope, env_ctx)
    name = state.masker.mask(display_name(step, ctx))
    started = time.monotonic()
    outputs: dict[str, str] = {}
    try:
        run_it = _should_run(state, scope, step, ctx)
    except StepError as exc:
        if not nested:
            await state.reporter.emit(StepStarted(state.plan.job_id, step.id, name, number=number))
        await state.log.annotate("error", str(exc), step_id=log_id)
        return await _finish(state, scope, step, name, "failure", False, started, {})
    if not run_it:
        if not nested:
            await state.reporter.emit(StepStarted(state.plan.job_id, step.id, name, number=number))
        await state.log.line(f"Skipping step {name!r}: condition {step.condition!r} is false",
                             step_id=log_id)
        scope.steps[step.id] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
        if not nested:
            await state.reporter.emit(
                StepFinished(state.plan.job_id, step.id, name, "skipped", "skipped", duration=0.0)
            )
        return StepOutcome(step.id, "skipped", "skipped")
    if nested:  # a composite's step: a section of its caller's log, not a step of its own
        if step.uses is not None:  # `run:` steps get the script header from run_script
            await state.log.line(name, step_id=log_id, kind="group")
            await state.log.line("", step_id=log_id, kind="endgroup")
    else:
        await state.reporter.emit(StepStarted(state.plan.job_id, step.id, name, number=number))
    continue_on_error = False
    outcome: str
    try:
        continue_on_error = templates.evaluate_bool(step.continue_on_error, ctx, "continue-on-error")
        step_env = templates.evaluate_mapping(step.env, ctx, "env")
        env_ctx.update(step_env)
        ctx = eval_context(state, scope, env_ctx)
        timeout = templates.evaluate_number(step.timeout_minutes, ctx, "timeout-minutes")
        if step.uses is not None:
            from github_runner.engine.actions import run_action

            result = await run_action(state, scope, step, ctx, step_env, timeout)
            outputs = result.outputs
            outcome = result.outcome
        else:
            outcome, outputs = await run_script(state, scope, step, ctx, env_ctx, timeout)
    except (StepError, templates.TemplateError) as exc:
        where = f"{step.pos}: " if step.pos else ""
        await state.log.annotate("error", f"{where}{exc}", step_id=log_id)
        outcome = "failure"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug must fail this step visibly, not take the whole run down
        import traceback

        await state.log.annotate(
            "error", f"internal error in step {step.id!r}: {type(exc).__name__}: {exc}", step_id=log_id
        )
        if state.plan.debug:
            await state.log.line(traceback.format_exc(), step_id=log_id, kind="debug")
        outcome = "failure"
    return await _finish(state, scope, step, name, outcome, continue_on_error, started, outputs)


async def _finish(
    state: JobState,
    scope: Scope,
    step: StepPlan,
    name: str,
    outcome: str,
    continue_on_error: bool,
    started: float,
    outputs: dict[str, str],
) -> StepOutcome:
    conclusion = "success" if outcome == "failure" and continue_on_error else outcome
    scope.steps[step.id] = {"outputs": outputs, "outcome": outcome, "conclusion": conclusion}
    if conclusion == "failure":
        if scope.action_status is not None:
            scope.action_status = "failure"
        else:
            state.status = "failure"
    elif conclusion == "cancelled" and scope.action_status is None:
        state.status = "cancelled" if state.status == "success" else state.status
    if scope.owner is not None:
        return StepOutcome(step.id, outcome, conclusion, dict(outputs))  # type: ignore[arg-type]
    await state.reporter.emit(
        StepFinished(
            state.plan.job_id,
            step.id,
            name,
            outcome,  # type: ignore[arg-type]
            conclusion,  # type: ignore[arg-type]
            outputs={k: state.masker.mask(v) for k, v in outputs.items()},
            duration=time.monotonic() - started,
        )
    )
    return StepOutcome(step.id, outcome, conclusion, dict(outputs))  # type: ignore[arg-type]


def process_env(state: JobState, scope: Scope, env_ctx: dict[str, str]) -> dict[str, str]:
    """The environment of a step's process: runner variables, then the evaluated env, then PATH.

    GitHub's default GITHUB_*/RUNNER_* variables cannot be overridden by `env:` or GITHUB_ENV
    (a workflow cannot make a step believe it runs for another repository or sha).
    """
    env = dict(state.base_env)
    env.update(env_ctx)
    for key, value in state.base_env.items():
        if value and key.startswith(("GITHUB_", "RUNNER_")):
            env[key] = value
    env["GITHUB_ACTION"] = state.action
    from github_runner.engine.commands.file_commands import build_path

    env["PATH"] = build_path(state.path, env.get("PATH") or _default_path(state))
    return env


SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _default_path(state: JobState) -> str:
    """The runner's own PATH on the host; the standard one inside an isolated environment,
    where the runner's directories (a virtualenv, ~/bin) are not there."""
    import os

    if getattr(state.sandbox, "name", "shell") == "shell":
        return os.environ.get("PATH", SYSTEM_PATH)
    return SYSTEM_PATH


async def run_script(
    state: JobState,
    scope: Scope,
    step: StepPlan,
    ctx: EvalContext,
    env_ctx: dict[str, str],
    timeout_minutes: float | None,
) -> tuple[str, dict[str, str]]:
    """A `run:` step. Returns (outcome, outputs)."""
    from github_runner.engine.shells import ShellError, resolve_shell

    script = templates.evaluate_string(step.run or "", ctx, "run")
    top = scope.parent is None
    shell_text = (
        templates.evaluate_string(step.shell, ctx, "shell") if step.shell is not None else None
    )
    wd_raw = step.working_directory
    if wd_raw is None and top:
        wd_raw = state.plan.defaults_run.working_directory
    cwd = state.workspace
    if wd_raw is not None:
        wd = templates.evaluate_string(wd_raw, ctx, "working-directory")
        cwd = (state.workspace / wd) if not wd.startswith("/") else Path(wd)
    env = process_env(state, scope, env_ctx)
    try:
        command = resolve_shell(
            shell_text,
            default_shell=state.plan.defaults_run.shell if top else None,
            path=env.get("PATH"),
        )
    except ShellError as exc:
        raise StepError(str(exc)) from None
    if not cwd.is_dir():
        raise StepError(
            f"An error occurred trying to start process '{command.program}' with working "
            f"directory '{state.sandbox.to_job_path(cwd)}'. No such file or directory"
        )
    if state.runner.step_headers:
        await _header(state, scope, step, script, command.describe(), env_ctx)
    script_path = command.write_script(state.temp, script)
    argv = command.argv(state.sandbox.to_job_path(script_path))
    from github_runner.engine.stepio import StepIO

    io = StepIO(state, scope, step, env_ctx)
    env.update(io.file_command_env())
    try:
        code = await execute(state, argv, env, state.sandbox.to_job_path(cwd), io, timeout_minutes)
    except ExecutorError as exc:
        io.files.remove()
        raise StepError(str(exc)) from None
    finally:
        script_path.unlink(missing_ok=True)
    outputs = await io.finish()
    if code == "cancelled":
        await state.log.annotate("error", "The operation was canceled.", step_id=scope.log_id(step.id))
        return "cancelled", outputs
    if code == "timeout":
        await state.log.annotate(
            "error", f"The action '{display_name(step, None)}' has timed out after "
            f"{timeout_minutes:g} minutes.", step_id=scope.log_id(step.id),
        )
        return "failure", outputs
    if io.failed:
        return "failure", outputs
    if code != 0:
        await state.log.annotate(
            "error", f"Process completed with exit code {code}.", step_id=scope.log_id(step.id)
        )
        return "failure", outputs
    return "success", outputs


async def _header(
    state: JobState, scope: Scope, step: StepPlan, script: str, shell: str, env: dict[str, str]
) -> None:
    """The runner's step header: a group with the script, the shell line and the env."""
    log_id = scope.log_id(step.id)
    lines = script.rstrip("\n").splitlines() or [""]
    await state.log.line(f"Run {lines[0]}", step_id=log_id, kind="group")
    for line in lines:
        await state.log.line(line, step_id=log_id, kind="info")
    await state.log.line(shell, step_id=log_id, kind="info")
    if env:
        await state.log.line("env:", step_id=log_id, kind="info")
        for key, value in env.items():
            await state.log.line(f"  {key}: {value}", step_id=log_id, kind="info")
    await state.log.line("", step_id=log_id, kind="endgroup")


async def execute(
    state: JobState,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    io: Any,
    timeout_minutes: float | None,
) -> int | str:
    """Run one process to its end; on cancel or timeout SIGINT, then SIGKILL after the grace.

    Returns the exit code, or "cancelled"/"timeout".
    """
    proc = await state.sandbox.run(argv, env=env, cwd=cwd)

    async def pump() -> None:
        async for chunk in proc.output():
            await io.write(chunk)
        await io.close()

    pump_task = asyncio.ensure_future(pump())
    wait_task = asyncio.ensure_future(proc.wait())
    timeout = timeout_minutes * 60 if timeout_minutes else None
    if state.cancel.is_set():
        # An always()/cancelled() step after the cancel: it runs to its end, bounded like the
        # runner bounds clean-up by cancel-timeout-minutes.
        cancel_task = asyncio.ensure_future(asyncio.Event().wait())
        limit = state.plan.cancel_timeout_minutes * 60
        timeout = min(timeout, limit) if timeout else limit
    else:
        cancel_task = asyncio.ensure_future(state.cancel.wait())
    reason: str | None = None
    try:
        done, _ = await asyncio.wait(
            {wait_task, cancel_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if wait_task not in done:
            reason = "cancelled" if cancel_task in done else "timeout"
            await _stop(proc, wait_task, state.grace_seconds)
        code = await wait_task
        await asyncio.wait_for(asyncio.shield(pump_task), timeout=5)
    except asyncio.CancelledError:
        await _stop(proc, wait_task, 0)
        raise
    except TimeoutError:
        code = wait_task.result() if wait_task.done() else -9
    finally:
        cancel_task.cancel()
        if not pump_task.done():
            pump_task.cancel()
    return reason if reason else code


async def _stop(proc: Any, wait_task: asyncio.Future[int], grace: float) -> None:
    if grace > 0:
        try:
            await proc.signal(signal.SIGINT)
            await asyncio.wait_for(asyncio.shield(wait_task), timeout=grace)
            return
        except (TimeoutError, ProcessLookupError):
            pass
    await proc.kill()
