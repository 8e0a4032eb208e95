"""Top-level command group.

Subcommands are imported lazily: `github-runner run` (the long-lived listener) must not pay
for, or hold in memory, the job engine, and `exec` must start fast. Each subcommand lives in
its own module under `cli/` and is named here as "module:attribute".

A plain `github-runner exec ...` does not import click at all (~10 ms of a cold run): `main`
hands its arguments to `cli/exec_fast.py`, which returns the command's parameters exactly as
click would, or None for anything else (help, errors, unusual forms), and then click parses.
The click group itself (`cli`) is built on first use.
"""

from __future__ import annotations

import sys
from typing import Any

# name -> "module:attribute" of a click.Command. Add a line here when adding a subcommand.
SUBCOMMANDS: dict[str, str] = {
    "exec": "github_runner.cli.exec_cmd:exec_cmd",
    "register": "github_runner.cli.register_cmd:register_cmd",
    "run": "github_runner.cli.run_cmd:run_cmd",
    "remove": "github_runner.cli.remove_cmd:remove_cmd",
    "doctor": "github_runner.cli.doctor_cmd:doctor_cmd",
    "egress": "github_runner.cli.egress_cmd:egress_cmd",
    "worker": "github_runner.cli.worker_cmd:worker_cmd",
}


def __getattr__(name: str) -> Any:
    """`cli` (the click group) and `LazyGroup` are made on first access: click stays unloaded
    on the fast `exec` path."""
    if name in ("cli", "LazyGroup"):
        from github_runner.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["exec"]:
        from github_runner.cli.exec_fast import parse

        options = parse(args[1:])
        if options is not None:
            from github_runner.cli.exec_main import run

            try:
                run(options)
            except (EOFError, KeyboardInterrupt):  # what click's standalone mode does with these
                import click

                click.echo(file=sys.stderr)
                click.echo("Aborted!", file=sys.stderr)
                sys.exit(1)
            except BrokenPipeError:  # click: quiet, exit code 1
                import os

                sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - until exit
                sys.exit(1)
    from github_runner.cli.group import cli

    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - click handles most of these
        sys.exit(130)
