"""The worker process: one job, from the job message on stdin to the completion report.

It holds only the job-scoped token from the message. Stdin carries newline-delimited JSON
frames from the listener: first `{"type": "job", ...}`, later `{"type": "cancel"}`. Exit codes
are in `listener/supervisor.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from github_runner.config.settings import Settings
from github_runner.github.errors import GitHubError
from github_runner.github.http import ApiClient
from github_runner.github.models import RESULT_TO_TASK, JobEssentials
from github_runner.github.transport import make_transport
from github_runner.listener.supervisor import (
    EXIT_BAD_MESSAGE,
    EXIT_COMPLETED,
    EXIT_LOCK_LOST,
    EXIT_NOT_REPORTED,
)
from github_runner.worker.renew import LockLost, LockRenewer

log = logging.getLogger("github_runner.worker")


async def _stdin() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=256 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _control(reader: asyncio.StreamReader, cancel: asyncio.Event) -> None:
    while True:
        line = await reader.readline()
        if not line:
            return  # the listener went away: keep running, the job still reports on its own
        try:
            frame = json.loads(line)
        except ValueError:
            continue
        if frame.get("type") == "cancel":
            log.info("cancellation requested: %s", frame.get("reason", ""))
            cancel.set()


def _executor(settings: Settings) -> Any:
    from github_runner.executors import get_executor

    ex = settings.executor
    if hasattr(ex, "build"):
        return ex.build()  # a real executors/settings.py knows how to make its executor
    return get_executor(ex.name, **dict(getattr(ex, "options", {}) or {}))


class Prepared:
    """What a warm worker builds before its job arrives (settings come first, on their own)."""

    def __init__(self, settings: Settings) -> None:
        from github_runner.config.runtime import setup_logging

        setup_logging(settings, name=f"worker[{os.getpid()}]")  # the listener's log format
        self.settings = settings
        self.api = ApiClient(settings.http_settings())
        _ = self.api.client  # TLS context and connection pool, built now rather than later
        self.executor: Any = None
        self.executor_error: str | None = None
        from github_runner.executors.base import ExecutorError

        try:
            self.executor = _executor(settings)
        except ExecutorError as exc:
            self.executor_error = str(exc)


async def run(prepared: Prepared, frame: dict[str, Any], reader: asyncio.StreamReader) -> int:
    settings = prepared.settings
    runner = frame.get("runner") or {}
    try:
        msg = json.loads(frame["message"])
        job = JobEssentials.parse(msg)
    except (ValueError, TypeError, KeyError) as exc:
        log.error("unusable job message: %s", exc)
        return EXIT_BAD_MESSAGE
    t = settings.listener
    async with prepared.api as api:
        transport = make_transport(api, job, int(runner.get("pool_id", 1)))
        cancel = asyncio.Event()
        lost: list[str] = []

        def on_lost(why: str) -> None:
            log.error("job %s: %s; stopping the job", job.job_id, why)
            lost.append(why)
            cancel.set()

        renewer = LockRenewer(transport, t.renew_interval, on_lost,
                              give_up_after=max(600.0, t.renew_interval * 10),
                              first_delay=min(1.0, t.renew_interval))
        # the first renewal gates the job; converting the message meanwhile costs nothing
        first = asyncio.create_task(renewer.first())
        control_task = asyncio.create_task(_control(reader, cancel))
        renew_task: asyncio.Task[None] | None = None

        async def gate() -> bool:
            nonlocal renew_task
            try:
                await first
            except LockLost as exc:
                log.error("job %s: %s", job.job_id, exc)
                return False
            renew_task = asyncio.create_task(renewer.run())
            return True

        try:
            return await _run_job(prepared, runner, job, msg, transport, cancel, lost, gate)
        finally:
            first.cancel()
            control_task.cancel()
            tasks = [first, control_task] + ([renew_task] if renew_task else [])
            if renew_task:
                renew_task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _run_job(prepared: Prepared, runner: dict[str, Any], job: JobEssentials,
                   msg: dict[str, Any], transport: Any, cancel: asyncio.Event,
                   lost: list[str], gate: Any) -> int:
    # The engine is imported here, in the worker only: the listener never pays for it.
    from github_runner.engine.job import run_job
    from github_runner.engine.plan import JobPlan, RunnerInfo
    from github_runner.secrets.masker import Masker
    from github_runner.worker.convert import MessageFormatError, convert
    from github_runner.worker.reporter import GitHubReporter

    settings = prepared.settings
    t = settings.listener
    from github_runner.secrets import logfilter

    masker = Masker()
    masker.add(job.job_token, source="job token")
    # The worker's own diagnostics (httpx errors, tracebacks) are masked with the job's masker,
    # so values registered later (secrets, ::add-mask::) are covered too.
    logfilter.install(masker)
    try:
        converted = convert(msg)
    except MessageFormatError as exc:
        if not await gate():
            return EXIT_LOCK_LOST
        why = masker.mask(f"the job message is malformed: {exc}")
        log.error("job %s: %s", job.job_id, why)
        return await _fail_early(transport, job, why, t)
    for value in converted.mask_values:
        masker.add(value, source="mask hint")
    plan = converted.plan
    if not await gate():
        return EXIT_LOCK_LOST
    if prepared.executor is None:
        return await _fail_early(transport, job, masker.mask(f"executor: {prepared.executor_error}"), t)
    reporter = GitHubReporter(transport, plan)
    await reporter.start(plan.name)
    work_root = Path(runner.get("work_folder") or settings.runner.work_dir)
    info = RunnerInfo(
        name=str(runner.get("name") or settings.runner.name), work_root=work_root,
        network=_egress(settings, runner),
        extra_env={"ACTIONS_RUNTIME_URL": job.system_url, "ACTIONS_RUNTIME_TOKEN": job.job_token,
                   "ACTIONS_RESULTS_URL": job.results_url or "",
                   "ACTIONS_ID_TOKEN_REQUEST_TOKEN": job.job_token},
    )
    outcome = await run_job(plan, executor=prepared.executor, reporter=reporter, masker=masker,
                            runner=info, cancel=cancel)
    await reporter.finish()
    _write_timing(reporter)
    if lost:
        return EXIT_LOCK_LOST
    conclusion = RESULT_TO_TASK.get(outcome.result, "failed")
    return await _complete(transport, reporter, conclusion, dict(outcome.outputs), t)


def _egress(settings: Settings, runner: dict[str, Any]) -> Any:
    """The `[egress]` section -> the engine's per-job network seam (egress/jobs.py owns it)."""
    try:
        from github_runner.egress.jobs import network_for_settings
        from github_runner.egress.settings import EgressSettings
    except ImportError:
        return None
    if not isinstance(settings.egress, EgressSettings):
        return None
    labels = ("self-hosted", "Linux", "X64", *[str(x) for x in runner.get("labels") or []])
    return network_for_settings(settings.egress, executor=getattr(settings.executor, "name", None),
                                labels=labels)


def _write_timing(reporter: Any) -> None:
    """For bench/listener.py: when the first step started (wall clock)."""
    target = os.environ.get("GITHUB_RUNNER_TIMING_FILE")
    if target and reporter.first_step_at is not None:
        wall = time.time() - (time.monotonic() - reporter.first_step_at)
        Path(target).write_text(json.dumps({"first_step_wall": wall}))


async def _fail_early(transport: Any, job: JobEssentials, why: str, t: Any) -> int:
    """Fail a job that never started; `why` must already be masked (it goes to GitHub)."""
    from github_runner.engine.plan import JobPlan
    from github_runner.worker.reporter import GitHubReporter

    plan = JobPlan(job_id=job.job_name or "job", job_key="job", name=job.job_name, steps=[])
    reporter = GitHubReporter(transport, plan)
    await reporter.start(job.job_name)
    reporter.job_annotations.append({"level": "error", "message": why})
    await reporter.finish()
    return await _complete(transport, reporter, "failed", {}, t)


async def _complete(transport: Any, reporter: Any, conclusion: str, outputs: dict[str, str],
                    t: Any) -> int:
    try:
        await transport.complete(conclusion, outputs, reporter.step_results(),
                                 reporter.job_annotations, t.complete_retries,
                                 t.complete_retry_interval)
    except GitHubError as exc:
        log.error("could not report the job's completion: %s", exc)
        return EXIT_NOT_REPORTED
    log.info("job completed: %s", conclusion)
    return EXIT_COMPLETED


def _preload() -> None:
    """Import the engine before the job arrives: a warm worker starts its first step sooner."""
    # httpx loads its async backend on the first request (~0.1 s): do it now, not mid-job
    import anyio._backends._asyncio  # noqa: F401
    import httpcore._async.http11  # noqa: F401

    import github_runner.engine.job  # noqa: F401
    import github_runner.executors  # noqa: F401
    import github_runner.secrets.masker  # noqa: F401
    import github_runner.worker.convert  # noqa: F401
    import github_runner.worker.reporter  # noqa: F401


async def main() -> int:
    _preload()
    reader = await _stdin()
    prepared: Prepared | None = None
    while True:
        line = await reader.readline()
        if not line:
            return EXIT_COMPLETED  # a warm worker that was not needed
        try:
            frame = json.loads(line)
        except ValueError as exc:
            log.error("unreadable frame on stdin: %s", exc)
            return EXIT_BAD_MESSAGE
        if frame.get("type") == "settings":
            prepared = Prepared(Settings.model_validate(frame["settings"]))
        elif frame.get("type") == "job":
            if prepared is None:
                prepared = Prepared(Settings.model_validate(frame["settings"]))
            return await run(prepared, frame, reader)
