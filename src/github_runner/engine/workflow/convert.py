"""Validated token tree -> typed model, with GitHub's checks that the schema cannot express.

These run only when the schema pass found nothing (as GitHub does: template errors first):
job and step ids, `needs` (unknown jobs, cycles, a job to start with), `runs-on` group names,
empty matrix vectors, `if:` conditions written without `${{ }}`, reusable-workflow calls.
"""

from __future__ import annotations

from typing import Any

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

_RUNS_ON_GROUP_PREFIXES = ("org", "organization", "ent", "enterprise")


def _raw(token: Token | None) -> Any:
    return None if token is None else token.to_raw()


def _has_expression(token: Token) -> bool:
    if isinstance(token, ExpressionToken):
        return True
    if isinstance(token, SequenceToken):
        return any(_has_expression(t) for t in token.items)
    if isinstance(token, MappingToken):
        return any(_has_expression(k) or _has_expression(v) for k, v in token.pairs)
    return False


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
                self.dispatch_inputs(value)
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
                self.concurrency(value)
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
                out[str(key.to_raw())] = {} if raw is None else raw
            return out
        return {}

    def dispatch_inputs(self, token: Token) -> None:
        """`type: choice` inputs list their `options`, and only they do."""
        dispatch = token.get("workflow_dispatch") if isinstance(token, MappingToken) else None
        inputs = dispatch.get("inputs") if isinstance(dispatch, MappingToken) else None
        if not isinstance(inputs, MappingToken):
            return
        for _, spec in inputs.pairs:
            if not isinstance(spec, MappingToken):
                continue
            options = spec.get("options")
            if string_value(spec.get("type")) == "choice":
                if not isinstance(options, SequenceToken) or not options.items:
                    self.errors.add(spec.pos, "Missing 'options' for choice input")
            elif options is not None:
                self.errors.add(spec.pos, "Input type is not 'choice', but 'options' is defined")

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
        self._check_needs(token, jobs, needs_tokens)
        # Job ids are unique regardless of case, so `needs` matches them regardless of case;
        # the model spells each need like the job it names.
        spelled = {job_id.upper(): job_id for job_id in jobs}
        for job in jobs.values():
            job.needs = [spelled.get(n.upper(), n) for n in job.needs]
        return jobs

    def _check_needs(
        self, token: MappingToken, jobs: dict[str, Job], needs: dict[str, list[LiteralToken]]
    ) -> None:
        ready = [job_id for job_id in jobs if not needs[job_id]]
        if not ready:
            self.errors.add(token.pos, "The workflow must contain at least one job with no dependencies.")
            return
        waiting = {job_id: list(n) for job_id, n in needs.items() if n}
        while ready:
            done = ready.pop(0)
            for job_id in reversed(list(waiting)):
                remaining = [n for n in waiting[job_id] if str(n.value).upper() != done.upper()]
                waiting[job_id] = remaining
                if not remaining:
                    del waiting[job_id]
                    ready.append(job_id)
        for job_id, remaining in waiting.items():
            for need in remaining:
                if str(need.value).upper() in {j.upper() for j in jobs}:
                    text = (
                        f"Job '{job_id}' depends on job '{need.value}' which creates a cycle in "
                        "the dependency graph."
                    )
                else:
                    text = f"Job '{job_id}' depends on unknown job '{need.value}'."
                self.errors.add(need.pos, text)

    def job(self, job_id: str, pos: Pos | None, token: MappingToken) -> tuple[Job, list[LiteralToken]]:
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
            elif name == "runs-on":
                self.runs_on(value)
                job.runs_on = _raw(value)
            elif name == "strategy":
                job.strategy = self.strategy(value)
            elif name == "steps" and isinstance(value, SequenceToken):
                job.steps = self.steps(value)
            elif name == "name":
                job.name = _raw(value)
                if job.name == "":
                    job.name = None
            elif name == "concurrency":
                self.concurrency(value)
                job.concurrency = _raw(value)
            elif name in ("with", "secrets") and isinstance(value, MappingToken):
                for entry_key, entry in value.pairs:
                    if entry.pos is not None:
                        job.positions[f"{name}.{entry_key.to_raw()}"] = entry.pos
                setattr(job, _JOB_FIELDS[name], _raw(value))
            elif name == "container":
                self.container(value)
                job.container = _raw(value)
            elif name == "services":
                if isinstance(value, MappingToken):
                    for _, service in value.pairs:
                        self.container(service)
                job.services = _raw(value)
            elif name == "egress":
                self.egress(value)
                job.egress = _raw(value)
            elif name in _JOB_FIELDS:
                setattr(job, _JOB_FIELDS[name], _raw(value))
        for attr, default in (("env", {}), ("services", {}), ("with_", {}), ("outputs", {}), ("defaults", {})):
            if getattr(job, attr) is None:
                setattr(job, attr, default)
        if job.continue_on_error is None:
            job.continue_on_error = False
        return job, needs

    def container(self, token: Token) -> None:
        """A container given as a mapping needs an image (unless expressions decide it later)."""
        if (
            isinstance(token, MappingToken)
            and not _has_expression(token)
            and string_value(token.get("image")) is None
        ):
            self.errors.add(token.pos, "Container image cannot be empty")

    def egress(self, token: Token) -> None:
        """Check each `egress.allow` entry with the egress allowlist grammar, so a typo stops the
        run before any step instead of silently blocking (or allowing) traffic later."""
        allow = token.get("allow") if isinstance(token, MappingToken) else None
        if not isinstance(allow, SequenceToken):
            return
        from github_runner.egress.allowlist import AllowlistError, parse_entry

        for index, item in enumerate(allow.items):
            entry = string_value(item)
            if entry is None:
                continue
            try:
                parse_entry(entry, index, "egress.allow")
            except AllowlistError as exc:
                self.errors.add(item.pos, f"Invalid egress allow entry '{entry}': {exc.why}")

    def runs_on(self, token: Token) -> None:
        if not isinstance(token, MappingToken):
            return
        group = token.get("group")
        if not isinstance(group, LiteralToken) or group.kind != "string":
            return
        name = str(group.value)
        parts = name.split("/")
        if len(parts) == 1:
            return
        if len(parts) == 2 and parts[0] in _RUNS_ON_GROUP_PREFIXES:
            if not parts[1]:
                self.errors.add(group.pos, f"Invalid runs-on group name '{name}'.")
            return
        self.errors.add(
            group.pos,
            f"Invalid runs-on group name '{name}'. Please use 'organization/' or 'enterprise/' "
            "prefix to target a single runner group.",
        )

    def strategy(self, token: Token) -> Strategy:
        if not isinstance(token, MappingToken):
            raw = _raw(token)
            return Strategy(expression=raw if isinstance(raw, str) else None, pos=token.pos)
        strategy = Strategy(pos=token.pos, positions=_positions(token))
        for key, value in token.pairs:
            name = string_value(key)
            if name == "matrix":
                self.matrix(value)
                strategy.matrix = _raw(value)
            elif name == "fail-fast":
                strategy.fail_fast = _raw(value)
            elif name == "max-parallel":
                strategy.max_parallel = _raw(value)
        return strategy

    def matrix(self, token: Token) -> None:
        """Vectors hold values, and there is at least one vector or `include` entry; parts
        computed by expressions are judged when they are evaluated."""
        if not isinstance(token, MappingToken):
            return
        has_vector = False
        for key, value in token.pairs:
            name = string_value(key)
            if name is None or _has_expression(value):
                has_vector = has_vector or name != "exclude"
                continue
            if name == "exclude":
                continue
            if name == "include":
                has_vector = has_vector or (isinstance(value, SequenceToken) and bool(value.items))
                continue
            has_vector = True
            if isinstance(value, SequenceToken) and not value.items:
                self.errors.add(value.pos, f"Matrix vector '{name}' does not contain any values")
        if not has_vector:
            self.errors.add(token.pos, "Matrix must define at least one vector")

    def concurrency(self, token: Token) -> None:
        group = token.get("group") if isinstance(token, MappingToken) else token
        text = string_value(group)
        if text is not None and len(text) > 400:
            self.errors.add(token.pos, "Concurrency group name must be less than 400 characters")

    def step_uses(self, token: Token) -> None:
        """`uses:` names `owner/repo[/path]@ref`, a local `./path` or a `docker://` image."""
        uses = string_value(token)
        if uses is None or uses.startswith(("docker://", "./", ".\\")):
            return
        parts = uses.split("@")
        path = [p for p in parts[0].replace("\\", "/").split("/") if p]
        if len(parts) != 2 or len(path) < 2 or not parts[1]:
            self.errors.add(token.pos, f"Expected format {{org}}/{{repo}}[/path]@ref. Actual '{uses}'")

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
            return token.raw if token.raw.strip() == f"${{{{ {token.expr} }}}}" else f"${{{{ {token.expr} }}}}"
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
                    self.step_uses(value)
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
}

# Experimental background-step kinds (feature flag allowBackgroundSteps): their generated ids.
_SPECIAL_STEP_KEYS = {"wait": "Wait", "wait-all": "Wait for all", "cancel": "Cancel", "parallel": "Parallel group"}

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
