"""`actions/checkout` in local mode: the workspace already is the checkout being run.

Only the current repository can be "checked out" this way; asking for another repository or
ref needs the network and fails with a clear message instead of silently using the wrong tree.
"""

from __future__ import annotations

from typing import Any

from github_runner.engine import templates
from github_runner.engine.actions import ActionResult
from github_runner.engine.plan import StepPlan
from github_runner.engine.state import JobState
from github_runner.engine.steps import StepError


async def run_checkout(state: JobState, step: StepPlan, ctx: Any) -> ActionResult:
    inputs = templates.evaluate(step.with_ or {}, ctx, "with")
    inputs = inputs if isinstance(inputs, dict) else {}
    repository = str(inputs.get("repository") or "").strip()
    if repository and repository.lower() != str(state.github.get("repository", "")).lower():
        raise StepError(
            f"step {step.id!r}: checking out another repository ({repository}) needs the network, "
            "which exec does not use"
        )
    await state.log.line(
        f"Using the local working copy {state.workspace} as the checkout", step_id=step.id,
    )
    return ActionResult("success")
