"""Reusable-workflow calls (`jobs.<id>.uses`): load the callee, then GitHub's call checks.

A callee is read with its own name in error messages (`owner/repo/path@ref (Line: L, Col: C)`),
must declare `on.workflow_call`, gets its required inputs and secrets, may not nest deeper than
the limit, and may not ask for more GITHUB_TOKEN permissions than its caller grants. That last
rule is a security boundary: a called workflow must never widen the token its caller passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ErrorList, Pos
from .limits import ResultSize, ResultTooLarge
from .tokens import MappingToken

if TYPE_CHECKING:
    from .loader import ReaderOptions
    from .model import Job, Workflow

# GitHub lists permissions in this order in its messages; shorthands expand to these.
SCOPES = (
    "actions",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "issues",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "statuses",
    "security-events",
    "id-token",
)
LEVELS = {"none": 0, "read": 1, "write": 2}
Permissions = dict[str, str]


def default_permissions(policy: str) -> Permissions:
    """The GITHUB_TOKEN a top-level workflow gets when it says nothing."""
    if policy.lower() == "limitedread":
        return {s: ("read" if s in ("contents", "packages") else "none") for s in SCOPES}
    return {s: ("none" if s == "id-token" else "write") for s in SCOPES}


def to_permissions(raw: Any) -> Permissions | None:
    """`read-all`, `write-all`, `{}` or a mapping -> one level per scope; None if not given."""
    if raw is None:
        return None
    if raw == "read-all":
        return {s: "read" for s in SCOPES}
    if raw == "write-all":
        return {s: "write" for s in SCOPES}
    if isinstance(raw, dict):
        out = {s: "none" for s in SCOPES}
        for key, value in raw.items():
            if isinstance(value, str) and value in LEVELS:
                out[str(key)] = value
        return out
    return None  # an expression: decided at run time


def exceeding(requested: Permissions, allowed: Permissions) -> tuple[str, str] | None:
    """('actions: write, ...', 'actions: read, ...') for the scopes asked beyond the grant."""
    over = [
        s
        for s in [*SCOPES, *sorted(set(requested) - set(SCOPES))]
        if LEVELS.get(requested.get(s, "none"), 0) > LEVELS.get(allowed.get(s, "none"), 0)
    ]
    if not over:
        return None
    asked = ", ".join(f"{s}: {requested.get(s, 'none')}" for s in over)
    given = ", ".join(f"{s}: {allowed.get(s, 'none')}" for s in over)
    return asked, given


class ReusableChecker:
    def __init__(
        self,
        options: ReaderOptions,
        resolve: Callable[[str], str | None] | None,
        errors: ErrorList,
        budget: ResultSize,
    ) -> None:
        self.options = options
        self.resolve = resolve
        self.errors = errors
        self.budget = budget
        self.total_jobs = 0

    def check(self, workflow: Workflow, tree: MappingToken) -> None:
        allowed = to_permissions(workflow.permissions) or default_permissions(
            self.options.permissions_policy
        )
        self.total_jobs = len(workflow.jobs)
        self._calls(workflow, allowed, depth=0, errors=self.errors)
        limit = self.options.max_job_limit
        if limit and self.total_jobs > limit:
            self.errors.add(None, f"The workflow may not contain more than {limit} jobs", bare=True)

    def _calls(
        self, workflow: Workflow, allowed: Permissions, depth: int, errors: ErrorList
    ) -> None:
        for job in workflow.jobs.values():
            if job.uses is None or self.options.skip_reusable_workflows:
                continue
            job_allowed = to_permissions(job.permissions) or allowed
            self._call(job, job_allowed, depth + 1, errors)

    def _call(self, job: Job, allowed: Permissions, depth: int, errors: ErrorList) -> None:
        from .loader import parse_callee  # the loader imports this module

        ref = str(job.uses)
        uses_pos = job.where("uses")
        if depth > self.options.max_nested_reusable_workflows_depth:
            errors.add(
                None,
                f"Nested reusable workflow depth exceeded {self.options.max_nested_reusable_workflows_depth}.",
                bare=True,
            )
            return
        text = self.resolve(ref) if self.resolve else None
        if text is None:
            if ref.startswith("./"):
                errors.add(uses_pos, "Unable to find reusable workflow")
            return  # a remote workflow cannot be fetched offline: checked when it runs
        callee_errors = ErrorList(ref, errors.max_errors, errors.max_message_length)
        try:
            callee = parse_callee(ref, text, self.options, callee_errors, self.budget)
        except ResultTooLarge as exc:
            errors.add(None, f"In {uses_pos}: Error from called workflow {ref}: {exc}", bare=True)
            return
        for message in callee_errors.items:
            errors.add(None, message, bare=True)
        if callee is None:
            return
        job.called = callee
        self.total_jobs += len(callee.jobs)
        if "workflow_call" not in callee.on:
            errors.add(uses_pos, "workflow_call key is not defined in the referenced workflow.")
            return
        self._inputs_and_secrets(job, callee, uses_pos, errors)
        self._permissions(job, callee, ref, allowed, errors)
        self._calls_nested(callee, allowed, depth, callee_errors, errors)

    def _calls_nested(
        self,
        callee: Workflow,
        allowed: Permissions,
        depth: int,
        callee_errors: ErrorList,
        errors: ErrorList,
    ) -> None:
        effective = to_permissions(callee.permissions) or allowed
        nested = ErrorList(callee_errors.file, errors.max_errors, errors.max_message_length)
        self._calls(callee, effective, depth, nested)
        for message in nested.items:
            errors.add(None, message, bare=True)

    def _permissions(
        self, job: Job, callee: Workflow, ref: str, allowed: Permissions, errors: ErrorList
    ) -> None:
        at = job.pos
        requested = to_permissions(callee.permissions)
        if requested is not None:
            over = exceeding(requested, allowed)
            if over:
                errors.add(
                    at,
                    f"Error calling workflow '{ref}'. The workflow '{ref}' is requesting '{over[0]}', "
                    f"but is only allowed '{over[1]}'.",
                )
        # A nested job is held to the caller's grant, not to its own workflow's default.
        for nested in callee.jobs.values():
            wanted = to_permissions(nested.permissions)
            if wanted is None:
                continue
            over = exceeding(wanted, allowed)
            if over:
                name = nested.name if isinstance(nested.name, str) and nested.name else nested.id
                errors.add(
                    at,
                    f"Error calling workflow '{ref}'. The nested job '{name}' is requesting "
                    f"'{over[0]}', but is only allowed '{over[1]}'.",
                )

    @staticmethod
    def _inputs_and_secrets(
        job: Job, callee: Workflow, uses_pos: Pos | None, errors: ErrorList
    ) -> None:
        """Required inputs and secrets are passed (a default does not excuse a required input),
        passed ones are declared, and literal input values have the declared type."""
        call = callee.on.get("workflow_call") or {}
        if not isinstance(call, dict):
            return
        for kind, given, label, key in (
            ("inputs", job.with_, "Input", "with"),
            ("secrets", job.secrets, "Secret", "secrets"),
        ):
            declared = call.get(kind) or {}
            if not isinstance(declared, dict) or (kind == "secrets" and given == "inherit"):
                continue
            provided = (
                {str(k).upper(): v for k, v in given.items()} if isinstance(given, dict) else {}
            )
            for name, spec in declared.items():
                spec = spec if isinstance(spec, dict) else {}
                if str(name).upper() in provided:
                    if kind == "inputs":
                        _check_input_type(job, name, spec.get("type"), given, errors)
                elif spec.get("required") is True:
                    errors.add(
                        uses_pos, f"{label} {name} is required, but not provided while calling."
                    )
            known = {str(k).upper() for k in declared}
            for name in provided if isinstance(given, dict) else ():
                if name not in known:
                    original = next(k for k in given if str(k).upper() == name)
                    where = job.where(f"{key}.{original}")
                    errors.add(
                        where,
                        f"Invalid {label.lower()}, {original} is not defined in the referenced workflow.",
                    )


_INPUT_KINDS = {"boolean": bool, "number": (int, float), "string": (str, int, float, bool)}


def _check_input_type(
    job: Job, name: str, declared: Any, given: dict[str, Any], errors: ErrorList
) -> None:
    """A literal `with:` value must suit the input's declared type (expressions are checked
    when they are evaluated); like GitHub, numbers and booleans pass as strings."""
    original = next(k for k in given if str(k).upper() == str(name).upper())
    value = given[original]
    if isinstance(value, str) and "${{" in value:
        return
    kinds = _INPUT_KINDS.get(str(declared))
    if kinds is None or (
        isinstance(value, kinds) and not (declared == "number" and isinstance(value, bool))
    ):
        return
    shown = ("true" if value else "false") if isinstance(value, bool) else value
    errors.add(job.where(f"with.{original}"), f"Unexpected value '{shown}'")
