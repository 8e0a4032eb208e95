"""The refusals every host-process backend (shell, sandbox) makes before starting a step."""

from __future__ import annotations

from collections.abc import Sequence

from github_runner.executors.base import ExecutorError


def check_step(executor: str, argv: Sequence[str], container: str | None, running: bool) -> None:
    if not running:
        raise ExecutorError(f"{executor} executor: the job's sandbox is not running (closed or died)")
    if container is not None:
        raise ExecutorError(
            f"{executor} executor cannot run in container {container!r}: use executor docker or gvisor"
        )
    if not argv:
        raise ExecutorError(f"{executor} executor: empty command")
