"""Options and error handling shared by register/run/remove/worker.

Errors a user can fix (bad URL, token, config) become one line on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def common_options(fn: F) -> F:
    fn = click.option("--state-dir", type=click.Path(path_type=Path),
                      envvar="GITHUB_RUNNER_STATE", help="where runner credentials live")(fn)
    fn = click.option("--config", "-c", type=click.Path(path_type=Path, dir_okay=False),
                      envvar="GITHUB_RUNNER_CONFIG", help="config.toml")(fn)
    return fn


@contextmanager
def fail_cleanly() -> Iterator[None]:
    from github_runner.config.loader import ConfigError
    from github_runner.config.state import StateError
    from github_runner.github.errors import GitHubError

    try:
        yield
    except (ConfigError, StateError, GitHubError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
