"""`github-runner exec`: run workflows of a local repository on this machine, GitHub-exact.

Exit codes: 0 the run succeeded, 1 it failed, 2 bad input (nothing was started), 130 cancelled.
Imports are deferred into the command body: `exec --help` and a one-step run must start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from github_runner.egress.options import egress_options
from github_runner.secrets.flags import secret_source_options

if TYPE_CHECKING:
    from github_runner.secrets.masker import Masker
    from github_runner.secrets.store import SecretStore

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130


class BadInput(Exception):
    """Reported as one line (no traceback unless --debug), exit code 2."""


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
    from github_runner.secrets.store import SecretStore

    debug = bool(options.get("debug"))
    secrets = SecretStore()  # every secret the flags give; closed (zeroised) on the way out
    try:
        code = _main(options, secrets)
    except BadInput as exc:
        mask = _error_masker(secrets, options)
        if debug:
            click.echo(_masked_traceback(exc, mask), err=True, nl=False)
        for line in mask.mask(str(exc)).splitlines() or [""]:
            click.echo(f"error: {line}", err=True)
        code = EXIT_BAD_INPUT
    except Exception as exc:  # a bug: its traceback may quote anything, so it is masked too
        click.echo(_masked_traceback(exc, _error_masker(secrets, options)), err=True, nl=False)
        code = EXIT_FAILURE
    finally:
        secrets.close()
    _exit(code)


def _exit(code: int) -> NoReturn:
    """Leave with `code`. The top-level `github-runner` process skips the interpreter's
    teardown (freeing every module and object: ~30 ms of a cold one-step run here) once atexit
    handlers have run and output is flushed. Inside another program (tests, CliRunner), with
    other threads alive, or after egress machinery was loaded (its clean-up is not ours to
    second-guess), it exits normally."""
    import threading

    if _is_cli_process() and threading.active_count() == 1 and "github_runner.egress.jobs" not in sys.modules:
        import atexit
        import os

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


def _is_cli_process() -> bool:
    """Is this process `github-runner ...` or `python -m github_runner ...` itself?"""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "github_runner.__main__":
        return True
    return Path(getattr(main, "__file__", None) or "").name == "github-runner"


def _error_masker(secrets: SecretStore, options: dict) -> Masker:
    """The run's masker if it started, else one of every secret known so far (and, as a
    fallback, the VALUE part of each `-s` argument, in case parsing stopped before storing it)."""
    from github_runner.secrets.masker import Masker

    masker = secrets.masker or Masker()
    if not secrets.closed:
        secrets.attach(masker)
    for item in options.get("secrets") or ():
        value = str(item).partition("=")[2]
        if len(value) >= masker.min_length and value.strip():
            masker.add(value, source="-s/--secret")
    return masker


def _masked_traceback(exc: BaseException, masker: Masker) -> str:
    from github_runner.secrets.logfilter import masked_traceback

    return masked_traceback(exc, masker)


def _egress_flags(options: dict) -> bool:
    """Any egress flag given? Without one (and no `egress:` in the workflows) the egress
    package is not even imported: it costs a cold start ~0.2 s."""
    return any(
        options.get(k) not in (None, (), "", "off")
        for k in ("egress_mode", "egress_allow", "egress_allowlist", "egress_upstream", "egress_log")
    )


def _main(options: dict, secrets: SecretStore) -> int:
    from github_runner.engine.localrun import LocalRun, LocalRunError

    try:
        run = LocalRun.from_options(options, secrets)
    except LocalRunError as exc:
        raise BadInput(str(exc)) from exc
    if _egress_flags(options) or run.mentions_egress():
        from github_runner.egress.jobs import network_from_options

        try:  # egress flags -> the engine's per-job network seam (RunnerInfo.network)
            run.network = network_from_options(options)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
    if options.get("list_only"):
        click.echo(run.listing())
        return 0
    if options.get("dry_run"):
        click.echo(run.plan_text())
        return 0
    return run.execute()
