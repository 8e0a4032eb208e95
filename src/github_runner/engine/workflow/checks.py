"""GitHub's checks that the template schema cannot express, one function per rule.

Each takes the validated token of one key (positions intact) and the error list. They run only
when the schema pass found nothing, as GitHub's converter does. Parts decided by expressions
are left to run time, where GitHub judges them too.
"""

from __future__ import annotations

from .errors import ErrorList
from .tokens import ExpressionToken, LiteralToken, MappingToken, SequenceToken, Token, string_value

_RUNS_ON_GROUP_PREFIXES = ("org", "organization", "ent", "enterprise")
MAX_CONCURRENCY_GROUP = 400


def has_expression(token: Token) -> bool:
    if isinstance(token, ExpressionToken):
        return True
    if isinstance(token, SequenceToken):
        return any(has_expression(t) for t in token.items)
    if isinstance(token, MappingToken):
        return any(has_expression(k) or has_expression(v) for k, v in token.pairs)
    return False


def check_needs(
    jobs_token: MappingToken, needs: dict[str, list[LiteralToken]], errors: ErrorList
) -> None:
    """Every job can start: some job needs nothing, no cycles, no unknown jobs (ids compare
    regardless of case, as they are unique regardless of case)."""
    known = {job_id.upper() for job_id in needs}
    ready = [job_id for job_id, wanted in needs.items() if not wanted]
    if not ready:
        errors.add(
            jobs_token.pos, "The workflow must contain at least one job with no dependencies."
        )
        return
    waiting = {job_id: list(wanted) for job_id, wanted in needs.items() if wanted}
    while ready:
        done = ready.pop(0).upper()
        for job_id in reversed(list(waiting)):
            waiting[job_id] = [n for n in waiting[job_id] if str(n.value).upper() != done]
            if not waiting[job_id]:
                del waiting[job_id]
                ready.append(job_id)
    for job_id, remaining in waiting.items():
        for need in remaining:
            if str(need.value).upper() in known:
                text = (
                    f"Job '{job_id}' depends on job '{need.value}' which creates a cycle in the "
                    "dependency graph."
                )
            else:
                text = f"Job '{job_id}' depends on unknown job '{need.value}'."
            errors.add(need.pos, text)


def check_dispatch_inputs(on: Token, errors: ErrorList) -> None:
    """`type: choice` inputs list their `options`, and only they do."""
    dispatch = on.get("workflow_dispatch") if isinstance(on, MappingToken) else None
    inputs = dispatch.get("inputs") if isinstance(dispatch, MappingToken) else None
    if not isinstance(inputs, MappingToken):
        return
    for _, spec in inputs.pairs:
        if not isinstance(spec, MappingToken):
            continue
        options = spec.get("options")
        if string_value(spec.get("type")) == "choice":
            if not isinstance(options, SequenceToken) or not options.items:
                errors.add(spec.pos, "Missing 'options' for choice input")
        elif options is not None:
            errors.add(spec.pos, "Input type is not 'choice', but 'options' is defined")


def check_call_input_defaults(on: Token, errors: ErrorList) -> None:
    """A `workflow_call` input's literal default has the input's type (strings take any
    scalar, as GitHub converts them)."""
    call = on.get("workflow_call") if isinstance(on, MappingToken) else None
    inputs = call.get("inputs") if isinstance(call, MappingToken) else None
    if not isinstance(inputs, MappingToken):
        return
    for _, spec in inputs.pairs:
        if not isinstance(spec, MappingToken):
            continue
        default = spec.get("default")
        wanted = {"boolean": "boolean", "number": "number"}.get(string_value(spec.get("type")) or "")
        if isinstance(default, LiteralToken) and wanted and default.kind != wanted:
            errors.add(default.pos, f"Unexpected value '{default}'")


def check_runs_on(token: Token, errors: ErrorList) -> None:
    """A runner group is a bare name or `organization/NAME` / `enterprise/NAME`."""
    group = token.get("group") if isinstance(token, MappingToken) else None
    name = string_value(group)
    if group is None or name is None:
        return
    parts = name.split("/")
    if len(parts) == 1:
        return
    if len(parts) == 2 and parts[0] in _RUNS_ON_GROUP_PREFIXES:
        if not parts[1]:
            errors.add(group.pos, f"Invalid runs-on group name '{name}'.")
        return
    errors.add(
        group.pos,
        f"Invalid runs-on group name '{name}'. Please use 'organization/' or 'enterprise/' "
        "prefix to target a single runner group.",
    )


def check_matrix(token: Token, errors: ErrorList) -> None:
    """Vectors hold values, and there is at least one vector or `include` entry."""
    if not isinstance(token, MappingToken):
        return
    has_vector = False
    for key, value in token.pairs:
        name = string_value(key)
        if name is None or has_expression(value):
            has_vector = has_vector or name != "exclude"
        elif name == "include":
            has_vector = has_vector or (isinstance(value, SequenceToken) and bool(value.items))
        elif name != "exclude":
            has_vector = True
            if isinstance(value, SequenceToken) and not value.items:
                errors.add(value.pos, f"Matrix vector '{name}' does not contain any values")
    if not has_vector:
        errors.add(token.pos, "Matrix must define at least one vector")


def check_concurrency(token: Token, errors: ErrorList) -> None:
    group = token.get("group") if isinstance(token, MappingToken) else token
    text = string_value(group)
    if text is not None and len(text) > MAX_CONCURRENCY_GROUP:
        errors.add(token.pos, "Concurrency group name must be less than 400 characters")


def check_container(token: Token, errors: ErrorList) -> None:
    """A container given as a mapping needs an image."""
    if (
        isinstance(token, MappingToken)
        and not has_expression(token)
        and string_value(token.get("image")) is None
    ):
        errors.add(token.pos, "Container image cannot be empty")


def check_services(token: Token, errors: ErrorList) -> None:
    if isinstance(token, MappingToken):
        for _, service in token.pairs:
            check_container(service, errors)


def check_egress(token: Token, errors: ErrorList) -> None:
    """Each `egress.allow` entry parses with the egress allowlist grammar, so a typo stops the
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
            errors.add(item.pos, f"Invalid egress allow entry '{entry}': {exc.why}")


def check_step_uses(token: Token, errors: ErrorList) -> None:
    """`uses:` names `owner/repo[/path]@ref`, a local `./path` or a `docker://` image."""
    uses = string_value(token)
    if uses is None or uses.startswith(("docker://", "./", ".\\")):
        return
    parts = uses.split("@")
    path = [p for p in parts[0].replace("\\", "/").split("/") if p]
    if len(parts) != 2 or len(path) < 2 or not parts[1]:
        errors.add(token.pos, f"Expected format {{org}}/{{repo}}[/path]@ref. Actual '{uses}'")


# Job keys with a rule of their own (the value's token is checked before it is kept raw).
JOB_CHECKS = {
    "runs-on": check_runs_on,
    "concurrency": check_concurrency,
    "container": check_container,
    "services": check_services,
    "egress": check_egress,
}
