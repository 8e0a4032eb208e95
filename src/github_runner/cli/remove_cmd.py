"""`github-runner remove`: unregister every identity in the state dir, then delete its files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from github_runner.cli._protocol_common import common_options, fail_cleanly


@click.command("remove")
@click.option("--token", envvar="GITHUB_RUNNER_TOKEN", help="removal token (or $GITHUB_RUNNER_TOKEN)")
@click.option("--local", is_flag=True, help="only delete the local files")
@common_options
def remove_cmd(token: str | None, local: bool, config: Path | None, state_dir: Path | None) -> None:
    """Remove the runner registration(s) from GitHub and the local state."""
    with fail_cleanly():
        from github_runner.config.runtime import load_settings, setup_logging
        from github_runner.config.runtime import state_dir as make_state
        from github_runner.github.http import ApiClient
        from github_runner.github.registration import RegistrationError, remove

        settings = load_settings(config)
        setup_logging(settings)
        state = make_state(settings, state_dir)
        if not state.identities():
            raise RegistrationError(f"no runner is registered in {state.root}")

        async def go() -> list[str]:
            async with ApiClient(settings.http_settings()) as api:
                return await remove(api, state, token, local=local)

        names = asyncio.run(go())
        click.echo(f"removed {', '.join(names)}")
