"""End to end: a workflow prints one secret in 17 ways; nothing readable may come out of exec.

`leakrepo/.github/workflows/leak.yml` echoes the secret, writes it to stderr, base64-encodes it
(alone, with a newline, behind prefixes of every alignment), URL-encodes it, pretty-prints it
in JSON, prints it in halves with sleeps between, puts it in a failing command's error, in
annotations, in the step summary, in a step output and a job output, in a Python traceback,
in a shell trace and an env dump, XML-escaped and shell-quoted, in a step's name; and it prints a multi-line
secret whole and line by line, and a value masked at run time with `::add-mask::`.

The run's stdout, stderr and every string in its JSON events are searched for the raw
values and each encoded form (computed here, independently of the masker). The workflow runs
twice: as is, and with `--debug` (step debug lines, the runner's "Run" headers with each step's
env, tracebacks), with the multi-line secret coming from the environment (`--secret-from-env`).
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

HERE = Path(__file__).parent
LEAK = 'Sup3r$ecret "w1th" space&more!/x9'
MULTI_LINES = ["first-line-Qz8x", "second-line-Wv4k", "third-line-Pn2j"]


def bash_q(value: str) -> str:
    """What bash's `printf %q` prints for a value without control characters."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:./-")
    return "".join(c if c in safe else "\\" + c for c in value)


def base64_stable(data: bytes) -> bytes:
    whole, rest = divmod(len(data), 3)
    return base64.b64encode(data)[: 4 * whole + rest]


def forbidden_forms() -> dict[str, str]:
    forms = {
        "raw": LEAK,
        "json": json.dumps(LEAK)[1:-1],
        "url": quote(LEAK, safe=""),
        "xml": html.escape(LEAK),
        "bash %q": bash_q(LEAK),
        "derived add-mask": "derived-" + LEAK[::-1],
        "multi whole": "\n".join(MULTI_LINES),
    }
    for shift in range(3):
        forms[f"base64 shift {shift}"] = base64_stable(LEAK.encode()[shift:]).decode()
    for i, line in enumerate(MULTI_LINES):
        forms[f"multi line {i}"] = line
    return forms


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*strings_in(k), *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@pytest.fixture(scope="module", params=["plain", "debug"])
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], str]:
    repo = tmp_path_factory.mktemp("leak") / "repo"
    shutil.copytree(HERE / "leakrepo", repo)
    events = repo.parent / "events.jsonl"
    argv = [sys.executable, "-m", "github_runner", "exec", "-C", str(repo),
            "-s", f"LEAK={LEAK}", "--json", str(events)]  # fmt: skip
    env = dict(os.environ)
    if request.param == "debug":
        env["LEAK_TEST_MULTI"] = "\n".join(MULTI_LINES)
        argv += ["--debug", "--secret-from-env", "MULTI=LEAK_TEST_MULTI"]
    else:
        secret_file = repo.parent / "secrets.env"
        secret_file.write_text('MULTI="' + "\\n".join(MULTI_LINES) + '"\n')
        argv += ["--secret-file", str(secret_file)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=240, env=env)
    assert events.exists(), f"no events written; stderr:\n{proc.stderr[-3000:]}"
    strings = [s for line in events.read_text().splitlines() for s in strings_in(json.loads(line))]
    return proc, "\n".join(strings)


def test_the_workflow_ran_every_step(run: tuple[subprocess.CompletedProcess[str], str]) -> None:
    proc, events = run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for evidence in ("plain *** end", "to stderr ***", "split: *** done", "q=***", '"token": "***"',
                     "line: ***", "now ***", "ValueError: bad token ***", "Summary with ***",
                     "named step ran", "17 a step name holding ***"):  # fmt: skip
        assert evidence in events, f"missing {evidence!r}: the step did not run or was not masked"


@pytest.mark.parametrize("form", sorted(forbidden_forms()))
def test_no_form_of_the_secret_survives(run: tuple[subprocess.CompletedProcess[str], str], form: str) -> None:
    proc, events = run
    value = forbidden_forms()[form]
    for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("JSON events", events)):
        assert value not in text, f"{form} form of the secret leaked into {name}"


def test_job_outputs_holding_a_secret_are_withheld(run: tuple[subprocess.CompletedProcess[str], str]) -> None:
    """GitHub passes step outputs on within the job (masked when printed) but refuses a job
    output that contains a secret, with a warning; the dependent job sees an empty string."""
    _, events = run
    assert "got 'out-***'" in events
    assert "Skip output 'job_out' since it may contain secret." in events
    assert "job output ''" in events


def test_shlex_quoted_form_is_the_raw_value() -> None:
    """`set -x` and shlex quote with single quotes, which keep the raw value (masked above)."""
    assert LEAK in shlex.quote(LEAK)


def test_a_malformed_secret_file_names_the_line_not_its_text(tmp_path: Path) -> None:
    secrets = tmp_path / "bad.env"
    secrets.write_text(f"GOOD=fine-value\nTOKEN {LEAK}\n")
    argv = [sys.executable, "-m", "github_runner", "exec", "-C", str(HERE / "leakrepo"),
            "--secret-file", str(secrets), "--list"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{secrets}:2: expected NAME=VALUE" in proc.stderr
    assert LEAK not in proc.stderr + proc.stdout
