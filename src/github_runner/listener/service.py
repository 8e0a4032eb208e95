"""The runner service: N slots (one per registered identity), one HTTP client, signals.

SIGTERM/SIGINT once: stop taking jobs, let running jobs finish, delete sessions, exit.
Twice: cancel the running jobs (they run their `always()` steps and report `canceled`), then
exit. Workers that ignore the cancel are killed after `listener.cancel_timeout`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from github_runner.config.plain import PlainSettings
from github_runner.config.state import StateDir
from github_runner.github.http import ApiClient
from github_runner.listener.memory import release_memory
from github_runner.listener.slot import Slot
from github_runner.listener.supervisor import WorkerProcess
from github_runner.listener.sweep import sweep_leftovers

log = logging.getLogger("github_runner.listener")


class Service:
    def __init__(self, settings: PlainSettings, state: StateDir, *, once: bool = False) -> None:
        self.settings = settings
        self.state = state
        self.once = once
        self.stopping = False
        self.cancelling = False
        self.slots: list[Slot] = []
        self.worker_settings: dict[str, Any] = settings.data
        self.spare: asyncio.Future[WorkerProcess] | None = None

    async def take_worker(self, runner_name: str, job_id: str) -> WorkerProcess:
        """A warm worker (engine imported, client built) if one is ready; a new spare follows."""
        task, self.spare = self.spare, None
        worker: WorkerProcess | None = None
        if task is not None:
            try:
                worker = await task
            except OSError:
                worker = None
        if worker is None or worker.proc is None or worker.proc.returncode is not None:
            worker = WorkerProcess(runner_name, job_id)
            await worker.spawn(self.worker_settings)
        worker.runner_name, worker.job_id = runner_name, job_id
        if self.settings.listener.warm_workers and not self.stopping:
            asyncio.get_running_loop().call_later(0.5, self._refill)
        return worker

    def _refill(self) -> None:
        if self.spare is None and not self.stopping:
            async def make() -> WorkerProcess:
                w = WorkerProcess("spare", "")
                await w.spawn(self.worker_settings)
                return w

            self.spare = asyncio.ensure_future(make())

    async def _discard_spare(self) -> None:
        task, self.spare = self.spare, None
        if task is not None:
            try:
                await (await task).discard()
            except OSError:
                pass

    def request_stop(self) -> None:
        if not self.stopping:
            self.stopping = True
            log.info("stopping: no new jobs; running jobs will finish (signal again to cancel)")
            for s in self.slots:
                s.stop_polling()
        elif not self.cancelling:
            self.cancelling = True
            log.info("cancelling running jobs")
            for s in self.slots:
                asyncio.ensure_future(s.cancel_job())
                s.stop_polling()

    async def _settled(self, limit: float = 120.0) -> None:
        """Once every slot is listening (or after `limit` s), give start-up's heap back."""
        deadline = asyncio.get_running_loop().time() + limit
        while not all(s.has_session or s.fatal for s in self.slots) \
                and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # the first long polls are in flight; their set-up is done
        release_memory()

    def job_ended(self) -> None:
        """A job's bookkeeping is garbage now; trim when no other job is running."""
        if not any(s.worker is not None for s in self.slots):
            release_memory()

    async def run(self) -> int:
        identities = self.state.identities()
        if not identities:
            log.error("no runner is registered in %s: run `github-runner register` first",
                      self.state.root)
            return 1
        await sweep_leftovers()  # a previous listener may have died with jobs running
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        async with ApiClient(self.settings.http_settings()) as api:
            self.slots = [Slot(self, ident, api) for ident in identities]
            log.info("listening with %d slot(s): %s", len(self.slots),
                     ", ".join(s.name for s in self.slots))
            if self.settings.listener.warm_workers:
                self._refill()
            settle = asyncio.create_task(self._settled())
            try:
                await asyncio.gather(*(s.run() for s in self.slots))
            finally:
                settle.cancel()
                await self._discard_spare()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        fatal = [s for s in self.slots if s.fatal]
        return 1 if fatal else 0
