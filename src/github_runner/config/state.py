"""The state directory: runner identities and their credentials, 0700 dir / 0600 files.

Layout (one sub-directory per runner identity, so `concurrency = N` is N identities):

    <state>/runners/<name>/.runner                 which service/agent (no secret)
    <state>/runners/<name>/.credentials            client id + token URL (no secret)
    <state>/runners/<name>/.credentials_rsaparams  the RSA private key (secret)

Writes are atomic (temp file + rename) and registration writes into a staging directory that
is renamed into place only when complete, so a failed `register` leaves no half-written state.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from msgspec import Struct

from github_runner.github.models import CredentialsFile, RunnerSettingsFile

ENV_STATE = "GITHUB_RUNNER_STATE"
RUNNER_FILE = ".runner"
CREDENTIALS_FILE = ".credentials"
KEY_FILE = ".credentials_rsaparams"


class StateError(Exception):
    pass


def default_state_dir() -> Path:
    if os.environ.get(ENV_STATE):
        return Path(os.environ[ENV_STATE])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "github-runner"


def write_private(path: Path, data: bytes) -> None:
    """Atomically write `data` to `path` with mode 0600 from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> Any:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return json.loads(raw)


class Identity(Struct):
    """One registered runner: its settings, credentials and private key parameters."""

    directory: Path
    runner: RunnerSettingsFile
    credentials: CredentialsFile
    rsaparams: dict[str, str]

    @property
    def name(self) -> str:
        return self.runner.agent_name


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runners = root / "runners"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.runners.mkdir(exist_ok=True, mode=0o700)

    def identities(self) -> list[Identity]:
        if not self.runners.is_dir():
            return []
        out = []
        for d in sorted(self.runners.iterdir()):
            if d.is_dir() and not d.name.startswith(".") and (d / RUNNER_FILE).exists():
                out.append(self.load(d))
        return out

    def load(self, d: Path) -> Identity:
        try:
            runner = RunnerSettingsFile.from_json(_read_json(d / RUNNER_FILE))
            creds = CredentialsFile.from_json(_read_json(d / CREDENTIALS_FILE))
            params = _read_json(d / KEY_FILE)
        except FileNotFoundError as exc:
            raise StateError(f"{d}: incomplete runner state, missing {Path(exc.filename).name}: "
                             "run `github-runner remove --local` and register again") from None
        except (ValueError, TypeError) as exc:
            raise StateError(f"{d}: unreadable runner state: {exc}") from None
        if not isinstance(params, dict):
            raise StateError(f"{d / KEY_FILE}: not a JSON object")
        return Identity(d, runner, creds, {str(k): str(v) for k, v in params.items()})

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private scratch dir inside the state dir; removed unless its contents were committed."""
        self.ensure()
        tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.runners))
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def write_identity(d: Path, runner: dict[str, Any], credentials: dict[str, Any],
                       rsaparams: dict[str, Any]) -> None:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(d / RUNNER_FILE, json.dumps(runner, indent=2).encode())
        write_private(d / CREDENTIALS_FILE, json.dumps(credentials, indent=2).encode())
        write_private(d / KEY_FILE, json.dumps(rsaparams).encode())

    def commit(self, staged: dict[str, Path]) -> None:
        """Move fully written identity dirs (name -> staged dir) into place, all or nothing."""
        for name in staged:
            if (self.runners / name).exists():
                raise StateError(f"{self.runners / name}: already exists")
        done: list[Path] = []
        try:
            for name, src in staged.items():
                dst = self.runners / name
                os.rename(src, dst)
                done.append(dst)
        except OSError:
            for dst in done:
                shutil.rmtree(dst, ignore_errors=True)
            raise

    def remove(self, identity: Identity) -> None:
        shutil.rmtree(identity.directory, ignore_errors=True)
