"""Run the real `github-runner exec` in a subprocess against workflows written into tmp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class ExecResult:
    code: int
    out: str
    err: str


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / ".github" / "workflows").mkdir(parents=True)

    def workflow(self, text: str, name: str = "ci.yml") -> Path:
        path = self.root / ".github" / "workflows" / name
        path.write_text(textwrap.dedent(text))
        return path

    def file(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def exec(self, *args: str, timeout: float = 60) -> ExecResult:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        proc = subprocess.run(
            [sys.executable, "-m", "github_runner", "exec", "-C", str(self.root), *args],
            capture_output=True, text=True, timeout=timeout, env=env,
        )
        return ExecResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")
