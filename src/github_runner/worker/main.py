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


async def run(frame: dict[str, Any], reader: asyncio.StreamReader) -> int:
    settings = Settings.model_validate(frame["settings"])
    runner = frame.get("runner") or {}
    try:
        msg = json.loads(frame["message"])
        job = JobEssentials.parse(msg)
    except (ValueError, TypeError, KeyError) as exc:
        log.error("unusable job message: %s", exc)
        return EXIT_BAD_MESSAGE
    t = settings.listener
    async with ApiClient(settings.http_settings()) as api:
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
        try:
            await renewer.first()
        except LockLost as exc:
            log.error("job %s: %s", job.job_id, exc)
            return EXIT_LOCK_LOST
        renew_task = asyncio.create_task(renewer.run())
        control_task = asyncio.create_task(_control(reader, cancel))
        try:
            return await _run_job(api, settings, runner, job, msg, transport, cancel, lost)
        finally:
            renew_task.cancel()
            control_task.cancel()
            await asyncio.gather(renew_task, control_task, return_exceptions=True)


async def _run_job(api: ApiClient, settings: Settings, runner: dict[str, Any], job: JobEssentials,
                   msg: dict[str, Any], transport: Any, cancel: asyncio.Event,
                   lost: list[str]) -> int:
    # The engine is imported here, in the worker only: the listener never pays for it.
    from github_runner.engine.job import run_job
    from github_runner.engine.plan import JobPlan, RunnerInfo
    from github_runner.executors.base import ExecutorError
    from github_runner.secrets.masker import Masker
    from github_runner.worker.convert import MessageFormatError, convert
    from github_runner.worker.reporter import GitHubReporter

    t = settings.listener
    masker = Masker()
    masker.add(job.job_token, source="job token")
    from github_runner.secrets.logfilter import install as mask_own_logs

    mask_own_logs(masker)  # the worker's own diagnostics go through the job's masker too
    try:
        converted = convert(msg)
    except MessageFormatError as exc:
        log.error("job %s: the job message is malformed: %s", job.job_id, exc)
        plan = JobPlan(job_id=job.job_name or "job", job_key="job", name=job.job_name, steps=[])
        reporter = GitHubReporter(transport, plan)
        await reporter.start(job.job_name)
        reporter.job_annotations.append({"level": "error",
                                         "message": f"the job message is malformed: {exc}"})
        await reporter.finish()
        return await _complete(transport, reporter, "failed", {}, t)
    for value in converted.mask_values:
        masker.add(value, source="mask hint")
    plan = converted.plan
    reporter = GitHubReporter(transport, plan)
    await reporter.start(plan.name)
    work_root = Path(runner.get("work_folder") or settings.runner.work_dir)
    info = RunnerInfo(
        name=str(runner.get("name") or settings.runner.name), work_root=work_root,
        extra_env={"ACTIONS_RUNTIME_URL": job.system_url, "ACTIONS_RUNTIME_TOKEN": job.job_token,
                   "ACTIONS_RESULTS_URL": job.results_url or "",
                   "ACTIONS_ID_TOKEN_REQUEST_TOKEN": job.job_token},
    )
    try:
        executor = _executor(settings)
    except ExecutorError as exc:
        reporter.job_annotations.append({"level": "error", "message": f"executor: {exc}"})
        await reporter.finish()
        return await _complete(transport, reporter, "failed", {}, t)
    outcome = await run_job(plan, executor=executor, reporter=reporter, masker=masker,
                            runner=info, cancel=cancel)
    await reporter.finish()
    if reporter.first_step_at is not None and os.environ.get("GITHUB_RUNNER_TIMING_FILE"):
        Path(os.environ["GITHUB_RUNNER_TIMING_FILE"]).write_text(
            json.dumps({"first_step_monotonic": reporter.first_step_at,
                        "first_step_wall": time.time() - (time.monotonic() - reporter.first_step_at)}))
    if lost:
        return EXIT_LOCK_LOST
    conclusion = RESULT_TO_TASK.get(outcome.result, "failed")
    return await _complete(transport, reporter, conclusion, dict(outcome.outputs), t)


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


async def main() -> int:
    reader = await _stdin()
    line = await reader.readline()
    try:
        frame = json.loads(line)
        if frame.get("type") != "job":
            raise ValueError("first frame is not a job")
    except ValueError as exc:
        log.error("no job on stdin: %s", exc)
        return EXIT_BAD_MESSAGE
    return await run(frame, reader)
