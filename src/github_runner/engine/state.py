"""Mutable state of one running job, and the scopes composite actions nest inside it.

Kept apart from the runners so that `steps.py`, `actions/composite.py` and `job.py` share one
definition of "what the job knows so far" (env set by GITHUB_ENV, PATH additions, step results,
job status) without importing each other.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from github_runner.engine.output import JobLog
from github_runner.engine.plan import JobPlan, RunnerInfo


class Scope(Struct):
    """Where steps run: the job itself, or a composite action (its own `steps`, `inputs`...)."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # the `steps` context
    inputs: dict[str, Any] | None = None  # composite: the action's `inputs` context
    env: dict[str, str] = field(default_factory=dict)  # composite: the calling step's env
    action_path: str = ""  # composite: GITHUB_ACTION_PATH
    action_status: str | None = None  # composite: status for success()/failure() inside it
    parent: Scope | None = None
    action_repository: str = ""
    action_ref: str = ""
    depth: int = 0
    owner: str | None = None  # composite: the job-level step whose log and timeline record this is

    def log_id(self, step_id: str) -> str:
        """The step id log lines and annotations are attributed to (the top-level step)."""
        return self.owner or step_id


class JobState(Struct):
    plan: JobPlan
    runner: RunnerInfo
    sandbox: Any  # executors.base.JobSandbox
    log: JobLog
    masker: Any
    reporter: Any
    workspace: Path
    temp: Path
    tool_cache: Path
    github: dict[str, Any]
    runner_ctx: dict[str, Any]
    base_env: dict[str, str]  # CI, GITHUB_*, RUNNER_* (host paths already mapped to job paths)
    job_env: dict[str, str] = field(default_factory=dict)  # workflow env, then job env, evaluated
    env: dict[str, str] = field(default_factory=dict)  # set through GITHUB_ENV
    path: list[str] = field(default_factory=list)  # GITHUB_PATH additions, newest last
    command_state: Any = None  # commands.processor.JobCommandState, shared by the job's steps
    status: str = "success"  # job status for success()/failure()/cancelled()
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    step_counter: int = 0
    action: str = ""  # the running step's id: github.action and GITHUB_ACTION
    outcomes: list[Any] = field(default_factory=list)  # StepOutcome of each top-level step
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # save-state per action step
    grace_seconds: float = 7.5  # SIGINT -> SIGKILL on cancel or timeout
    echo_commands: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()
