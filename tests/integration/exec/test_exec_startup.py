"""A cold `exec` only imports what a run needs, and its fast exit keeps output and exit codes.

Start-up cost is mostly imports (see bench/step_overhead.py); these checks keep the lazy ones
lazy: the `regex` engine (only when a problem matcher is added), the egress machinery (only with
egress flags or an `egress:` key), rich (only to box the summary table on a terminal) and
Aho-Corasick (only where Hyperscan is not used).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

LAZY = ("regex", "github_runner.egress.jobs", "rich")
if importlib.util.find_spec("hyperscan") is not None:  # the masker's fallback engine stays unloaded
    LAZY += ("ahocorasick_rs",)


def _imported(repo, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "github_runner", "exec", "-C", str(repo.root), *args],
        check=False, capture_output=True, text=True, env=env, timeout=60,
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return proc, names


def test_a_plain_run_imports_nothing_it_does_not_use(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          one:
            runs-on: ubuntu-latest
            steps:
              - run: echo "::warning::hello" && echo out
        """
    )
    proc, names = _imported(repo)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| out" in proc.stdout and "Run success" in proc.stdout.splitlines()[-1]
    assert "github_runner.engine.steps" in names  # the listing is real: the run was traced
    for lazy in LAZY:
        assert not any(n == lazy or n.startswith(lazy + ".") for n in names), lazy


def test_a_problem_matcher_brings_the_regex_engine_and_a_failure_its_exit_code(repo) -> None:
    repo.file(
        "matcher.json",
        """
        {"problemMatcher": [{"owner": "x", "pattern": [{"regexp": "^(\\\\S+):(\\\\d+): (.*)$", "file": 1, "line": 2, "message": 3}]}]}
        """,
    )
    repo.workflow(
        """
        on: push
        jobs:
          one:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "::add-matcher::matcher.json"
                  echo "a.c:3: broken"
                  exit 5
        """
    )
    proc, names = _imported(repo)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "regex" in names
    assert "Error: broken" in proc.stdout and "Process completed with exit code 5." in proc.stdout
    assert proc.stdout.rstrip().endswith("Run failure")
