"""Validated token tree -> typed model.

Runs only when the schema pass found nothing (as GitHub does: template errors first), and
applies GitHub's remaining rules on the way (`checks.py`, ids, `if:` written without `${{ }}`).
Values evaluated at run time are kept as written, with the position of each key's value.
"""

from __future__ import annotations

from typing import Any

from .checks import (
    JOB_CHECKS,
    check_call_input_defaults,
    check_concurrency,
    check_dispatch_inputs,
    check_matrix,
    check_needs,
    check_step_uses,
)
from .errors import ErrorList, Pos
from .exprcheck import check_expression
from .ids import IdScope, action_segment, invalid_id_message
from .model import Job, Step, Strategy, Workflow, condition_expression
from .schema import DefinitionInfo, Schema, split_context
from .tokens import (
    ExpressionToken,
    LiteralToken,
    MappingToken,
    SequenceToken,
    Token,
    string_value,
)


def _raw(token: Token | None) -> Any:
    return None if token is None else token.to_raw()


# Event filters that GitHub turns into lists when written as one string.
_LIST_FILTERS = frozenset(
    (
        "types",
        "branches",
        "branches-ignore",
        "tags",
        "tags-ignore",
        "paths",
        "paths-ignore",
        "names",
        "versions",
        "workflows",
    )
)


def _event_config(raw: Any) -> Any:
    """One event's configuration as GitHub normalizes it: `push:` is `{}`, a single filter
    string is a one-item list, and a dispatch input without `type` is a string input."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return raw  # schedule: a list of {cron: ...}
    config = {k: ([v] if k in _LIST_FILTERS and isinstance(v, str) else v) for k, v in raw.items()}
    inputs = config.get("inputs")
    if isinstance(inputs, dict):
        config["inputs"] = {
            name: (
                {"type": "string", **spec}
                if isinstance(spec, dict) and "type" not in spec
                else spec
            )
            for name, spec in inputs.items()
        }
    return config


def _positions(mapping: MappingToken) -> dict[str, Pos]:
    return {str(k): v.pos for k, v in mapping.pairs if isinstance(k, LiteralToken) and v.pos}


class Converter:
    def __init__(self, schema: Schema, errors: ErrorList) -> None:
        self.schema = schema
        self.errors = errors

    # -- workflow -----------------------------------------------------------------------------

    def workflow(self, path: str, root: MappingToken) -> Workflow:
        wf = Workflow(path=path, pos=root.pos, positions=_positions(root))
        for key, value in root.pairs:
            name = string_value(key)
            if name == "on":
                wf.on = self.events(value)
                check_dispatch_inputs(value, self.errors)
                check_call_input_defaults(value, self.errors)
            elif name == "name":
                wf.name = _raw(value)
            elif name == "run-name":
                wf.run_name = _raw(value)
            elif name == "description":
                wf.description = string_value(value)
            elif name == "env":
                wf.env = _raw(value)
            elif name == "defaults":
                wf.defaults = _raw(value) or {}
            elif name == "permissions":
                wf.permissions = _raw(value)
            elif name == "concurrency":
                check_concurrency(value, self.errors)
                wf.concurrency = _raw(value)
            elif name == "jobs" and isinstance(value, MappingToken):
                wf.jobs = self.jobs(value)
        return wf

    @staticmethod
    def events(token: Token) -> dict[str, Any]:
        if isinstance(token, LiteralToken):
            return {str(token.value): {}}
        if isinstance(token, SequenceToken):
            return {str(item.to_raw()): {} for item in token.items}
        if isinstance(token, MappingToken):
            out: dict[str, Any] = {}
            for key, value in token.pairs:
                raw = value.to_raw()
                out[str(key.to_raw())] = _event_config(raw)
            return out
        return {}

    # -- jobs ---------------------------------------------------------------------------------

    def jobs(self, token: MappingToken) -> dict[str, Job]:
        jobs: dict[str, Job] = {}
        needs_tokens: dict[str, list[LiteralToken]] = {}
        for key, value in token.pairs:
            job_id = string_value(key)
            if job_id is None or not isinstance(value, MappingToken):
                continue
            error = invalid_id_message(job_id)
            if error:
                self.errors.add(key.pos, error)
            job, needs = self.job(job_id, key.pos, value)
            jobs[job_id] = job
            needs_tokens[job_id] = needs
        check_needs(token, needs_tokens, self.errors)
        # Job ids are unique regardless of case, so `needs` matches them regardless of case;
        # the model spells each need like the job it names.
        spelled = {job_id.upper(): job_id for job_id in jobs}
        for job in jobs.values():
            job.needs = [spelled.get(n.upper(), n) for n in job.needs]
        return jobs

    def job(
        self, job_id: str, pos: Pos | None, token: MappingToken
    ) -> tuple[Job, list[LiteralToken]]:
        job = Job(id=job_id, pos=pos, positions=_positions(token))
        needs: list[LiteralToken] = []
        for key, value in token.pairs:
            name = string_value(key)
            if name == "needs":
                items = value.items if isinstance(value, SequenceToken) else [value]
                needs = [i for i in items if isinstance(i, LiteralToken) and i.kind == "string"]
                job.needs = [str(n.value) for n in needs]
            elif name == "if":
                job.if_ = self.condition(value, "job-if")
            elif name == "strategy":
                job.strategy = self.strategy(value)
            elif name == "steps" and isinstance(value, SequenceToken):
                job.steps = self.steps(value)
            elif name == "name":
                job.name = _raw(value)
                if job.name == "":
                    job.name = None
            elif name in ("with", "secrets") and isinstance(value, MappingToken):
                for entry_key, entry in value.pairs:
                    if entry.pos is not None:
                        job.positions[f"{name}.{entry_key.to_raw()}"] = entry.pos
                setattr(job, _JOB_FIELDS[name], _raw(value))
            elif name in _JOB_FIELDS:
                if name in JOB_CHECKS:
                    JOB_CHECKS[name](value, self.errors)
                setattr(job, _JOB_FIELDS[name], _raw(value))
        for attr, default in (
            ("env", {}),
            ("services", {}),
            ("with_", {}),
            ("outputs", {}),
            ("defaults", {}),
        ):
            if getattr(job, attr) is None:
                setattr(job, attr, default)
        if job.continue_on_error is None:
            job.continue_on_error = False
        return job, needs

    def strategy(self, token: Token) -> Strategy:
        if not isinstance(token, MappingToken):
            raw = _raw(token)
            return Strategy(expression=raw if isinstance(raw, str) else None, pos=token.pos)
        strategy = Strategy(pos=token.pos, positions=_positions(token))
        for key, value in token.pairs:
            name = string_value(key)
            if name == "matrix":
                check_matrix(value, self.errors)
                strategy.matrix = _raw(value)
            elif name == "fail-fast":
                strategy.fail_fast = _raw(value)
            elif name == "max-parallel":
                strategy.max_parallel = _raw(value)
        return strategy

    def condition(self, token: Token, definition: str) -> Any:
        """Validate an `if:` written without `${{ }}` as the expression it is; keep it raw."""
        if isinstance(token, LiteralToken) and token.kind == "string":
            text = str(token.value).strip()
            if text:
                info = DefinitionInfo.root(self.schema, definition)
                named, functions = split_context(list(info.allowed))
                error = check_expression(condition_expression(text), named, functions)
                if error:
                    self.errors.add(token.pos, error)
        if isinstance(token, ExpressionToken):
            # Text around `${{ }}` makes GitHub evaluate a format() of the pieces.
            return (
                token.raw
                if token.raw.strip() == f"${{{{ {token.expr} }}}}"
                else f"${{{{ {token.expr} }}}}"
            )
        return _raw(token)

    # -- steps --------------------------------------------------------------------------------

    def steps(self, token: SequenceToken) -> list[Step]:
        scope = IdScope()
        steps: list[Step] = []
        for item in token.items:
            if not isinstance(item, MappingToken):
                continue
            step = Step(id=None, context_id="", pos=item.pos, positions=_positions(item))
            for key, value in item.pairs:
                name = string_value(key)
                if name == "id":
                    written = string_value(value)
                    if written:
                        error = scope.add_known(written)
                        if error:
                            self.errors.add(value.pos, error)
                        step.id = written
                elif name == "if":
                    step.if_ = self.condition(value, "step-if")
                elif name == "uses":
                    check_step_uses(value, self.errors)
                    step.uses = string_value(value)
                elif name in _STEP_FIELDS:
                    setattr(step, _STEP_FIELDS[name], _raw(value))
                elif name is not None:
                    step.extra[name] = _raw(value)
            if step.with_ is None:
                step.with_ = {}
            if step.env is None:
                step.env = {}
            if step.continue_on_error is None:
                step.continue_on_error = False
            steps.append(step)
        for step in steps:
            if step.id:
                step.context_id = step.id
                continue
            segment = action_segment(step.uses) if isinstance(step.uses, str) else ""
            if not segment and step.run is None:
                segment = next((k for k in _SPECIAL_STEP_KEYS if k in step.extra), "")
                if segment and step.name is None:
                    step.name = _SPECIAL_STEP_KEYS[segment]
            step.context_id = scope.generate(f"__{segment or 'run'}")
        return steps


_JOB_FIELDS = {
    "environment": "environment",
    "env": "env",
    "defaults": "defaults",
    "permissions": "permissions",
    "concurrency": "concurrency",
    "outputs": "outputs",
    "container": "container",
    "services": "services",
    "timeout-minutes": "timeout_minutes",
    "cancel-timeout-minutes": "cancel_timeout_minutes",
    "continue-on-error": "continue_on_error",
    "uses": "uses",
    "with": "with_",
    "secrets": "secrets",
    "runs-on": "runs_on",
    "egress": "egress",
}

# Experimental background-step kinds (feature flag allowBackgroundSteps): their generated ids.
_SPECIAL_STEP_KEYS = {
    "wait": "Wait",
    "wait-all": "Wait for all",
    "cancel": "Cancel",
    "parallel": "Parallel group",
}

_STEP_FIELDS = {
    "name": "name",
    "run": "run",
    "shell": "shell",
    "working-directory": "working_directory",
    "uses": "uses",
    "with": "with_",
    "env": "env",
    "continue-on-error": "continue_on_error",
    "timeout-minutes": "timeout_minutes",
}
