"""`github-runner exec`: run workflows of a local repository on this machine, GitHub-exact.

Exit codes: 0 the run succeeded, 1 it failed, 2 bad input (nothing was started), 130 cancelled.
The body is `cli/exec_main.py`; a plain run parses its flags without click (`cli/exec_fast.py`),
and this command is what parses everything else (help, errors, unusual forms).
"""

from __future__ import annotations

from pathlib import Path

import click

from github_runner.cli.exec_main import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_FAILURE, BadInput, run
from github_runner.egress.options import egress_options
from github_runner.secrets.flags import secret_source_options

__all__ = ["EXIT_BAD_INPUT", "EXIT_CANCELLED", "EXIT_FAILURE", "BadInput", "exec_cmd"]

@click.command("exec", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("event", required=False)
@click.option("-W", "--workflows", "workflows", type=click.Path(path_type=Path), multiple=True,
              help="Workflow file or folder, repeatable (default: .github/workflows under -C).")
@click.option("-j", "--job", "jobs", multiple=True, help="Run only this job (and what it needs).")
@click.option("--list", "list_only", is_flag=True, help="List the jobs and exit.")
@click.option("--dry-run", is_flag=True, help="Validate and show the plan; run nothing.")
@click.option("-C", "--directory", type=click.Path(path_type=Path), default=Path("."),
              help="Repository root (GITHUB_WORKSPACE).")
@click.option("--eventpath", "-e", type=click.Path(path_type=Path), help="Event payload JSON.")
@click.option("-s", "--secret", "secrets", multiple=True, help="NAME=VALUE (or NAME: from $NAME).")
@click.option("--secret-file", type=click.Path(path_type=Path), help="dotenv file of secrets.")
@click.option("--var", "vars_", multiple=True, help="Configuration variable NAME=VALUE.")
@click.option("--var-file", type=click.Path(path_type=Path), help="dotenv file of variables.")
@click.option("--env-file", type=click.Path(path_type=Path), help="dotenv file of environment.")
@click.option("--input", "inputs", multiple=True, help="workflow_dispatch/workflow_call input k=v.")
@click.option("--matrix", "matrix_", multiple=True, help="Only matrix combinations with k:v.")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="Jobs run in parallel at most.")
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Write JSONL events here.")
@click.option("--executor", default="shell", show_default=True,
              type=click.Choice(["shell", "sandbox", "docker", "gvisor"]))
@click.option("--debug", is_flag=True, help="Step debug logs and tracebacks.")
@secret_source_options
@egress_options
def exec_cmd(**options: object) -> None:
    """Run a workflow locally: `github-runner exec [EVENT]` (EVENT defaults to push)."""
    run(options)
