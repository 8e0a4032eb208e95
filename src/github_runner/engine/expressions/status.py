"""Status functions `success() failure() cancelled() always()`.

At job level they read the job status so far; in a composite action's main steps `success()`
and `failure()` read the composite action's own status instead (the runner's `action_status`),
defaulting to success, while `cancelled()` always looks at the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import EvalContext
    from .nodes import Node

STATUS_FUNCTIONS = frozenset(("success", "failure", "cancelled", "always"))


def _job_status(ctx: "EvalContext") -> str:
    return (ctx.job_status or "success").lower()


def _scoped_status(ctx: "EvalContext") -> str:
    if ctx.composite or ctx.action_status is not None:
        return (ctx.action_status or "success").lower()
    return _job_status(ctx)


def fn_always(ctx: "EvalContext", args: Sequence["Node"]) -> Any:
    return True


def fn_cancelled(ctx: "EvalContext", args: Sequence["Node"]) -> Any:
    return _job_status(ctx) == "cancelled"


def fn_success(ctx: "EvalContext", args: Sequence["Node"]) -> Any:
    return _scoped_status(ctx) == "success"


def fn_failure(ctx: "EvalContext", args: Sequence["Node"]) -> Any:
    return _scoped_status(ctx) == "failure"
