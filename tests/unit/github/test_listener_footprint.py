"""The listener must stay small: no job engine, no executor backends, no JWT library, no rich.

And the process `github-runner run` execs into (listener/process.py) leaves config validation
(pydantic, the executors' and egress' settings) and the command line (click) behind.
"""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("github_runner.engine", "github_runner.worker", "github_runner.executors.shell",
             "github_runner.executors.docker", "docker", "jwt", "rich", "pygments")
LISTENER_FORBIDDEN = (*FORBIDDEN, "pydantic", "pydantic_core", "click", "github_runner.cli",
                      "github_runner.config.settings", "github_runner.config.loader",
                      "github_runner.executors", "github_runner.egress")


def _loaded_by(modules: str) -> list[str]:
    code = f"import sys, json; import {modules}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


def _hits(loaded: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)]


def test_run_command_imports_no_engine() -> None:
    loaded = _loaded_by("github_runner.cli.run_cmd, github_runner.listener.service, "
                        "github_runner.listener.sweep, github_runner.config.runtime, "
                        "github_runner.github.registration")
    assert _hits(loaded, FORBIDDEN) == []


def test_listener_process_imports_no_validation_or_cli() -> None:
    loaded = _loaded_by("github_runner.listener.process, github_runner.listener.service, "
                        "github_runner.listener.memory, github_runner.config.runtime, "
                        "github_runner.config.state")
    assert "github_runner.listener.slot" in loaded  # the check sees the listener's real imports
    assert _hits(loaded, LISTENER_FORBIDDEN) == []
