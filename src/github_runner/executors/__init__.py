"""Executor registry: config name -> backend class, imported lazily.

The engine asks for an executor by name and gets an object satisfying
`executors.base.Executor`; it never imports a backend module itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from github_runner.executors.errors import ExecutorError

if TYPE_CHECKING:  # base needs msgspec; the package must import without it (images.py, CI set-up)
    from github_runner.executors.base import Executor

__all__ = ["BACKENDS", "ExecutorError", "get_executor"]

BACKENDS: dict[str, str] = {
    "shell": "github_runner.executors.shell:ShellExecutor",
    "sandbox": "github_runner.executors.sandbox:SandboxExecutor",
    "docker": "github_runner.executors.docker:DockerExecutor",
    "gvisor": "github_runner.executors.gvisor:GVisorExecutor",
}


def get_executor(name: str, *, tune_cgroup_migrations: bool = True, **settings: Any) -> Executor:
    """`tune_cgroup_migrations`: turn on the host's fast cgroup task migration (cgtune.py) once,
    before the first job; never fatal."""
    target = BACKENDS.get(name)
    if target is None:
        raise ExecutorError(
            f"unknown executor {name!r}: choose one of {', '.join(sorted(BACKENDS))}"
        )
    from github_runner.executors import cgtune

    cgtune.ensure(tune_cgroup_migrations)
    module_name, attr = target.split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cls(**settings)
