"""One worker subprocess per job: the job message goes in on a pipe, the exit code comes back.

The worker gets the job message (with its job-scoped token) and the non-secret settings; it
never gets the runner's RSA key or OAuth token, and its environment is scrubbed of the
variables the listener may have been given credentials through. Control frames (cancel) follow
the job frame on the same pipe, one JSON object per line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from typing import Any

log = logging.getLogger("github_runner.listener.supervisor")

# Exit codes of `github-runner worker`.
EXIT_COMPLETED = 0  # the job ran and its completion was reported
EXIT_NOT_REPORTED = 2  # the job's result could not be reported (listener reports failure)
EXIT_BAD_MESSAGE = 3  # the job message could not be used (listener reports failure if it can)
EXIT_LOCK_LOST = 4  # the server said the job is no longer ours

SCRUB_ENV = ("GITHUB_RUNNER_TOKEN", "ACTIONS_RUNNER_INPUT_TOKEN", "RUNNER_TOKEN",
             "ACTIONS_RUNNER_INPUT_PAT", "GITHUB_TOKEN")


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerProcess:
    def __init__(self, runner_name: str, job_id: str) -> None:
        self.runner_name = runner_name
        self.job_id = job_id
        self.proc: asyncio.subprocess.Process | None = None
        self.cancelled = False

    async def spawn(self, settings: dict[str, Any]) -> None:
        """Start the process and give it the (non-secret) settings: it imports the engine,
        builds its HTTP client and executor, then waits for its job on stdin."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "github_runner", "worker",
            stdin=asyncio.subprocess.PIPE, env=worker_env(), start_new_session=True,
        )
        await self._send({"type": "settings", "settings": settings})

    async def send_job(self, message: bytes, runner: dict[str, Any]) -> None:
        await self._send({"type": "job", "runner": runner,
                          "message": message.decode("utf-8", "replace")})

    async def discard(self) -> None:
        """An unused warm worker: closing its stdin makes it exit quietly."""
        if self.proc is None or self.proc.returncode is not None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        await self.wait(kill_after=10)

    async def _send(self, frame: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(frame).encode() + b"\n")
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            log.warning("worker for job %s is gone; cannot send %s", self.job_id, frame["type"])

    async def cancel(self, reason: str = "cancelled") -> None:
        if self.cancelled or self.proc is None or self.proc.returncode is not None:
            return
        self.cancelled = True
        log.info("cancelling job %s on %s (%s)", self.job_id, self.runner_name, reason)
        await self._send({"type": "cancel", "reason": reason})

    async def wait(self, kill_after: float | None = None) -> int:
        assert self.proc is not None
        if kill_after is None:
            return await self.proc.wait()
        try:
            return await asyncio.wait_for(self.proc.wait(), kill_after)
        except asyncio.TimeoutError:
            self.kill()
            return await self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
