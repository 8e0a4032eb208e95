"""The click group behind `github-runner` (see `cli/main.py`: it is built only when used)."""

from __future__ import annotations

import importlib

import click

from github_runner.cli.main import SUBCOMMANDS
from github_runner.version import RUNNER_VERSION, __version__


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
