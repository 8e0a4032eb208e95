"""Status functions `success() failure() cancelled() always()`.

At job level they read the job status so far; in a composite action's main steps `success()`
and `failure()` read the composite action's own status instead (the runner's `action_status`),
defaulting to success, while `cancelled()` always looks at the job. Where the schema allows
arguments (job-level `success(0,MAX)`), `success('a', 'b')` / `failure('a')` read the results
of those `needs` jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .values import lookup, to_string

if TYPE_CHECKING:
    from .context import EvalContext
    from .nodes import Node

STATUS_FUNCTIONS = frozenset(("success", "failure", "cancelled", "always"))


def _job_status(ctx: EvalContext) -> str:
    return (ctx.job_status or "success").lower()


def _scoped_status(ctx: EvalContext) -> str:
    if ctx.composite or ctx.action_status is not None:
        return (ctx.action_status or "success").lower()
    return _job_status(ctx)


def fn_always(ctx: EvalContext, args: Sequence[Node]) -> Any:
    return True


def fn_cancelled(ctx: EvalContext, args: Sequence[Node]) -> Any:
    return _job_status(ctx) == "cancelled"


def _needs_results(ctx: EvalContext, args: Sequence[Node]) -> list[str]:
    """Results of the `needs` jobs named by the arguments (job-level `success('build')`)."""
    needs = ctx.named_value("needs")
    results: list[str] = []
    for arg in args:
        name = to_string(arg.eval(ctx))
        job = lookup(needs, name)[1] if isinstance(needs, Mapping) else None
        result = lookup(job, "result")[1] if isinstance(job, Mapping) else None
        results.append(to_string(result).lower())
    return results


def fn_success(ctx: EvalContext, args: Sequence[Node]) -> Any:
    if args:
        return all(r == "success" for r in _needs_results(ctx, args))
    return _scoped_status(ctx) == "success"


def fn_failure(ctx: EvalContext, args: Sequence[Node]) -> Any:
    if args:
        return any(r == "failure" for r in _needs_results(ctx, args))
    return _scoped_status(ctx) == "failure"
