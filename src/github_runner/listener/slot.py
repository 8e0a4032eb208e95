"""One runner identity: its session, its poll loop and at most one running job.

The loop keeps polling while a job runs (status `Busy`) so that a `JobCancellation` reaches
it; a status change aborts the in-flight long poll and re-polls at once, as the official
runner does. Bad messages are logged by id and dropped; the slot keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import string
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from github_runner.config.state import Identity
from github_runner.github import completion, runservice
from github_runner.github.actions import ActionsService
from github_runner.github.errors import (
    AccessDeniedError,
    AuthError,
    GitHubError,
    JobNotFoundError,
    JobTakenError,
    MessageError,
    RunnerDeletedError,
    RunnerVersionTooOldError,
    SessionConflictError,
    SessionExpiredError,
)
from github_runner.github.http import ApiClient
from github_runner.github.models import JobEssentials, JobReference, QueueMessage
from github_runner.listener.queue import ActionsQueue, make_credential, make_queue
from github_runner.listener.supervisor import EXIT_COMPLETED, EXIT_LOCK_LOST, WorkerProcess
from github_runner.listener.sweep import sweep_leftovers

if TYPE_CHECKING:
    from github_runner.listener.service import Service

log = logging.getLogger("github_runner.listener")

FATAL = (RunnerDeletedError, RunnerVersionTooOldError, AccessDeniedError)
_PRINTABLE = set(string.ascii_letters + string.digits + "._-")


def _safe_type(t: str) -> str:
    return "".join(c if c in _PRINTABLE else "?" for c in t[:64])


class Slot:
    def __init__(self, service: "Service", ident: Identity, api: ApiClient) -> None:
        self.service = service
        self.ident = ident
        self.api = api
        self.timings = service.settings.listener
        self.cred = make_credential(api, ident)
        self.queue = make_queue(api, ident, self.cred, self.timings)
        self.has_session = False
        self.worker: WorkerProcess | None = None
        self.job: JobEssentials | None = None
        self.supervise_task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        self.seen: deque[str] = deque(maxlen=256)
        self.jobs_done = 0
        self.fatal: str | None = None
        self.gone = False  # an ephemeral runner deleted by the server after its job
        self._ack_task: asyncio.Task[None] | None = None
        self.message_received_at: float | None = None

    @property
    def name(self) -> str:
        return self.ident.name

    @property
    def one_job(self) -> bool:
        return self.service.once or self.ident.runner.ephemeral

    def _done(self) -> bool:
        if self.worker is not None:
            return False
        return self.service.stopping or self.gone or (self.one_job and self.jobs_done > 0)

    async def run(self) -> None:
        try:
            while not self._done() and self.fatal is None:
                try:
                    if not self.has_session and not await self._open_session():
                        continue
                    msg = await self._poll()
                    if msg is not None:
                        await self._handle(msg)
                except Exception:  # noqa: BLE001 - a surprise from the server must not end the slot
                    log.exception("%s: unexpected error; carrying on", self.name)
                    await self._sleep(self.timings.retry_interval)
        finally:
            if self.supervise_task is not None:
                await asyncio.shield(self.supervise_task)
            await self._close_session()
            if self.ident.runner.ephemeral and self.jobs_done > 0 or isinstance(self.fatal, str) \
                    and self.fatal.startswith("deleted"):
                self.service.state.remove(self.ident)
                log.info("%s: removed local runner state", self.name)

    # ------------------------------------------------------------------ sessions
    async def _open_session(self) -> bool:
        started = time.monotonic()
        while not self._done():
            try:
                await self.queue.create_session()
                self.has_session = True
                log.info("%s: session open (%s), listening for jobs", self.name,
                         "broker" if self.queue.v2 else "actions service")
                return True
            except SessionConflictError:
                if time.monotonic() - started > self.timings.session_conflict_timeout:
                    self._set_fatal("another listener holds this runner's session; giving up")
                    return False
                log.warning("%s: a session for this runner already exists; retrying", self.name)
            except RunnerDeletedError as exc:
                self._set_fatal(f"deleted: {exc}")
                return False
            except FATAL as exc:
                self._set_fatal(str(exc))
                return False
            except (AuthError, GitHubError) as exc:
                log.warning("%s: cannot create a session: %s", self.name, exc)
            await self._sleep(self.timings.retry_interval)
        return False

    async def _close_session(self) -> None:
        if not self.has_session:
            return
        self.has_session = False
        try:
            await self.queue.delete_session()
            log.info("%s: session deleted", self.name)
        except (GitHubError, OSError) as exc:  # ephemeral runners may get 401/403 here
            log.info("%s: could not delete the session (%s)", self.name, exc)

    def _set_fatal(self, why: str) -> None:
        self.fatal = why
        log.error("%s: %s", self.name, why.removeprefix("deleted: "))

    async def _sleep(self, seconds: float) -> None:
        """Sleep with jitter, but wake early when asked to stop."""
        self.wake.clear()
        try:
            await asyncio.wait_for(self.wake.wait(), seconds * random.uniform(0.8, 1.2))
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------------ polling
    async def _poll(self) -> QueueMessage | None:
        busy = self.worker is not None
        self.wake.clear()
        poll = asyncio.ensure_future(self.queue.get_message(busy))
        waker = asyncio.ensure_future(self.wake.wait())
        try:
            await asyncio.wait({poll, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
        if not poll.done():
            poll.cancel()  # status changed or stopping: drop the long poll
            try:
                await poll
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - dropped on purpose
                pass
            return None
        try:
            return poll.result()
        except SessionExpiredError:
            log.info("%s: session expired; creating a new one", self.name)
            self.has_session = False
        except RunnerDeletedError as exc:
            if self.ident.runner.ephemeral and (busy or self.jobs_done > 0):
                # the server deletes an ephemeral runner once its job completes: expected
                self.gone = True
                if self.supervise_task is not None:
                    await asyncio.shield(self.supervise_task)
            else:
                self._set_fatal(f"deleted: {exc}")
        except FATAL as exc:
            self._set_fatal(str(exc))
        except MessageError as exc:
            log.error("%s: dropping undecodable message %s: %s", self.name, exc.message_id, exc)
            if exc.message_id is not None and isinstance(self.queue, ActionsQueue):
                await self._delete_id(exc.message_id)
        except (AuthError, GitHubError) as exc:
            log.warning("%s: poll failed: %s", self.name, exc)
            await self._sleep(self.timings.retry_interval)
        return None

    async def _delete_id(self, message_id: int) -> None:
        assert isinstance(self.queue, ActionsQueue)
        try:
            await self.queue.delete_message_id(message_id)
        except GitHubError as exc:
            log.warning("%s: could not delete message %s: %s", self.name, message_id, exc)

    async def _delete(self, msg: QueueMessage) -> None:
        try:
            await self.queue.delete_message(msg)
        except GitHubError as exc:
            log.warning("%s: could not delete message %s: %s", self.name, msg.message_id, exc)

    # ------------------------------------------------------------------ messages
    async def _handle(self, msg: QueueMessage) -> None:
        self.message_received_at = time.monotonic()
        kind = msg.message_type.lower()
        mid = msg.message_id
        if kind == "runnerjobrequest":
            await self._delete(msg)
            await self._job_reference(msg)
            return
        if kind == "pipelineagentjobrequest":
            await self._delete(msg)
            await self._job_message(msg.body.encode(), mid)
            return
        if kind == "jobcancellation":
            try:
                job_id = str(msg.json_body().get("jobId"))
            except (ValueError, AttributeError):
                job_id = ""
            if self.worker is not None and self.job is not None and job_id == self.job.job_id:
                await self.worker.cancel("cancelled by GitHub")
            else:
                log.info("%s: cancellation %s for job %s, which is not running here", self.name,
                         mid, job_id or "?")
        elif msg.message_type == "ForceTokenRefresh":
            self.cred.invalidate()
            log.info("%s: token refresh forced by message %s", self.name, mid)
        elif kind == "runnershutdown":
            log.info("%s: shutdown requested by message %s", self.name, mid)
            self.service.request_stop()
        elif kind in ("agentrefresh", "runnerrefresh"):
            log.info("%s: ignoring update message %s (self-update is disabled)", self.name, mid)
        else:
            log.warning("%s: ignoring message %s of unknown type %r", self.name, mid,
                        _safe_type(msg.message_type))
        await self._delete(msg)

    async def _job_reference(self, msg: QueueMessage) -> None:
        try:
            ref = JobReference.from_json(msg.json_body())
        except (ValueError, AttributeError, TypeError) as exc:
            log.error("%s: malformed job reference in message %s: %s", self.name,
                      msg.message_id, exc)
            return
        if ref.runner_request_id in self.seen:
            log.info("%s: duplicate delivery of job request %s ignored", self.name,
                     ref.runner_request_id)
            return
        self.seen.append(ref.runner_request_id)
        if self.worker is not None:
            log.warning("%s: busy; not taking job request %s", self.name, ref.runner_request_id)
            return
        if ref.should_acknowledge:  # best effort, and not worth a round trip before acquiring
            self._ack_task = asyncio.create_task(self._acknowledge(ref.runner_request_id))
        try:
            raw = await runservice.acquire_job(self.api, ref.run_service_url, self.cred,
                                               ref.runner_request_id, ref.billing_owner_id)
        except (JobNotFoundError, JobTakenError) as exc:
            log.info("%s: job request %s was not ours to take: %s", self.name,
                     ref.runner_request_id, exc)
            return
        except GitHubError as exc:
            log.error("%s: acquiring job request %s failed: %s", self.name,
                      ref.runner_request_id, exc)
            return
        await self._job_message(raw, msg.message_id)

    async def _acknowledge(self, runner_request_id: str) -> None:
        try:
            await self.queue.acknowledge(runner_request_id, busy=False)
        except JobNotFoundError:
            log.info("%s: acknowledge: job request %s no longer exists", self.name,
                     runner_request_id)
        except GitHubError as exc:
            log.info("%s: acknowledge failed (best effort): %s", self.name, exc)

    async def _job_message(self, raw: bytes, message_id: int) -> None:
        try:
            job = JobEssentials.parse(json.loads(raw))
        except (ValueError, TypeError, AttributeError) as exc:
            log.error("%s: unusable job message %s: %s", self.name, message_id, exc)
            return
        key = f"job:{job.job_id}"
        if key in self.seen:
            log.info("%s: duplicate delivery of job %s ignored", self.name, job.job_id)
            return
        self.seen.append(key)
        if self.worker is not None:
            log.warning("%s: busy; not running job %s", self.name, job.job_id)
            return
        worker = await self.service.take_worker(self.name, job.job_id)
        # the config file wins over what registration (or a JIT blob) recorded
        work = self.service.settings.work_dir_override or Path(
            self.ident.runner.work_folder or "_work")
        if not work.is_absolute():
            work = self.service.state.root / work
        work = work / self.name
        runner = {"name": self.name, "agent_id": self.ident.runner.agent_id,
                  "work_folder": str(work), "labels": self.ident.runner.labels,
                  "pool_id": self.ident.runner.pool_id}
        try:
            await worker.send_job(raw, runner)
        except OSError as exc:
            log.error("%s: cannot start a worker for job %s: %s", self.name, job.job_id, exc)
            await self._fail_job(job)
            return
        log.info("%s: running job %s (%s) in worker pid %s", self.name, job.job_name,
                 job.job_id, worker.proc.pid if worker.proc else "?")
        self.worker, self.job = worker, job
        self.wake.set()  # status is now Busy: re-poll
        self.supervise_task = asyncio.create_task(self._supervise(worker, job))
        if self.service.cancelling:
            await worker.cancel("runner is shutting down")

    async def _supervise(self, worker: WorkerProcess, job: JobEssentials) -> None:
        try:
            code = await worker.wait()
            if code == EXIT_COMPLETED:
                log.info("%s: job %s finished", self.name, job.job_id)
            elif code == EXIT_LOCK_LOST:
                log.warning("%s: job %s was abandoned: the job lock was lost", self.name,
                            job.job_id)
            else:
                log.error("%s: worker for job %s exited with %s; reporting the job failed",
                          self.name, job.job_id, code)
                worker.kill()  # whatever is left of its process group
                await sweep_leftovers()
                await self._fail_job(job)
        finally:
            self.worker, self.job = None, None
            self.jobs_done += 1
            self.supervise_task = None
            self.wake.set()  # status is Online again (or the slot is done)
            self.service.job_ended()

    async def _fail_job(self, job: JobEssentials) -> None:
        t = self.timings
        try:
            if job.v2 or job.plan_version >= 8:
                await completion.complete(self.api, job, "failed", retries=t.complete_retries,
                                          interval=t.complete_retry_interval)
            else:
                svc = ActionsService(self.queue.conn, self.ident.runner.pool_id) \
                    if isinstance(self.queue, ActionsQueue) else None
                if svc is not None:
                    await svc.finish_request(job.request_id, "failed",
                                             time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        except GitHubError as exc:
            log.error("%s: could not report job %s as failed: %s", self.name, job.job_id, exc)

    def stop_polling(self) -> None:
        self.wake.set()

    async def cancel_job(self) -> None:
        if self.worker is not None:
            await self.worker.cancel("runner is shutting down")
