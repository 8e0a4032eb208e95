"""Keeps the job lock: first renew before the job starts, then every `interval` seconds.

A 404 (the job is no longer ours) or no successful renew for `give_up_after` seconds means the
lock is lost: the job is stopped and not completed (GitHub has already failed it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from github_runner.github.errors import GitHubError, JobNotFoundError
from github_runner.github.transport import GitHubTransport

log = logging.getLogger("github_runner.worker.renew")


class LockLost(Exception):
    pass


class LockRenewer:
    def __init__(self, transport: GitHubTransport, interval: float, on_lost: Callable[[str], None],
                 *, give_up_after: float = 900.0, first_attempts: int = 5,
                 first_delay: float = 1.0) -> None:
        self.transport = transport
        self.interval = interval
        self.on_lost = on_lost
        self.give_up_after = give_up_after
        self.first_attempts = first_attempts
        self.first_delay = first_delay
        self.renewals = 0
        self.last_ok = time.monotonic()

    async def first(self) -> None:
        """The worker does not start the job until this succeeds."""
        for attempt in range(self.first_attempts):
            try:
                await self.transport.renew()
                self.renewals += 1
                self.last_ok = time.monotonic()
                return
            except JobNotFoundError as exc:
                raise LockLost(f"the job is no longer ours: {exc}") from None
            except GitHubError as exc:
                log.warning("first lock renewal failed (%d/%d): %s", attempt + 1,
                            self.first_attempts, exc)
                await asyncio.sleep(self.first_delay * (attempt + 1))
        raise LockLost("could not renew the job lock before starting")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.transport.renew()
                self.renewals += 1
                self.last_ok = time.monotonic()
            except JobNotFoundError as exc:
                self.on_lost(f"the server no longer knows this job ({exc})")
                return
            except GitHubError as exc:
                since = time.monotonic() - self.last_ok
                log.warning("renewing the job lock failed (%.0fs since the last success): %s",
                            since, exc)
                if since > self.give_up_after:
                    self.on_lost("the job lock could not be renewed in time")
                    return
