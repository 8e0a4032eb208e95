"""The listener must stay small: no job engine, no executor backends, no JWT library, no rich."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("github_runner.engine", "github_runner.worker", "github_runner.executors.shell",
             "github_runner.executors.docker", "docker", "jwt", "rich", "pygments")


def test_run_command_imports_no_engine() -> None:
    code = ("import sys, json; import github_runner.cli.run_cmd, github_runner.listener.service, "
            "github_runner.listener.sweep, github_runner.config.runtime, "
            "github_runner.github.registration; print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
