"""`uses:` steps: resolve the reference, then run the action by kind.

Supported today: local composite actions (`uses: ./path`) and `actions/checkout` of the
repository being run (exec only: the workspace already is that checkout). JavaScript and Docker
actions, `docker://` images and remote actions fail with a clear "not supported yet" error that
names the step.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from github_runner.engine.plan import StepPlan
from github_runner.engine.state import JobState, Scope


class ActionResult(Struct):
    outcome: str
    outputs: dict[str, str] = field(default_factory=dict)


async def run_action(
    state: JobState,
    scope: Scope,
    step: StepPlan,
    ctx: Any,
    step_env: dict[str, str],
    timeout_minutes: float | None,
) -> ActionResult:
    from github_runner.engine.actions.resolve import resolve

    action = resolve(state, step)
    if action.kind == "checkout":
        from github_runner.engine.actions.checkout import run_checkout

        return await run_checkout(state, step, ctx)
    from github_runner.engine.actions.composite import run_composite

    return await run_composite(state, scope, step, ctx, step_env, action, timeout_minutes)
