"""The body of `github-runner exec`, free of click at import: the command-line entry parses a
plain run's flags itself (`cli/exec_fast.py`) and comes straight here, so a cold one-step run
does not import click (~10 ms of a ~150 ms start). click is imported only where something is
printed through `click.echo` (listing, plan, errors), so that output stays byte-identical.

Exit codes: 0 the run succeeded, 1 it failed, 2 bad input (nothing was started), 130 cancelled.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from github_runner.secrets.masker import Masker
    from github_runner.secrets.store import SecretStore

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130


class BadInput(Exception):
    """Reported as one line (no traceback unless --debug), exit code 2."""


def run(options: dict) -> NoReturn:
    """Run with the options `exec` parsed (click's parameter names, types and defaults)."""
    from github_runner.secrets.store import SecretStore

    debug = bool(options.get("debug"))
    secrets = SecretStore()  # every secret the flags give; closed (zeroised) on the way out
    try:
        code = _main(options, secrets)
    except BadInput as exc:
        import click

        mask = _error_masker(secrets, options)
        if debug:
            click.echo(_masked_traceback(exc, mask), err=True, nl=False)
        for line in mask.mask(str(exc)).splitlines() or [""]:
            click.echo(f"error: {line}", err=True)
        code = EXIT_BAD_INPUT
    except Exception as exc:  # a bug: its traceback may quote anything, so it is masked too
        import click

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
        import click

        click.echo(run.listing())
        return 0
    if options.get("dry_run"):
        import click

        click.echo(run.plan_text())
        return 0
    return run.execute()
