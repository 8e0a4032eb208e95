"""`github-runner worker`: internal; started by `run` with one job message on stdin."""

from __future__ import annotations

import asyncio
import sys

import click


@click.command("worker", hidden=True)
def worker_cmd() -> None:
    """Run one job read from stdin (started by the listener; not for direct use)."""
    import logging

    from github_runner.worker.main import main

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s worker[%(process)d] %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    sys.exit(asyncio.run(main()))
