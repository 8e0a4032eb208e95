"""Composite actions: nested steps in a scope of their own.

Inside a composite: `inputs` are the action's inputs (caller's `with` over declared defaults),
`steps` only sees the action's own steps, `env` is the job's plus the calling step's `env:`
(which does not leak back to the caller), success()/failure() look at the action's status, and
`github.action_path`/GITHUB_ACTION_PATH point at the action's folder. The action's `outputs`
are evaluated in that scope once its steps have run.
"""

from __future__ import annotations

from typing import Any

from github_runner.engine import templates
from github_runner.engine.actions import ActionResult
from github_runner.engine.actions.resolve import Action
from github_runner.engine.expressions import to_string
from github_runner.engine.plan import StepPlan
from github_runner.engine.planner import step_plan
from github_runner.engine.state import JobState, Scope
from github_runner.engine.steps import StepError, eval_context, run_step

MAX_DEPTH = 10  # GitHub refuses composite actions nested deeper than this


async def run_composite(
    state: JobState,
    scope: Scope,
    step: StepPlan,
    ctx: Any,
    step_env: dict[str, str],
    action: Action,
    timeout_minutes: float | None,
) -> ActionResult:
    if scope.depth >= MAX_DEPTH:
        raise StepError(f"step {step.id!r}: composite actions nested more than {MAX_DEPTH} deep")
    manifest = action.manifest
    given = templates.evaluate(step.with_ or {}, ctx, "with")
    if not isinstance(given, dict):
        raise StepError(f"step {step.id!r}: `with` must be a mapping")
    declared: dict[str, Any] = dict(manifest.inputs or {})
    lowered = {k.lower(): k for k in declared}
    unexpected = [k for k in given if k.lower() not in lowered]
    if unexpected:
        await state.log.annotate(
            "warning",
            f"Unexpected input(s) '{', '.join(unexpected)}', valid inputs are "
            f"['{', '.join(declared)}']",
            step_id=scope.log_id(step.id),
        )
    inputs: dict[str, Any] = {}
    given_lower = {str(k).lower(): v for k, v in given.items()}
    for name, spec in declared.items():
        if name.lower() in given_lower:
            inputs[name] = to_string(given_lower[name.lower()])
        else:
            default = spec.get("default") if isinstance(spec, dict) else None
            inputs[name] = (
                templates.evaluate_string(default, ctx, f"inputs.{name}.default")
                if default is not None
                else ""
            )
    for k, v in given.items():
        if k.lower() not in lowered:
            inputs[k] = to_string(v)
    action_path = state.sandbox.to_job_path(action.directory)
    inner = Scope(
        inputs=inputs,
        env={**step_env, "GITHUB_ACTION_PATH": action_path},
        action_path=action_path,
        action_status="success",
        parent=scope,
        depth=scope.depth + 1,
        owner=scope.log_id(step.id),
    )
    nested = [step_plan(s) for s in manifest.steps]
    for i, s in enumerate(nested):
        if s.generated_id:
            s.id = f"__composite_{i}" if not s.id else s.id
    for s in nested:
        await run_step(state, inner, s)  # after a cancel only always()/cancelled() steps run
    out_ctx = eval_context(state, inner, _env_for(state, inner))
    outputs: dict[str, str] = {}
    for name, spec in (manifest.outputs or {}).items():
        value = spec.get("value") if isinstance(spec, dict) else spec
        if value is None:
            continue
        try:
            outputs[name] = templates.evaluate_string(value, out_ctx, f"outputs.{name}")
        except templates.TemplateError as exc:
            await state.log.annotate("error", f"step {step.id!r}: {exc}", step_id=scope.log_id(step.id))
            return ActionResult("failure", outputs)
    if state.cancelled:
        return ActionResult("cancelled", outputs)
    return ActionResult(inner.action_status or "success", outputs)


def _env_for(state: JobState, scope: Scope) -> dict[str, str]:
    from github_runner.engine.steps import context_env

    return context_env(state, scope)
