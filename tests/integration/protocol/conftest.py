"""Fixtures: a FakeGitHub on loopback (TLS, test CA) and helpers that drive the real CLI."""

from __future__ import annotations

import os
import shutil
import tempfile
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakegithub import FakeGitHub

REPO = Path(__file__).resolve().parents[3]


def _job_user() -> str:
    try:
        pwd.getpwnam("ghr-job")
        return 'user = "ghr-job"'
    except KeyError:
        return "allow_root = true" if os.geteuid() == 0 else ""


@dataclass
class Runner:
    """One runner installation: config file + state dir, driven through the real CLI."""

    root: Path
    fake: FakeGitHub
    work: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def write_config(self, extra: str = "", concurrency: int = 1) -> None:
        self.config.write_text(f"""
[runner]
state_dir = "state"
work_dir = "{self.work}"
concurrency = {concurrency}
labels = ["linux-test"]

[http]
ca_bundle = "{self.fake.ca.ca_pem}"
max_retries = 4
backoff_base = 0.05
backoff_max = 0.5
timeout = 20

[listener]
poll_timeout = 10
retry_interval = 0.3
session_conflict_timeout = 3
renew_interval = 1
complete_retries = 3
complete_retry_interval = 0.2

[executor]
name = "shell"
{_job_user()}
{extra}
""")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_RUNNER")}
        env["GITHUB_RUNNER_CONFIG"] = str(self.config)
        env["PYTHONPATH"] = str(REPO / "src")
        return env

    def cli(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([sys.executable, "-m", "github_runner", *args], env=self.env(),
                           capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and p.returncode != 0:
            raise AssertionError(f"github-runner {args[0]} exited {p.returncode}:\n{p.stderr}")
        return p

    def register(self, *extra: str, name: str = "r1") -> subprocess.CompletedProcess[str]:
        return self.cli("register", "--url", self.fake.repo_url, "--token",
                        self.fake.registration_token(), "--name", name, *extra)

    def start(self, *extra: str) -> subprocess.Popen[str]:
        self.log = self.root / f"run-{time.monotonic_ns()}.log"
        fh = open(self.log, "w")
        return subprocess.Popen([sys.executable, "-m", "github_runner", "run", *extra],
                                env=self.env(), stdout=fh, stderr=subprocess.STDOUT, text=True,
                                cwd=self.root)

    def output(self) -> str:
        return self.log.read_text()


def stop(proc: subprocess.Popen[str], timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the runner did not stop on SIGTERM")


@pytest.fixture(params=["v2", "v1"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def make_fake(tmp_path: Path, **kw: object) -> FakeGitHub:
    return FakeGitHub(tmp_path, **kw).start()  # type: ignore[arg-type]


def new_runner(tmp_path: Path, fake: FakeGitHub, work: Path) -> Runner:
    """A runner installation (config written, nothing registered) for a test's own fake."""
    r = Runner(tmp_path / "runner", fake, work)
    r.root.mkdir()
    r.write_config()
    return r


@pytest.fixture
def fake(tmp_path: Path, mode: str) -> Iterator[FakeGitHub]:
    f = make_fake(tmp_path, mode=mode, poll_hold=1.0)
    yield f
    f.stop()


@pytest.fixture
def work_dir() -> Iterator[Path]:
    """Job work dirs outside pytest's 0700 tmp tree, so the unprivileged job user can enter."""
    d = Path(tempfile.mkdtemp(prefix="ghr-proto-work-"))
    d.chmod(0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def runner(tmp_path: Path, fake: FakeGitHub, work_dir: Path) -> Runner:
    return new_runner(tmp_path, fake, work_dir)
