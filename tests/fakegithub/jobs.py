"""Build job messages (AgentJobRequestMessage) the way GitHub does, from a small test spec.

Templates are encoded as TemplateTokens (`${{ x }}` -> type 3, `a ${{ x }} b` ->
`format('a {0} b', x)`), contexts as PipelineContextData (`t` objects), secrets as
`isSecret` variables plus mask hints (runner-protocol.md §6).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def token(value: Any) -> Any:
    """Python value -> TemplateToken JSON."""
    if isinstance(value, str):
        parts = _EXPR.split(value)
        if len(parts) == 1:
            return value
        if len(parts) == 3 and parts[0] == "" and parts[2] == "":
            return {"type": 3, "expr": parts[1].strip()}
        fmt, args = "", []
        for i, p in enumerate(parts):
            if i % 2 == 0:
                fmt += p.replace("{", "{{").replace("}", "}}").replace("'", "''")
            else:
                fmt += "{%d}" % len(args)
                args.append(p.strip())
        return {"type": 3, "expr": f"format('{fmt}', {', '.join(args)})"}
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return {"type": 1, "seq": [token(v) for v in value]}
    if isinstance(value, dict):
        return {"type": 2, "map": [{"Key": k, "Value": token(v)} for k, v in value.items()]}
    raise TypeError(type(value))


def ctx(value: Any) -> Any:
    """Python value -> PipelineContextData JSON."""
    if isinstance(value, dict):
        return {"t": 2, "d": [{"k": k, "v": ctx(v)} for k, v in value.items()]}
    if isinstance(value, list):
        return {"t": 1, "a": [ctx(v) for v in value]}
    return value


@dataclass
class Step:
    run: str | None = None
    uses: str | None = None
    id: str | None = None
    name: str | None = None
    if_: str = "success()"
    env: dict[str, Any] = field(default_factory=dict)
    with_: dict[str, Any] = field(default_factory=dict)
    continue_on_error: bool = False
    shell: str | None = None
    timeout_minutes: float | None = None
    record_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class JobDef:
    steps: list[Step]
    name: str = "build"
    runs_on: list[str] = field(default_factory=lambda: ["self-hosted"])
    env: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    needs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    defaults_shell: str | None = "bash"
    container: str | None = None
    repository: str = "octo/repo"
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    plan_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def build_message(job: JobDef, *, v2: bool, system_url: str, results_url: str, job_token: str,
                  request_id: int, github_token: str, feed_url: str = "") -> dict[str, Any]:
    steps = []
    n_run = 0
    for s in job.steps:
        if s.run is not None:
            n_run += 1
            context_name = s.id or ("__run" if n_run == 1 else f"__run_{n_run}")
            inputs = {"script": s.run}
            if s.shell:
                inputs["shell"] = s.shell
            ref: dict[str, Any] = {"type": "script"}
        else:
            assert s.uses is not None
            context_name = s.id or "__" + re.sub(r"[^A-Za-z0-9]", "_", s.uses.split("@")[0])
            inputs = dict(s.with_)
            if s.uses.startswith("docker://"):
                ref = {"type": "containerRegistry", "image": s.uses}
            elif s.uses.startswith("./"):
                ref = {"type": "repository", "repositoryType": "self", "path": s.uses[2:]}
            else:
                name, _, version = s.uses.partition("@")
                ref = {"type": "repository", "name": name, "ref": version,
                       "repositoryType": "GitHub", "path": ""}
        step: dict[str, Any] = {
            "type": "action", "id": s.record_id, "name": context_name, "contextName": context_name,
            "condition": s.if_, "reference": ref, "inputs": token(inputs),
            "continueOnError": token(s.continue_on_error) if s.continue_on_error else None,
            "timeoutInMinutes": token(s.timeout_minutes) if s.timeout_minutes else None,
            "environment": token(s.env) if s.env else None, "enabled": True,
        }
        if s.name:
            step["displayNameToken"] = token(s.name)
        steps.append(step)
    variables: dict[str, Any] = {
        "system.github.token": {"value": github_token, "isSecret": True},
        "github_token": {"value": github_token, "isSecret": True},
        "system.github.job": {"value": job.name},
        "system.orchestrationId": {"value": f"{job.plan_id}.{job.name}.__default"},
        "system.phaseDisplayName": {"value": job.name},
    }
    if v2:
        variables["system.github.results_endpoint"] = {"value": results_url}
        variables["system.from_run_service"] = {"value": "true"}
    for k, v in job.secrets.items():
        variables[k] = {"value": v, "isSecret": True}
    github = {
        "repository": job.repository, "repository_owner": job.repository.split("/")[0],
        "sha": "0f3c5e1b2d4a69788c1e0b7a5d3f2e1c0b9a8d7e", "ref": "refs/heads/main",
        "run_id": "29063339943", "run_number": "7", "run_attempt": "1", "event_name": "push",
        "event": {"ref": "refs/heads/main"}, "job": job.name, "workflow": "CI",
        "server_url": "https://github.com", "api_url": "https://api.github.com",
        "actor": "octocat", "token": github_token,
    }
    data_ctx: dict[str, Any] = {
        "github": ctx(github), "needs": ctx(job.needs), "vars": ctx(job.vars),
        "strategy": ctx({"fail-fast": True, "job-index": 0, "job-total": 1, "max-parallel": 1}),
        "matrix": None, "inputs": None,
    }
    msg: dict[str, Any] = {
        "messageType": "RunnerJobRequest" if v2 else "PipelineAgentJobRequest",
        "plan": {"scopeIdentifier": "00000000-0000-0000-0000-000000000000" if v2 else str(uuid.uuid4()),
                 "planType": "actions", "version": 0 if v2 else 12, "planId": job.plan_id,
                 "artifactUri": "", "artifactLocation": ""},
        "timeline": {"id": job.plan_id if v2 else str(uuid.uuid4()), "changeId": 0, "location": None},
        "jobId": job.job_id, "jobDisplayName": job.name, "jobName": "__default",
        "requestId": 0 if v2 else request_id,
        "lockedUntil": "0001-01-01T00:00:00",
        "resources": {"endpoints": [{
            "name": "SystemVssConnection", "url": system_url,
            "authorization": {"scheme": "OAuth", "parameters": {"AccessToken": job_token}},
            "data": {"ResultsServiceUrl": results_url} | (
                {"FeedStreamUrl": feed_url} if feed_url else {}),
            "isShared": False, "isReady": True}]},
        "contextData": data_ctx,
        "variables": variables,
        "mask": [{"type": "regex", "value": github_token}],
        "environmentVariables": [token(job.env)] if job.env else [],
        "defaults": ([token({"run": {"shell": job.defaults_shell}})] if job.defaults_shell else []),
        "jobContainer": token(job.container) if job.container else None,
        "jobServiceContainers": None,
        "jobOutputs": token(job.outputs) if job.outputs else None,
        "actionsEnvironment": None, "workspace": {}, "fileTable": [".github/workflows/ci.yml"],
        "steps": steps, "billingOwnerId": "O_kgDOEbddog",
    }
    return msg
