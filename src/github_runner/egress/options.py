"""The `exec` egress flags as one click decorator (import-light: `exec --help` must stay fast)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def egress_options(f: F) -> F:
    """Adds the flags; their values land in the command's options as `egress_*` keys, which
    `egress.jobs.network_from_options` turns into the engine's `network` seam."""
    opts = [
        click.option("--egress", "egress_mode", default=None,
                     type=click.Choice(["off", "audit", "block", "monitor", "enforce"]),
                     help="Egress control for every job (default off; a job's own egress: key or "
                          "harden-runner step may raise it). Needs root."),
        click.option("--allow", "egress_allow", multiple=True, metavar="ENTRY",
                     help="Allowlist entry (repeatable): host, *.host, host:port, CIDR[:port]."),
        click.option("--allowlist", "egress_allowlist", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Allowlist file (one entry per line, or a YAML list / allow: key)."),
        click.option("--egress-upstream", "egress_upstream", metavar="HOST:PORT",
                     help="Resolver the DNS proxy forwards to (default: /etc/resolv.conf)."),
        click.option("--egress-log", "egress_log", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the JSONL egress audit here."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f
