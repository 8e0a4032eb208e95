"""A whole workflow run for `exec`: needs graph, job `if`, matrix, concurrency, fail-fast.

Jobs start as soon as everything they need has finished, up to `concurrency` at once. A job's
`if` is evaluated against its `needs` (status functions look at the needed jobs' results); its
matrix is evaluated then too, because it may come from `needs.<id>.outputs`. Each matrix
combination becomes one JobPlan run by `engine/job.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from msgspec import Struct, field

from github_runner.engine import graph, matrix, templates
from github_runner.engine.events import JobFinished, Reporter, RunFinished, RunStarted
from github_runner.engine.expressions import (
    EvalContext,
    ExpressionError,
    evaluate_condition,
    to_string,
)
from github_runner.engine.job import run_job
from github_runner.engine.output import JobLog
from github_runner.engine.plan import JobOutcome, RunnerInfo
from github_runner.engine.planner import job_plan
from github_runner.engine.workflow import Job, Workflow
from github_runner.secrets.store import SecretStore, hold


class RunOptions(Struct):
    event_name: str
    github: dict[str, Any]  # the run's github context (event, sha, ref, repository...)
    secrets: Mapping[str, str] = field(default_factory=dict)  # a SecretStore, or a dict to hold
    vars: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # --env-file: lowest-precedence env layer
    jobs: list[str] = field(default_factory=list)  # -j
    matrix_filter: dict[str, list[str]] = field(default_factory=dict)
    concurrency: int = 4
    debug: bool = False
    grace_seconds: float = 7.5


class RunResult(Struct):
    result: str
    jobs: dict[str, str]  # job id (with matrix suffix) -> result
    outcomes: dict[str, JobOutcome]


def _needs_status(direct: Mapping[str, str], ancestors: Mapping[str, str]) -> str:
    """The status job-level success()/failure() see.

    GitHub: failure() is true when any *ancestor* job failed (a job skipped because its own
    need failed still makes failure() true further down); a skipped direct need makes success()
    false without making failure() true.
    """
    values = list(ancestors.values())
    if "failure" in values:
        return "failure"
    if "cancelled" in values:
        return "cancelled"
    if any(v != "success" for v in direct.values()):
        return "skipped"
    return "success"


class WorkflowRun:
    def __init__(
        self,
        workflow: Workflow,
        options: RunOptions,
        *,
        executor: Any,
        reporter: Reporter,
        masker: Any,
        runner: RunnerInfo,
        cancel: asyncio.Event | None = None,
        prefix: str = "",
        slots: asyncio.Semaphore | None = None,
        depth: int = 0,
    ) -> None:
        self.workflow = workflow
        self.prefix = prefix  # "caller / " for the jobs of a called (reusable) workflow
        self.nested = bool(prefix)
        self.depth = depth
        self.options = options
        self.executor = executor
        self.reporter = reporter
        self.masker = masker
        self.runner = runner
        self.cancel = cancel or asyncio.Event()
        self.slots = slots or asyncio.Semaphore(max(1, options.concurrency))
        self.results: dict[str, str] = {}  # job key -> aggregated result
        self.outputs: dict[str, dict[str, str]] = {}
        self.display: dict[str, str] = {}  # job id (with suffix) -> result, for the summary
        self.outcomes: dict[str, JobOutcome] = {}
        # Secrets live in a store registered with the masker; each job gets its own copy (closed,
        # so zeroised, when the job ends). A store passed in belongs to the caller, who closes it.
        # A called workflow's store is made for it by `_call` (nested runs own theirs).
        self._owns_secrets = self.nested or not isinstance(options.secrets, SecretStore)
        self.secrets: SecretStore = hold(options.secrets, masker)
        options.secrets = self.secrets

    def selected(self) -> list[str]:
        needs = {key: list(job.needs) for key, job in self.workflow.jobs.items()}
        order = graph.validate(needs)
        if self.options.jobs:
            keep = set(graph.select(needs, self.options.jobs))
            order = [k for k in order if k in keep]
        return order

    async def run(self) -> RunResult:
        try:
            return await self._run()
        finally:
            if self._owns_secrets:
                self.secrets.close()

    async def _run(self) -> RunResult:
        order = self.selected()
        if not self.nested:
            await self.reporter.emit(
                RunStarted(str(self.workflow.name or self.workflow.path), self.options.event_name, tuple(order))
            )
        done: dict[str, asyncio.Event] = {key: asyncio.Event() for key in order}
        tasks = [asyncio.ensure_future(self._job(key, done)) for key in order]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            self.cancel.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        values = list(self.results.values())
        if self.cancel.is_set() and "failure" not in values:
            result = "cancelled"
        elif "failure" in values:
            result = "failure"
        elif "cancelled" in values:
            result = "cancelled"
        else:
            result = "success"
        if not self.nested:
            await self.reporter.emit(RunFinished(result, dict(self.display)))  # type: ignore[arg-type]
        return RunResult(result, dict(self.display), self.outcomes)

    def _ancestors(self, key: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.workflow.jobs[key].needs)
        while stack:
            dep = stack.pop()
            if dep not in seen and dep in self.workflow.jobs:
                seen.add(dep)
                stack.extend(self.workflow.jobs[dep].needs)
        return seen

    def _base_contexts(self, needs: dict[str, Any]) -> dict[str, Any]:
        return {
            "github": self.options.github,
            "needs": needs,
            "vars": self.options.vars,
            "inputs": self.options.inputs,
            "secrets": self.secrets,
            "env": dict(self.options.env),
        }

    async def _job(self, key: str, done: dict[str, asyncio.Event]) -> None:
        job = self.workflow.jobs[key]
        try:
            for dep in job.needs:
                if dep in done:
                    await done[dep].wait()
            self.results[key] = await self._start(key, job)
        finally:
            done[key].set()

    async def _start(self, key: str, job: Job) -> str:
        log = JobLog(self.prefix + key, self.reporter, self.masker)
        needs_results = {dep: self.results.get(dep, "skipped") for dep in job.needs}
        needs = {
            dep: {"result": needs_results[dep], "outputs": self.outputs.get(dep, {})}
            for dep in job.needs
        }
        contexts = self._base_contexts(needs)
        status = _needs_status(needs_results, {a: self.results.get(a, "skipped") for a in self._ancestors(key)})
        if self.cancel.is_set():
            status = "cancelled"
        ctx = EvalContext(contexts=contexts, job_status=status, workspace=self.runner.workspace)
        try:
            run_it = bool(evaluate_condition(job.condition, ctx))
        except ExpressionError as exc:
            await log.annotate("error", f"{job.where('if') or ''}: job {key!r} if: {exc}".lstrip(": "))
            return self._finish_skipped(key, "failure")
        if status == "cancelled" and "always(" not in job.condition.lower() and "cancelled(" not in job.condition.lower():
            run_it = False
        if not run_it:
            result = "cancelled" if self.cancel.is_set() else "skipped"  # the run was cancelled
            await self.reporter.emit(JobFinished(self.prefix + key, key, result))  # type: ignore[arg-type]
            return self._finish_skipped(key, result)
        if job.is_reusable_call and job.called is None:
            message = f"job {key!r}: remote reusable workflows (`uses: {job.uses}`) are not supported yet"
            await log.annotate("error", f"{job.pos}: {message}" if job.pos else message)
            await self.reporter.emit(JobFinished(self.prefix + key, key, "failure"))
            return self._finish_skipped(key, "failure")
        try:
            combos, fail_fast, max_parallel, strategy_raw = self._matrix(job, ctx)
        except (matrix.MatrixError, templates.TemplateError) as exc:
            where = job.strategy.pos if job.strategy and job.strategy.pos else job.pos
            await log.annotate("error", f"{where}: job {key!r} strategy: {exc}" if where else str(exc))
            await self.reporter.emit(JobFinished(self.prefix + key, key, "failure"))
            return self._finish_skipped(key, "failure")
        return await self._run_combos(job, contexts, combos, fail_fast, max_parallel, strategy_raw)

    def _finish_skipped(self, key: str, result: str) -> str:
        self.display[self.prefix + key] = result
        return result

    def _matrix(
        self, job: Job, ctx: EvalContext
    ) -> tuple[list[dict[str, Any]], bool, int | None, bool]:
        strategy = job.strategy
        if strategy is None:
            return [], True, None, False
        raw_matrix = templates.evaluate(strategy.matrix, ctx, "strategy.matrix")
        if isinstance(raw_matrix, str) and raw_matrix.strip() == "":
            raw_matrix = None
        combos = matrix.expand(raw_matrix)
        if raw_matrix and not combos:
            raise matrix.MatrixError("matrix produced no combinations")
        combos = matrix.apply_filter(combos, self.options.matrix_filter)
        fail_fast = templates.evaluate(strategy.fail_fast, ctx, "strategy.fail-fast")
        max_parallel = templates.evaluate(strategy.max_parallel, ctx, "strategy.max-parallel")
        ff, mp = matrix.strategy_from({"fail-fast": fail_fast, "max-parallel": max_parallel})
        return combos, ff, mp, True

    async def _run_combos(
        self,
        job: Job,
        contexts: dict[str, Any],
        combos: list[dict[str, Any]],
        fail_fast: bool,
        max_parallel: int | None,
        has_strategy: bool,
    ) -> str:
        key = job.id
        total = max(1, len(combos))
        limit = asyncio.Semaphore(max_parallel or total)
        stop = asyncio.Event()  # fail-fast: cancel the siblings
        results: list[str] = []
        outputs: dict[str, str] = {}

        async def one(index: int, combo: dict[str, Any] | None) -> None:
            async with limit:
                job_contexts = dict(contexts)
                job_contexts["matrix"] = combo or None  # GitHub: null for a job without a matrix
                job_contexts["strategy"] = {
                    "fail-fast": fail_fast,
                    "job-index": index,
                    "job-total": total,
                    "max-parallel": max_parallel or total,
                }
                ctx = EvalContext(contexts=job_contexts, job_status="success", workspace=self.runner.workspace)
                suffix = f" {matrix.job_suffix(combo)}" if combo else ""
                job_id = f"{self.prefix}{key}{suffix}"
                log = JobLog(job_id, self.reporter, self.masker)
                try:
                    name = templates.evaluate_string(job.name, ctx, "name") if job.name else job_id
                    if job.is_reusable_call:
                        outcome = await self._call(job, job_contexts, ctx, job_id, name)
                        results.append(outcome.result)
                        self.display.update({job_id: outcome.result} if not self.display.get(job_id) else {})
                        outputs.update(outcome.outputs)
                        if outcome.result == "failure" and fail_fast and has_strategy:
                            stop.set()
                        return
                    if job.name and combo and "${{" not in str(job.name):
                        name = f"{name}{suffix}"
                    plan = job_plan(self.workflow, job, job_id=job_id, name=name)
                    if job.timeout_minutes is not None:
                        t = templates.evaluate_number(job.timeout_minutes, ctx, "timeout-minutes")
                        plan.timeout_minutes = t if t is not None else 360.0
                    plan.continue_on_error = templates.evaluate_bool(
                        job.continue_on_error, ctx, "continue-on-error"
                    )
                except templates.TemplateError as exc:
                    await log.annotate("error", f"{job.pos}: job {key!r} {exc}" if job.pos else str(exc))
                    results.append("failure")
                    self.display[job_id] = "failure"
                    return
                if self.options.env:
                    plan.env.insert(0, dict(self.options.env))
                plan.contexts = {k: v for k, v in job_contexts.items() if k not in ("secrets", "env")}
                plan.debug = self.options.debug
                cancel = asyncio.Event()
                if stop.is_set() or self.cancel.is_set():
                    results.append("cancelled")
                    self.display[job_id] = "cancelled"
                    await self.reporter.emit(JobFinished(job_id, name, "cancelled"))
                    return
                watcher = asyncio.ensure_future(_forward(cancel, stop, self.cancel))
                try:
                    async with self.slots:
                        plan.secrets = self.secrets.copy()  # run_job closes it when the job ends
                        outcome = await run_job(
                            plan,
                            executor=self.executor,
                            reporter=self.reporter,
                            masker=self.masker,
                            runner=self.runner,
                            cancel=cancel,
                            grace_seconds=self.options.grace_seconds,
                        )
                finally:
                    watcher.cancel()
                result = outcome.result
                if result == "failure" and plan.continue_on_error:
                    result = "success"
                results.append(result)
                self.display[job_id] = outcome.result
                self.outcomes[job_id] = outcome
                outputs.update(outcome.outputs)
                if result == "failure" and fail_fast and has_strategy:
                    stop.set()

        slots: list[dict[str, Any] | None] = list(combos) if combos else [None]
        await asyncio.gather(*(one(i, c) for i, c in enumerate(slots)))
        self.outputs[key] = outputs
        if "failure" in results:
            return "failure"
        if "cancelled" in results:
            return "cancelled"
        return "success"

    async def _call(
        self, job: Job, contexts: dict[str, Any], ctx: EvalContext, job_id: str, name: str
    ) -> JobOutcome:
        """A reusable-workflow call: the callee's jobs run as `caller / callee-job`."""
        from github_runner.engine.localinputs import InputError, workflow_inputs

        callee = job.called
        assert callee is not None
        log = JobLog(job_id, self.reporter, self.masker)
        if self.depth >= 4:
            await log.annotate("error", f"job {job.id!r}: reusable workflows nested too deep")
            return JobOutcome(job_id, "failure")
        secrets: Mapping[str, str] = {}
        try:
            given = templates.evaluate(job.with_ or {}, ctx, "with")
            if job.secrets == "inherit":
                secrets = self.secrets.copy()
            else:
                raw = templates.evaluate(job.secrets or {}, ctx, "secrets")
                secrets = {str(k): to_string(v) for k, v in (raw or {}).items()}
                if "GITHUB_TOKEN" in self.secrets:
                    secrets.setdefault("GITHUB_TOKEN", self.secrets["GITHUB_TOKEN"])
            declared = callee.inputs("workflow_call")
            inputs, _ = workflow_inputs(declared, {}, {"inputs": given if isinstance(given, dict) else {}})
        except (templates.TemplateError, InputError) as exc:
            await log.annotate("error", f"{job.pos}: job {job.id!r} {exc}" if job.pos else str(exc))
            if isinstance(secrets, SecretStore):
                secrets.close()
            return JobOutcome(job_id, "failure")
        options = RunOptions(
            event_name=self.options.event_name,
            github=self.options.github,
            secrets=secrets,
            vars=self.options.vars,
            inputs=inputs,
            env=self.options.env,
            matrix_filter=self.options.matrix_filter,
            concurrency=self.options.concurrency,
            debug=self.options.debug,
            grace_seconds=self.options.grace_seconds,
        )
        inner = WorkflowRun(
            callee, options, executor=self.executor, reporter=self.reporter, masker=self.masker,
            runner=self.runner, cancel=self.cancel, prefix=f"{job_id} / ", slots=self.slots,
            depth=self.depth + 1,
        )
        result = await inner.run()
        self.display.update(result.jobs)
        self.outcomes.update(result.outcomes)
        jobs_ctx = {
            key: {"result": inner.results.get(key, "skipped"), "outputs": inner.outputs.get(key, {})}
            for key in callee.jobs
        }
        out_ctx = EvalContext(
            # GitHub offers github, inputs, vars and jobs here, not secrets (closed by now)
            contexts={**{k: v for k, v in contexts.items() if k != "secrets"}, "jobs": jobs_ctx, "inputs": inputs},
            job_status=result.result,
            workspace=self.runner.workspace,
        )
        outputs: dict[str, str] = {}
        spec = (callee.on.get("workflow_call") or {}).get("outputs") or {}
        for key, value in (spec.items() if isinstance(spec, dict) else []):
            template = value.get("value") if isinstance(value, dict) else value
            try:
                outputs[key] = templates.evaluate_string(template, out_ctx, f"outputs.{key}")
            except templates.TemplateError as exc:
                await log.annotate("error", f"job {job.id!r} {exc}")
        return JobOutcome(job_id, result.result, outputs=outputs)  # type: ignore[arg-type]


async def _forward(target: asyncio.Event, *sources: asyncio.Event) -> None:
    """Set `target` as soon as any of `sources` is set (fail-fast or Ctrl-C reach a job)."""
    waits = [asyncio.ensure_future(s.wait()) for s in sources]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        target.set()
    finally:
        for w in waits:
            w.cancel()
