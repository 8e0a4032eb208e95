"""`github-runner run`: listen for jobs on every registered identity (like `run.sh`).

Deliberately light: the listener imports no job engine, so an idle runner stays small.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from github_runner.cli._protocol_common import common_options, fail_cleanly


@click.command("run")
@click.option("--once", is_flag=True, help="exit after one job (per slot)")
@common_options
def run_cmd(once: bool, config: Path | None, state_dir: Path | None) -> None:
    """Connect to GitHub and run jobs until stopped (SIGTERM: finish jobs; twice: cancel)."""
    with fail_cleanly():
        from github_runner.config.runtime import load_settings, setup_logging
        from github_runner.config.runtime import state_dir as make_state
        from github_runner.listener.service import Service

        settings = load_settings(config)
        setup_logging(settings, name="listener")
        state = make_state(settings, state_dir)
        code = asyncio.run(Service(settings, state, once=once).run())
    sys.exit(code)
