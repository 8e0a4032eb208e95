"""Workflow model -> JobPlan, for `exec` (the worker builds JobPlans from job messages instead).

Only the parts that need no run-time state are converted here: steps, env layers, defaults,
outputs. The `needs`/`matrix`/`strategy` contexts and the evaluated name are filled in by
`engine/run.py` when the job is about to start.
"""

from __future__ import annotations

from typing import Any

from github_runner.engine.plan import ContainerPlan, DefaultsRun, JobPlan, StepPlan
from github_runner.engine.workflow import Job, Step, Workflow


def step_plan(step: Step) -> StepPlan:
    return StepPlan(
        id=step.context_id,
        name=step.name,
        run=step.run,
        uses=step.uses,
        shell=step.shell,
        working_directory=step.working_directory,
        with_=step.with_ if step.with_ is not None else {},
        env=step.env if step.env is not None else {},
        condition=step.condition,
        continue_on_error=step.continue_on_error,
        timeout_minutes=step.timeout_minutes,
        pos=step.pos,
        generated_id=step.id is None,
    )


def _defaults_run(*layers: dict[str, Any]) -> DefaultsRun:
    out = DefaultsRun()
    for layer in layers:
        run = (layer or {}).get("run") or {}
        if isinstance(run, dict):
            if run.get("shell") is not None:
                out.shell = run["shell"]
            if run.get("working-directory") is not None:
                out.working_directory = run["working-directory"]
    return out


def _number(value: Any, default: float) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def job_plan(workflow: Workflow, job: Job, *, job_id: str, name: str) -> JobPlan:
    container = None
    if job.container not in (None, "", {}):
        image = job.container.get("image") if isinstance(job.container, dict) else job.container
        container = ContainerPlan(image=image, raw=job.container)
    services: dict[str, ContainerPlan] = {}
    if isinstance(job.services, dict):
        for key, svc in job.services.items():
            image = svc.get("image") if isinstance(svc, dict) else svc
            services[key] = ContainerPlan(image=image, raw=svc, name=key)
    return JobPlan(
        job_id=job_id,
        job_key=job.id,
        name=name,
        steps=[step_plan(s) for s in job.steps],
        env=[layer for layer in (workflow.env, job.env) if layer],
        defaults_run=_defaults_run(workflow.defaults, job.defaults),
        outputs=dict(job.outputs or {}),
        timeout_minutes=_number(job.timeout_minutes, 360.0),
        cancel_timeout_minutes=_number(job.cancel_timeout_minutes, 5.0),
        container=container,
        services=services,
        workflow_file=workflow.path,
        workflow_name=str(workflow.name) if workflow.name else workflow.path,
        pos=job.pos,
        egress=job.egress,
    )
