"""`github-runner doctor`: is this host ready for each executor, and what protects a job."""

from __future__ import annotations

import asyncio
import json
import sys

import click
from msgspec.structs import asdict


@click.command("doctor")
@click.option("--executor", "only", type=click.Choice(["shell", "sandbox", "docker", "gvisor", "egress"]),
              help="Check one executor (or egress control) only (exit 1 if it is not ready).")
@click.option("--user", default=None, help="The job user to check (default: ghr-job).")
@click.option("--deep", is_flag=True, help="Also start a hardened container per docker runtime.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--cleanup", is_flag=True, help="Remove what dead workers left (cgroups, containers, networks).")
def doctor_cmd(only: str | None, user: str | None, deep: bool, as_json: bool, cleanup: bool) -> None:
    """Check the host for each executor and print what protection is active and what is missing."""
    from github_runner.executors import doctor

    if cleanup:
        from github_runner.executors.cleanup import sweep

        for line in asyncio.run(sweep()):
            click.echo(f"removed {line}")
    makers = {
        "shell": lambda: doctor.shell_report(user),
        "sandbox": lambda: doctor.sandbox_report(user),
        "docker": lambda: doctor.docker_report(deep),
        "gvisor": lambda: doctor.gvisor_report(deep),
        "egress": doctor.egress_report,
    }
    reports = [makers[only]()] if only else [m() for m in makers.values()]
    if as_json:
        click.echo(json.dumps([{"executor": r.executor, "ready": r.ready, "boundary": r.boundary,
                                "checks": [asdict(c) for c in r.checks], "notes": r.notes} for r in reports],
                              indent=2))
    else:
        for r in reports:
            mark = "ready" if r.ready else "NOT READY"
            click.echo(f"{r.executor}: {mark} - {r.boundary}")
            for c in r.checks:
                mark = "ok " if c.ok else "warn   " if c.advisory else "MISSING"
                click.echo(f"  {mark} {c.name}: {c.detail}")
                if c.fix:
                    click.echo(f"          fix: {c.fix}")
            for n in r.notes:
                click.echo(f"  note: {n}")
    if only and not reports[0].ready:
        sys.exit(1)
