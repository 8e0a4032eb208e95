"""The listener's own process: `github-runner run` validates, then execs into it.

Why an exec: validating `config.toml` needs pydantic (and the executors' and egress' section
validators), and the command line needs click; none of that is used again by a listener that
idles for days, and an imported module's memory is never given back. Replacing the process
image (same pid, same stdio, same signals) drops ~20 MB of idle RSS; the validated settings
come across in a memfd as JSON, see config/plain.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from github_runner.config.plain import PlainSettings

FD_FLAG = "--settings-fd"


def exec_listener(settings: PlainSettings, state_dir: Path, *, once: bool) -> None:
    """Replace this process with `python -m github_runner.listener`; does not return."""
    wire = {**settings.to_wire(), "state_dir": str(state_dir), "once": once}
    fd = os.memfd_create("github-runner-settings")
    os.write(fd, json.dumps(wire).encode())
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "github_runner.listener", FD_FLAG, str(fd)])


def _read_wire(argv: list[str]) -> dict[str, Any]:
    if len(argv) != 2 or argv[0] != FD_FLAG or not argv[1].isdigit():
        raise SystemExit("usage: python -m github_runner.listener --settings-fd N "
                         "(started by `github-runner run`)")
    with os.fdopen(int(argv[1]), "rb") as fh:
        return dict(json.loads(fh.read()))


def main(argv: list[str]) -> int:
    from github_runner.config.runtime import setup_logging
    from github_runner.config.state import StateDir, StateError
    from github_runner.github.errors import GitHubError
    from github_runner.listener.service import Service

    wire = _read_wire(argv)
    settings = PlainSettings.from_wire(wire)
    setup_logging(settings, name="listener")
    try:
        return asyncio.run(Service(settings, StateDir(Path(wire["state_dir"])),
                                   once=bool(wire["once"])).run())
    except (StateError, GitHubError) as exc:  # the same one-line errors as `run` before the exec
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers are in place, as cli/main.py
        return 130
