"""Secrets taken from the runner's environment (`NAME` or `NAME=ENV_VAR`).

The variable is read once; the runner never passes its own environment on to jobs, so a value
that is not in the store does not reach a step.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from github_runner.secrets.providers import ProviderError


def from_environment(
    specs: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`["TOKEN", "NPM=NPM_TOKEN"]` -> `{"TOKEN": $TOKEN, "NPM": $NPM_TOKEN}`; unset is an error."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for spec in specs:
        name, _, variable = spec.partition("=")
        name, variable = name.strip(), (variable or name).strip()
        if not name or not variable:
            raise ProviderError(f"environment secret {spec!r}: expected NAME or NAME=VARIABLE")
        if variable not in env:
            raise ProviderError(f"environment secret {name}: ${variable} is not set")
        out[name] = env[variable]
    return out
