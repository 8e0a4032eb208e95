"""`github-runner exec` and secrets at its edges: bad flags, --debug tracebacks, providers.

Each test runs the real command in a subprocess and searches everything it printed for the
secret's text, so each one fails if a value is echoed back anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.secrets.fakevault import FakeVault

SECRET = "Xq7-sEcReT-v4lue-2b9f"
TOKEN_LIKE = "ghp_exampletokenvalue0123456789abcdefAB"  # a valid NAME, so `-s VALUE` looks like `-s NAME`
VAULT_TOKEN = "hvs.exec-flags-root-token-1"
ROLE, SECRET_ID = "role-exec", "secret-id-exec-4e1a"

ECHO = """
on: push
jobs:
  show:
    runs-on: x
    steps:
      - run: |
          echo "token=${{ secrets.TOKEN }} env=${{ secrets.FROM_ENV }} renamed=${{ secrets.RENAMED }}"
          echo "npm=${{ secrets.NPM }} vault-token=$VAULT_TOKEN_COPY"
          if [ "${{ secrets.NPM }}" = "npm_Exec-Tok3n-value" ]; then echo "npm value arrived"; fi
          if [ "${{ secrets.FROM_ENV }}" = "from-env-value-77" ]; then echo "env value arrived"; fi
        env:
          VAULT_TOKEN_COPY: hvs.exec-flags-root-token-1
"""

BOOLEAN_INPUT = """
on:
  workflow_dispatch:
    inputs:
      flag: {type: boolean}
jobs:
  j: {runs-on: x, steps: [{run: echo hi}]}
"""


def run_exec(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        if env is None or name not in env:
            full_env.pop(name, None)
    argv = [sys.executable, "-m", "github_runner", "exec", "-C", str(repo), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=full_env)


def make_repo(tmp_path: Path, workflow: str) -> Path:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(textwrap.dedent(workflow))
    return repo


@pytest.fixture
def echo_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, ECHO)


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    with FakeVault() as server:
        server.state.tokens[VAULT_TOKEN] = ("secret/ci/",)
        server.state.approles[(ROLE, SECRET_ID)] = ("secret/ci/",)
        server.state.put("secret", "ci/npm", {"token": "npm_Exec-Tok3n-value"})
        yield server


# -- gap 2: a malformed argument is named by flag and position, never echoed ----------------


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["-s", "A=fine-value-1", "-s", SECRET], "-s/--secret argument 2"),  # NAME= forgotten
        (["-s", TOKEN_LIKE], "-s/--secret argument 1"),  # looks like NAME, no such variable
        (["-s", f"bad name {SECRET}=x"], "-s/--secret argument 1"),
        (["--secret-from-env", SECRET], "--secret-from-env argument 1"),
        (["--vault-secret", SECRET], "--vault-secret argument 1"),
    ],
)
def test_a_malformed_secret_argument_is_not_echoed(echo_repo: Path, args: list[str], where: str) -> None:
    for extra in ([], ["--debug"]):  # --debug adds the (masked) traceback
        proc = run_exec(echo_repo, *args, *extra, "--list")
        assert proc.returncode == 2, proc.stderr
        assert where in proc.stderr
        output = proc.stdout + proc.stderr
        assert SECRET not in output and TOKEN_LIKE not in output, output


def test_a_secret_file_that_is_not_utf8_is_named_without_its_bytes(echo_repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_bytes(b"TOKEN=" + SECRET.encode() + b"\xff\xfe\n")
    proc = run_exec(echo_repo, "--secret-file", str(bad), "--list")
    assert proc.returncode == 2 and f"--secret-file {bad}: not UTF-8 text (byte" in proc.stderr
    assert "Traceback" not in proc.stderr and SECRET not in proc.stderr + proc.stdout


# -- gap 4: --debug tracebacks and error lines go through the masker -------------------------


def test_debug_traceback_of_bad_input_is_masked(tmp_path: Path) -> None:
    """A non-secret flag's error quotes its value; when that value is a secret, the error line
    and the --debug traceback (which repeats the message twice, chained) show `***`."""
    repo = make_repo(tmp_path, BOOLEAN_INPUT)
    proc = run_exec(repo, "workflow_dispatch", "-s", f"TOKEN={SECRET}", "--input", f"flag={SECRET}", "--debug")
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert "error: --input flag=***: input 'flag' is a boolean" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout


def test_a_crash_traceback_is_masked(echo_repo: Path, tmp_path: Path) -> None:
    """An unexpected exception (here: the --json file cannot be created, and its path holds the
    secret) prints its traceback through the run's masker, exit 1."""
    target = tmp_path / f"no-such-dir-{SECRET}" / "events.jsonl"
    proc = run_exec(echo_repo, "-s", f"TOKEN={SECRET}", "--json", str(target))
    assert proc.returncode == 1
    assert "FileNotFoundError" in proc.stderr and "no-such-dir-***" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout


# -- gap 6: --secret-from-env and --vault-secret ---------------------------------------------


def test_secrets_from_the_environment_and_vault_reach_the_job_masked(echo_repo: Path, vault: FakeVault) -> None:
    env = {"FROM_ENV": "from-env-value-77", "OTHER_VAR": "renamed-value-88", "VAULT_TOKEN": VAULT_TOKEN}
    proc = run_exec(
        echo_repo, "-s", f"TOKEN={SECRET}", "--secret-from-env", "FROM_ENV",
        "--secret-from-env", "RENAMED=OTHER_VAR", "--vault-addr", vault.url,
        "--vault-secret", "NPM=secret/ci/npm#token", env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "token=*** env=*** renamed=***" in output
    assert "npm=*** vault-token=***" in output  # the Vault token is masked, not a job secret
    assert "npm value arrived" in output and "env value arrived" in output
    for value in (SECRET, "from-env-value-77", "renamed-value-88", "npm_Exec-Tok3n-value", VAULT_TOKEN):
        assert value not in output
    assert ("GET", "/v1/secret/data/ci/npm") == vault.state.requests[-1][:2]


def test_vault_approle_from_the_environment(echo_repo: Path, vault: FakeVault) -> None:
    env = {"VAULT_ADDR": vault.url, "VAULT_ROLE_ID": ROLE, "VAULT_SECRET_ID": SECRET_ID}
    proc = run_exec(echo_repo, "--vault-secret", "NPM=secret/ci/npm#token", env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "npm=***" in output and "npm value arrived" in output
    assert "npm_Exec-Tok3n-value" not in output and SECRET_ID not in output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--vault-secret", "NPM=secret/ci/missing#token"], {"VAULT_TOKEN": VAULT_TOKEN},
         "secret/ci/missing: HTTP 404"),
        (["--vault-secret", "NPM=secret/other/x#token"], {"VAULT_TOKEN": VAULT_TOKEN},
         "secret/other/x: HTTP 403"),
        (["--vault-secret", "NPM=secret/ci/npm#token"], {"VAULT_TOKEN": "hvs.wrong-token-value-9"},
         "secret/ci/npm: HTTP 403"),
        (["--vault-secret", "NPM=secret/ci/npm#token"], {}, "no Vault credentials"),
        (["--secret-from-env", "NOT_SET_ANYWHERE_1"], {}, "--secret-from-env argument 1"),
    ],
)
def test_provider_errors_are_bad_input_naming_path_and_status(
    echo_repo: Path, vault: FakeVault, args: list[str], env: dict[str, str], message: str
) -> None:
    proc = run_exec(echo_repo, "--vault-addr", vault.url, *args, "--list", env=env)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    for token in (VAULT_TOKEN, "hvs.wrong-token-value-9"):
        assert token not in proc.stderr + proc.stdout
