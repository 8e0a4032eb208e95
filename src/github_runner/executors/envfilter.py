"""The environment denylist: what a job process must never inherit from the runner.

Job processes always get an explicit environment (never the runner's own: `runuser`/`su` leak
it), and on top of that the names below are removed. Two kinds:

* credentials of the runner itself (registration/PAT tokens, our config variables): removed
  whatever their value;
* job-scoped service credentials (`ACTIONS_RUNTIME_*`, `ACTIONS_ID_TOKEN_*`, `GITHUB_TOKEN` ...):
  legitimate when the engine sets them for *this* job, a leak when the value is the one the runner
  process itself carries (another job's, or the operator's). Those are removed only when the value
  equals the runner's own.

Configured patterns (`env_denylist`) are shell-style globs on names, matched case-sensitively,
and are always removed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from fnmatch import translate

RUNNER_CREDENTIALS: tuple[str, ...] = (
    "GITHUB_RUNNER_*",
    "GHR_*",
    "RUNNER_TOKEN",
    "RUNNER_CFG_*",
    "ACTIONS_RUNNER_TOKEN",
    "ACTIONS_RUNNER_INPUT_*",
    "*_RUNNER_TOKEN",
    "*_REGISTRATION_TOKEN",
    "GITHUB_APP_PRIVATE_KEY*",
    "VAULT_TOKEN",
)

INHERITED_JOB_CREDENTIALS: tuple[str, ...] = (
    "ACTIONS_RUNTIME_*",
    "ACTIONS_ID_TOKEN_REQUEST_*",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_PAT",
)


def _glob_union(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regular expression for a set of globs (`fnmatchcase` semantics): a job's ~50
    variables are checked against one compiled pattern instead of each glob in turn."""
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns) or "(?!)")


_INHERITED = _glob_union(INHERITED_JOB_CREDENTIALS)


class EnvFilter:
    """Applies the denylist; one instance per executor (patterns come from its settings)."""

    def __init__(
        self,
        extra_patterns: Iterable[str] = (),
        host_env: Mapping[str, str] | None = None,
    ) -> None:
        self.always = RUNNER_CREDENTIALS + tuple(extra_patterns)
        self._always = _glob_union(self.always)
        self.host_env = dict(os.environ if host_env is None else host_env)

    def denied(self, name: str, value: str) -> bool:
        if self._always.match(name):
            return True
        if _INHERITED.match(name):
            return self.host_env.get(name) == value
        return False

    def apply(self, env: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in env.items() if not self.denied(k, v)}
