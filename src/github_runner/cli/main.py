"""Top-level command group.

Subcommands are imported lazily: `github-runner run` (the long-lived listener) must not pay
for, or hold in memory, the job engine, and `exec` must start fast. Each subcommand lives in
its own module under `cli/` and is named here as "module:attribute".
"""

from __future__ import annotations

import importlib
import sys

import click

from github_runner.version import RUNNER_VERSION, __version__

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


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in SUBCOMMANDS.items() if _exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attr)


def _exists(target: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(f"{__version__} (runner protocol version {RUNNER_VERSION})")
def cli() -> None:
    """A security-first self-hosted GitHub Actions runner."""


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - click handles most of these
        sys.exit(130)
