"""`github-runner run`: listen for jobs on every registered identity (like `run.sh`).

Deliberately light: the listener imports no job engine, and once the config is validated the
process is replaced by one without pydantic or click, so an idle runner stays small.
"""

from __future__ import annotations

from pathlib import Path

import click

from github_runner.cli._protocol_common import common_options, fail_cleanly


@click.command("run")
@click.option("--once", is_flag=True, help="exit after one job (per slot)")
@common_options
def run_cmd(once: bool, config: Path | None, state_dir: Path | None) -> None:
    """Connect to GitHub and run jobs until stopped (SIGTERM: finish jobs; twice: cancel)."""
    with fail_cleanly():
        from github_runner.config.plain import PlainSettings
        from github_runner.config.runtime import load_settings
        from github_runner.config.runtime import state_dir as make_state
        from github_runner.listener.process import exec_listener

        settings = load_settings(config)
        state = make_state(settings, state_dir)
    # the listener process proper: same pid, without pydantic and click (listener/process.py)
    exec_listener(PlainSettings.from_settings(settings), state.root, once=once)
