"""Job message (AgentJobRequestMessage) -> the engine's JobPlan.

TemplateTokens become template values (an expression token becomes the string `${{ expr }}`),
PipelineContextData becomes plain JSON-like values, `isSecret` variables become the plan's
secrets (so the engine registers them with the Masker before anything runs), `mask[]` hints are
returned for the Masker too. Anything unusable raises `MessageFormatError` naming the field.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from github_runner.engine.plan import ContainerPlan, DefaultsRun, JobPlan, StepPlan
from github_runner.engine.workflow.errors import Pos
from github_runner.github.models import as_bool, as_str, ci_get


class MessageFormatError(ValueError):
    """The job message is not what GitHub sends; the text names the offending field."""


def token_value(tok: Any, where: str = "token") -> Any:
    """TemplateToken JSON -> template value."""
    if tok is None or isinstance(tok, (str, bool, int, float)):
        return tok
    if isinstance(tok, list):
        raise MessageFormatError(f"{where}: a bare list is not a TemplateToken")
    if not isinstance(tok, dict):
        raise MessageFormatError(f"{where}: unexpected {type(tok).__name__}")
    t = ci_get(tok, "type")
    if t is None:
        return as_str(ci_get(tok, "lit"), "")
    t = int(t)
    if t == 0:
        return as_str(ci_get(tok, "lit"), "")
    if t == 1:
        return [token_value(x, f"{where}[{i}]") for i, x in enumerate(ci_get(tok, "seq") or [])]
    if t == 2:
        out: dict[str, Any] = {}
        for i, pair in enumerate(ci_get(tok, "map") or []):
            if not isinstance(pair, dict):
                raise MessageFormatError(f"{where}.map[{i}]: not a Key/Value pair")
            key = token_value(ci_get(pair, "Key"), f"{where}.map[{i}].Key")
            out[str(key)] = token_value(ci_get(pair, "Value"), f"{where}.{key}")
        return out
    if t == 3:
        return "${{ " + as_str(ci_get(tok, "expr")) + " }}"
    if t == 4:
        return "${{ " + as_str(ci_get(tok, "directive")) + " }}"
    if t == 5:
        return bool(ci_get(tok, "bool"))
    if t == 6:
        return ci_get(tok, "num")
    if t == 7:
        return None
    raise MessageFormatError(f"{where}: unknown TemplateToken type {t}")


def context_value(v: Any, where: str = "contextData") -> Any:
    """PipelineContextData JSON -> plain value."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if not isinstance(v, dict):
        raise MessageFormatError(f"{where}: unexpected {type(v).__name__}")
    t = ci_get(v, "t")
    if t is None:
        return as_str(ci_get(v, "s"), "")
    t = int(t)
    if t == 0:
        return as_str(ci_get(v, "s"), "")
    if t == 1:
        return [context_value(x, f"{where}[{i}]") for i, x in enumerate(ci_get(v, "a") or [])]
    if t in (2, 5):
        return {str(ci_get(p, "k")): context_value(ci_get(p, "v"), f"{where}.{ci_get(p, 'k')}")
                for p in ci_get(v, "d") or []}
    if t == 3:
        return bool(ci_get(v, "b"))
    if t == 4:
        n = ci_get(v, "n")
        return int(n) if isinstance(n, float) and n.is_integer() else n
    raise MessageFormatError(f"{where}: unknown PipelineContextData type {t}")


class Converted(Struct):
    plan: JobPlan
    mask_values: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


def _pos(tok: Any, files: list[str]) -> Pos | None:
    if not isinstance(tok, dict) or ci_get(tok, "line") is None:
        return None
    idx = int(ci_get(tok, "file") or 0)
    fname = files[idx - 1] if 0 < idx <= len(files) else (files[0] if files else "workflow")
    return Pos(fname, int(ci_get(tok, "line")), int(ci_get(tok, "col") or 0))


def _step(raw: Any, i: int, files: list[str]) -> StepPlan:
    where = f"steps[{i}]"
    if not isinstance(raw, dict):
        raise MessageFormatError(f"{where}: not an object")
    ref = ci_get(raw, "reference")
    if not isinstance(ref, dict):
        raise MessageFormatError(f"{where}.reference: missing")
    rtype = str(ci_get(ref, "type")).lower()
    inputs_tok = ci_get(raw, "inputs")
    inputs = token_value(inputs_tok, f"{where}.inputs") if inputs_tok is not None else {}
    context_name = as_str(ci_get(raw, "contextName") or ci_get(raw, "name"))
    record_id = as_str(ci_get(raw, "id"))
    if not context_name or not record_id:
        raise MessageFormatError(f"{where}: missing id or contextName")
    display = ci_get(raw, "displayNameToken")
    step = StepPlan(
        id=context_name,
        name=token_value(display, f"{where}.displayNameToken") if display is not None else None,
        env=token_value(ci_get(raw, "environment"), f"{where}.environment") or {},
        condition=as_str(ci_get(raw, "condition"), "success()") or "success()",
        continue_on_error=token_value(ci_get(raw, "continueOnError"), f"{where}.continueOnError") or False,
        timeout_minutes=token_value(ci_get(raw, "timeoutInMinutes"), f"{where}.timeoutInMinutes"),
        pos=_pos(inputs_tok, files),
        record_id=record_id,
        generated_id=context_name.startswith("__"),
    )
    if rtype in ("script", "3"):
        if not isinstance(inputs, dict) or "script" not in inputs:
            raise MessageFormatError(f"{where}.inputs: a script step needs `script`")
        step.run = inputs["script"]
        step.shell = inputs.get("shell")
        step.working_directory = inputs.get("workingDirectory")
    elif rtype in ("repository", "1"):
        rtype_repo = as_str(ci_get(ref, "repositoryType"), "GitHub")
        path = as_str(ci_get(ref, "path")).strip("/")
        if rtype_repo.lower() == "self":
            step.uses = "./" + path if path else "./"
        else:
            name = as_str(ci_get(ref, "name"))
            if not name:
                raise MessageFormatError(f"{where}.reference.name: missing")
            step.uses = f"{name}{'/' + path if path else ''}@{as_str(ci_get(ref, 'ref'))}"
        step.with_ = inputs if inputs is not None else {}
    elif rtype in ("containerregistry", "2"):
        image = as_str(ci_get(ref, "image"))
        step.uses = image if image.startswith("docker://") else "docker://" + image
        step.with_ = inputs if inputs is not None else {}
    else:
        raise MessageFormatError(f"{where}.reference.type: unknown {rtype!r}")
    return step


def _container(tok: Any, where: str) -> ContainerPlan | None:
    val = token_value(tok, where)
    if val is None or val == "":
        return None
    if isinstance(val, dict):
        return ContainerPlan(image=val.get("image"), raw=val)
    return ContainerPlan(image=val, raw=val)


def convert(msg: dict[str, Any]) -> Converted:
    if not isinstance(msg, dict):
        raise MessageFormatError("job message: not an object")
    files = [str(f) for f in ci_get(msg, "fileTable") or []]
    raw_steps = ci_get(msg, "steps")
    if not isinstance(raw_steps, list):
        raise MessageFormatError("steps: missing")
    steps = [_step(s, i, files) for i, s in enumerate(raw_steps)]

    variables: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for name, v in (ci_get(msg, "variables") or {}).items():
        value = as_str(ci_get(v, "value") if isinstance(v, dict) else v)
        variables[name] = value
        if isinstance(v, dict) and as_bool(ci_get(v, "isSecret")):
            if name.lower() == "github_token":
                secrets["GITHUB_TOKEN"] = value
            elif not name.lower().startswith("system."):
                secrets[name] = value
    mask_values = [as_str(ci_get(m, "value")) for m in ci_get(msg, "mask") or []
                   if isinstance(m, dict) and ci_get(m, "value")]
    mask_values += [v for v in secrets.values() if v]
    mask_values.append(variables.get("system.github.token", ""))

    contexts: dict[str, Any] = {}
    for name, v in (ci_get(msg, "contextData") or {}).items():
        if name.lower() == "secrets":
            for k, sv in (context_value(v, "contextData.secrets") or {}).items():
                secrets.setdefault(k, as_str(sv))
            continue
        contexts[name] = context_value(v, f"contextData.{name}")
    github = contexts.setdefault("github", {})
    if isinstance(github, dict) and variables.get("system.github.token"):
        github.setdefault("token", variables["system.github.token"])

    defaults = DefaultsRun()
    for i, d in enumerate(ci_get(msg, "defaults") or []):
        val = token_value(d, f"defaults[{i}]") or {}
        run = val.get("run") if isinstance(val, dict) else None
        if isinstance(run, dict):
            defaults.shell = run.get("shell", defaults.shell)
            defaults.working_directory = run.get("working-directory", defaults.working_directory)

    outputs_tok = ci_get(msg, "jobOutputs")
    outputs = token_value(outputs_tok, "jobOutputs") if outputs_tok is not None else {}
    if not isinstance(outputs, dict):
        raise MessageFormatError("jobOutputs: not a mapping")
    services_val = ci_get(msg, "jobServiceContainers")
    services: dict[str, ContainerPlan] = {}
    if services_val is not None:
        sv = token_value(services_val, "jobServiceContainers") or {}
        for name, spec in (sv.items() if isinstance(sv, dict) else []):
            services[name] = ContainerPlan(image=spec.get("image") if isinstance(spec, dict) else spec,
                                           raw=spec, name=name)
    display = as_str(ci_get(msg, "jobDisplayName"), "job")
    job_key = variables.get("system.github.job") or (
        github.get("job") if isinstance(github, dict) else None) or display
    plan = JobPlan(
        job_id=display, job_key=str(job_key), name=display, steps=steps, contexts=contexts,
        secrets=secrets,
        env=[token_value(t, f"environmentVariables[{i}]")
             for i, t in enumerate(ci_get(msg, "environmentVariables") or [])],
        defaults_run=defaults, outputs=outputs,
        container=_container(ci_get(msg, "jobContainer"), "jobContainer"), services=services,
        workflow_file=variables.get("system.workflowFileFullPath") or (files[0] if files else ""),
        workflow_name=str(github.get("workflow", "")) if isinstance(github, dict) else "",
        debug=as_bool(variables.get("ACTIONS_STEP_DEBUG")) or as_bool(variables.get("system.debug")),
    )
    return Converted(plan, [m for m in mask_values if m], variables)
