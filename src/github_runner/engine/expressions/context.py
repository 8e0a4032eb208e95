"""What an expression is evaluated against."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from .values import CaseInsensitiveDict, lookup


class EvalContext(Struct):
    """Named values plus the run state the status functions and `hashFiles` need.

    - `contexts`: top-level named values (`github`, `env`, `matrix`, ...), looked up
      case-insensitively. Nested objects may be plain dicts; lookups ignore case anyway.
    - `job_status`: "success" / "failure" / "cancelled" (None = nothing failed yet = success).
      Set it to "cancelled" once the run is cancelled so `cancelled()` turns true.
    - `action_status` / `composite`: inside a composite action's main steps, `success()` and
      `failure()` read the action's own status (None there means success).
    - `workspace`: root for `hashFiles()`; defaults to `github.workspace`.
    """

    contexts: Mapping[str, Any] = field(default_factory=dict)
    job_status: str | None = "success"
    action_status: str | None = None
    composite: bool = False
    workspace: Path | None = None
    hashfiles_timeout: float = 120.0

    def __post_init__(self) -> None:
        if not isinstance(self.contexts, CaseInsensitiveDict):
            self.contexts = CaseInsensitiveDict(self.contexts)

    def named_value(self, name: str) -> Any:
        return self.contexts.get(name)

    def hashfiles_root(self) -> Path | None:
        if self.workspace is not None:
            return Path(self.workspace)
        github = self.contexts.get("github")
        if isinstance(github, Mapping):
            found, value = lookup(github, "workspace")
            if found and isinstance(value, str) and value:
                return Path(value)
        return None

    @property
    def cancelled(self) -> bool:
        return (self.job_status or "").lower() == "cancelled"
