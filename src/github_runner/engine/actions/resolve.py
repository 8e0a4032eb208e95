"""What a `uses:` names, and whether this engine can run it yet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from msgspec import Struct

from github_runner.engine.plan import StepPlan
from github_runner.engine.state import JobState
from github_runner.engine.steps import StepError

_REMOTE = re.compile(r"^(?P<owner>[^/@\s]+)/(?P<repo>[^/@\s]+)(?P<path>/[^@\s]*)?@(?P<ref>\S+)$")


class Action(Struct):
    kind: str  # "composite" | "checkout"
    directory: Path | None = None
    manifest: Any = None
    reference: str = ""


def _unsupported(step: StepPlan, what: str) -> StepError:
    return StepError(f"step {step.id!r} (uses: {step.uses}): {what} are not supported yet")


def resolve(state: JobState, step: StepPlan) -> Action:
    uses = (step.uses or "").strip()
    if uses.startswith("docker://"):
        raise _unsupported(step, "Docker container actions (`docker://`)")
    if uses.startswith("./") or uses == ".":
        return _local(state, step, uses)
    match = _REMOTE.match(uses)
    if not match:
        raise StepError(
            f"step {step.id!r}: invalid `uses: {uses}`: expected {{org}}/{{repo}}[/path]@ref, "
            "./path or docker://image"
        )
    if (
        match["owner"].lower() == "actions"
        and match["repo"].lower() == "checkout"
        and not match["path"]
        and state.runner.workspace is not None
    ):
        return Action(kind="checkout", reference=uses)
    raise _unsupported(step, "remote actions (downloaded from GitHub)")


def _local(state: JobState, step: StepPlan, uses: str) -> Action:
    from github_runner.engine.workflow import WorkflowError, load_action

    directory = (state.workspace / uses).resolve()
    if not any((directory / n).is_file() for n in ("action.yml", "action.yaml", "Dockerfile")):
        raise StepError(
            f"step {step.id!r}: Can't find 'action.yml', 'action.yaml' or 'Dockerfile' under "
            f"'{directory}'. Did you forget to run actions/checkout before running your local action?"
        )
    if not any((directory / n).is_file() for n in ("action.yml", "action.yaml")):
        raise _unsupported(step, "Dockerfile actions")
    try:
        manifest = load_action(directory)
    except WorkflowError as exc:
        raise StepError(f"step {step.id!r}: {exc.errors[0] if exc.errors else exc}") from None
    using = str(manifest.using or "").lower()
    if using == "composite":
        return Action(kind="composite", directory=directory, manifest=manifest, reference=uses)
    if using.startswith("node"):
        raise _unsupported(step, f"JavaScript actions (`using: {manifest.using}`)")
    if using == "docker":
        raise _unsupported(step, "Docker actions (`using: docker`)")
    raise StepError(f"step {step.id!r}: action {uses!r} has unknown `runs.using: {manifest.using}`")
