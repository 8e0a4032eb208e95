"""`github-runner egress ...`: audit reports, allowlist checks, stale-gateway sweep."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click


@click.group("egress")
def egress_cmd() -> None:
    """Egress control: turn audit logs into allowlists, check them, clean up."""


@egress_cmd.command("report")
@click.argument("audits", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--check", "check", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Exit 1 when a run used an endpoint this allowlist does not allow.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
def report_cmd(audits: tuple[Path, ...], fmt: str, check: Path | None, out: Path | None) -> None:
    """Turn one or more JSONL audit logs into an allowlist report."""
    from github_runner.egress import report
    from github_runner.egress.allowlist import AllowlistError, load_file

    try:
        rep = report.load(audits)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    text = report.render_json(rep) if fmt == "json" else report.render_markdown(rep)
    if out is not None:
        out.write_text(text)
    else:
        click.echo(text, nl=False)
    if check is not None:
        try:
            allowlist = load_file(str(check), check.read_text())
        except AllowlistError as exc:
            raise click.ClickException(str(exc)) from None
        missing = rep.uncovered(allowlist)
        if missing:
            click.echo(f"egress check: {len(missing)} endpoint(s) not in {check}:", err=True)
            for m in missing:
                click.echo(f"  {m}", err=True)
            sys.exit(1)
        click.echo(f"egress check: every endpoint is in {check}", err=True)


@egress_cmd.command("check-allowlist")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_allowlist_cmd(path: Path) -> None:
    """Parse an allowlist file and print its entries in canonical form."""
    from github_runner.egress.allowlist import AllowlistError, load_file

    try:
        allowlist = load_file(str(path), path.read_text())
    except AllowlistError as exc:
        raise click.ClickException(str(exc)) from None
    for entry in allowlist.canonical():
        click.echo(entry)


@egress_cmd.command("sweep")
def sweep_cmd() -> None:
    """Remove gateways (gr-*-gw namespaces) left behind by a crashed runner."""
    from github_runner.egress.gateway import sweep_stale

    for name in asyncio.run(sweep_stale()):
        click.echo(f"removed {name}")


@egress_cmd.command("doctor")
def doctor_cmd() -> None:
    """Check that this host can build egress gateways; say what egress means per executor."""
    from github_runner.egress.doctor import EXECUTOR_NOTES, checks

    results = checks()
    for c in results:
        click.echo(f"  {'ok ' if c.ok else 'MISSING'} {c.name}: {c.detail}")
        if not c.ok and c.fix:
            click.echo(f"          fix: {c.fix}")
    for executor, note in EXECUTOR_NOTES.items():
        click.echo(f"  {executor}: {note}")
    if not all(c.ok for c in results):
        sys.exit(1)
