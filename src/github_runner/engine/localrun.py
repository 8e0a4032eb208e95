"""Local mode behind `github-runner exec`: find and validate workflows, then run them.

Everything that can be wrong with the input (YAML, schema, expressions, needs cycles, a missing
local action, bad flags) is found in `from_options`, before any step starts, and reported as one
`LocalRunError` line naming the file and position or the flag.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from github_runner.engine import graph, localinputs, matrix
from github_runner.engine.workflow import Workflow, WorkflowError
from github_runner.secrets.providers import ProviderError
from github_runner.secrets.store import SecretStore


class LocalRunError(Exception):
    """Bad input for exec; the message is one line naming file:line:col or the flag."""


DEFAULT_EVENT = "push"


class LocalRun(Struct):
    repo: Path
    event_name: str
    workflows: list[Workflow]
    event: dict[str, Any]
    secrets: SecretStore  # filled from the flags; registered with the masker when the run starts
    vars: dict[str, str]
    env: dict[str, str]
    inputs: dict[str, str]
    jobs: list[str]
    matrix_filter: dict[str, list[str]]
    concurrency: int = 4
    executor: str = "shell"
    json_file: Path | None = None
    debug: bool = False
    skipped_workflows: list[str] = field(default_factory=list)
    # Egress seam for exec flags: JobPlan -> object with `hook`/`reporter` (see RunnerInfo.network)
    network: Any = None

    # -- loading and validation ---------------------------------------------------------------

    @classmethod
    def from_options(cls, o: dict[str, Any], secrets: SecretStore | None = None) -> LocalRun:
        """`secrets`: the store to fill (its owner closes it), so a caller that must mask an
        error or traceback knows every secret read before the failure."""
        try:
            return cls._from_options(o, SecretStore() if secrets is None else secrets)
        except (localinputs.InputError, matrix.MatrixError, graph.GraphError, ProviderError) as exc:
            raise LocalRunError(str(exc)) from None
        except WorkflowError as exc:
            raise LocalRunError(_error_lines(exc.errors)) from None

    @classmethod
    def _from_options(cls, o: dict[str, Any], secrets: SecretStore) -> LocalRun:
        repo = Path(o.get("directory") or ".")
        if not repo.is_dir():
            raise LocalRunError(f"-C/--directory {repo}: not a directory")
        repo = repo.resolve()
        targets = o.get("workflows") or ()
        if isinstance(targets, (str, Path)):
            targets = (targets,)
        files = _workflow_files([Path(t) for t in targets] or [repo / ".github" / "workflows"], repo)
        workflows = [_load(f, repo) for f in files]
        _read_secrets(secrets, o)
        variables: dict[str, str] = {}
        if o.get("var_file"):
            variables.update(localinputs.parse_dotenv(Path(o["var_file"]), "--var-file"))
        variables.update(localinputs.parse_pairs(o.get("vars_") or (), "--var"))
        env: dict[str, str] = {}
        if o.get("env_file"):
            env.update(localinputs.parse_dotenv(Path(o["env_file"]), "--env-file"))
        inputs = localinputs.parse_pairs(o.get("inputs") or (), "--input")
        matrix_filter = matrix.parse_filter(list(o.get("matrix_") or ()))
        event_path = o.get("eventpath")
        event = localinputs.load_event(Path(event_path) if event_path else None)
        event_name = o.get("event") or _default_event(workflows)
        selected = [w for w in workflows if event_name in w.on]
        skipped = [w.path for w in workflows if event_name not in w.on]
        run = cls(
            repo=repo,
            event_name=event_name,
            workflows=selected,
            event=event,
            secrets=secrets,
            vars=variables,
            env=env,
            inputs=inputs,
            jobs=list(o.get("jobs") or ()),
            matrix_filter=matrix_filter,
            concurrency=int(o.get("concurrency") or 4),
            executor=str(o.get("executor") or "shell"),
            json_file=Path(o["json_file"]) if o.get("json_file") else None,
            debug=bool(o.get("debug"))
            or "true" in ((secrets.get("ACTIONS_STEP_DEBUG") or "").lower(), variables.get("ACTIONS_STEP_DEBUG", "").lower()),
            skipped_workflows=skipped,
        )
        run._validate()
        return run

    def _validate(self) -> None:
        found_jobs: set[str] = set()
        for wf in self.workflows:
            needs = {key: list(job.needs) for key, job in wf.jobs.items()}
            graph.validate(needs)
            found_jobs.update(wf.jobs)
            for key, job in wf.jobs.items():
                self._check_local_actions(wf, key, job)
                self._check_static_matrix(wf, key, job)
            declared = wf.inputs(self.event_name)
            localinputs.workflow_inputs(declared, self.inputs, self.event)
        missing = [j for j in self.jobs if j not in found_jobs]
        if missing:
            raise LocalRunError(
                f"-j/--job {missing[0]}: no such job in the selected workflows "
                f"(jobs: {', '.join(sorted(found_jobs)) or 'none'})"
            )

    def _check_static_matrix(self, wf: Workflow, key: str, job: Any) -> None:
        """A matrix written without expressions must expand now: bad input, not a failed job."""
        raw = job.strategy.matrix if job.strategy is not None else None
        if raw is None or "${{" in repr(raw):
            return
        try:
            matrix.expand(raw)
        except matrix.MatrixError as exc:
            where = job.strategy.where("matrix") or job.pos
            raise LocalRunError(f"{where or wf.path}: job {key!r}: {exc}") from None

    def _check_local_actions(self, wf: Workflow, key: str, job: Any) -> None:
        """A `uses: ./x` that is missing before any `run:` step could create it is bad input."""
        for step in job.steps:
            if step.run is not None:
                return  # later local actions may be written by this step: resolved at run time
            uses = step.uses or ""
            if not uses.startswith("./") or "${{" in uses:
                continue
            directory = self.repo / uses
            if not any((directory / n).is_file() for n in ("action.yml", "action.yaml", "Dockerfile")):
                where = f"{step.pos}: " if step.pos else f"{wf.path}: "
                raise LocalRunError(
                    f"{where}job {key!r} step {step.context_id!r}: can't find 'action.yml', "
                    f"'action.yaml' or 'Dockerfile' under '{directory}'"
                )
            from github_runner.engine.workflow import load_action

            try:
                load_action(directory)
            except WorkflowError as exc:
                raise LocalRunError(_error_lines(exc.errors)) from None

    def mentions_egress(self) -> bool:
        """A job states an `egress:` policy or uses harden-runner (which the runner enforces)."""
        for wf in self.workflows:
            for job in wf.jobs.values():
                if job.egress is not None:
                    return True
                if any("harden-runner" in (step.uses or "") for step in job.steps):
                    return True
        return False

    # -- listing and dry run ------------------------------------------------------------------

    def listing(self) -> str:
        rows = [("Workflow", "Job", "Name", "Needs", "Events")]
        for wf in self.workflows:
            events = ",".join(wf.on)
            for key, job in wf.jobs.items():
                rows.append((wf.path, key, str(job.name or key), ",".join(job.needs), events))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if self.skipped_workflows:
            lines.append(f"(not triggered by {self.event_name}: {', '.join(self.skipped_workflows)})")
        return "\n".join(lines)

    def plan_text(self) -> str:
        lines: list[str] = []
        for wf in self.workflows:
            needs = {key: list(job.needs) for key, job in wf.jobs.items()}
            order = graph.select(needs, self.jobs) if self.jobs else graph.validate(needs)
            lines.append(f"workflow {wf.path} on {self.event_name}")
            for key in order:
                job = wf.jobs[key]
                after = f" (needs {', '.join(job.needs)})" if job.needs else ""
                lines.append(f"  job {key}{after}")
                lines += [f"    {line}" for line in self._matrix_lines(job)]
                if job.uses:
                    lines.append(f"    calls {job.uses}")
                for step in job.steps:
                    what = f"uses {step.uses}" if step.uses else "run"
                    lines.append(f"    step {step.context_id}: {what}")
        if not lines:
            lines.append(f"no workflow is triggered by {self.event_name}")
        return "\n".join(lines)

    def _matrix_lines(self, job: Any) -> list[str]:
        """The combinations of a matrix written without expressions (others are known later)."""
        raw = job.strategy.matrix if job.strategy is not None else None
        if raw is None:
            return []
        if "${{" in repr(raw):
            return ["matrix: computed when the job starts"]
        combos = matrix.apply_filter(matrix.expand(raw), self.matrix_filter)
        return [f"matrix {matrix.job_suffix(c)}" for c in combos] or ["matrix: no combination left"]

    # -- running ------------------------------------------------------------------------------

    def execute(self) -> int:
        from github_runner.engine.loop import run

        return run(self._execute())

    async def _execute(self) -> int:
        from github_runner.engine.contexts import local_github_context
        from github_runner.engine.events import MultiReporter
        from github_runner.engine.plan import RunnerInfo
        from github_runner.engine.reporters.terminal import TerminalReporter
        from github_runner.engine.run import RunOptions, WorkflowRun
        from github_runner.executors import ExecutorError, get_executor
        from github_runner.secrets.logfilter import install
        from github_runner.secrets.masker import Masker

        masker = Masker()
        self.secrets.attach(masker)  # each secret registered once, naming its flag
        reporter = MultiReporter(TerminalReporter(show_debug=self.debug))
        json_reporter = None
        if self.json_file is not None:
            from github_runner.engine.reporters.jsonl import JsonlReporter

            json_reporter = JsonlReporter(self.json_file)
            reporter.add(json_reporter)
        try:
            executor = get_executor(self.executor, **_executor_settings(self.executor))
        except ExecutorError as exc:
            print(f"error: executor {self.executor}: {exc}", file=sys.stderr)
            return 1
        cancel = asyncio.Event()
        loop = asyncio.get_running_loop()
        interrupts = 0

        def on_sigint() -> None:
            nonlocal interrupts
            interrupts += 1
            cancel.set()
            print("\nCancelling (Ctrl-C again to stop waiting for clean-up)...", file=sys.stderr)
            if interrupts > 1:
                for task in asyncio.all_tasks(loop):
                    task.cancel()

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        loop.add_signal_handler(signal.SIGTERM, on_sigint)
        _sweep_stale(_work_base())
        work_root = _work_base() / f"exec-{os.getpid()}"
        result = "success"
        unmask_logs = install(masker)  # the runner's own log records are masked too
        try:
            for wf in self.workflows:
                declared = wf.inputs(self.event_name)
                inputs, event_inputs = localinputs.workflow_inputs(declared, self.inputs, self.event)
                event = dict(self.event)
                if self.event_name in ("workflow_dispatch",) and (event_inputs or "inputs" in event):
                    event["inputs"] = {**(event.get("inputs") or {}), **event_inputs}
                github = local_github_context(
                    token=self.secrets.get("GITHUB_TOKEN") or "",
                    repo=self.repo,
                    event_name=self.event_name,
                    event=event,
                    workflow_name=str(wf.name or _rel(wf.path, self.repo)),
                    workflow_file=_rel(wf.path, self.repo),
                )
                options = RunOptions(
                    event_name=self.event_name,
                    github=github,
                    secrets=self.secrets,
                    vars=self.vars,
                    inputs=inputs,
                    env=self.env,
                    jobs=[j for j in self.jobs if j in wf.jobs],
                    matrix_filter=self.matrix_filter,
                    concurrency=self.concurrency,
                    debug=self.debug,
                )
                runner = RunnerInfo(
                    work_root=work_root, workspace=self.repo, network=self.network,
                    step_headers=self.debug,
                )
                run = WorkflowRun(
                    wf, options, executor=executor, reporter=reporter, masker=masker,
                    runner=runner, cancel=cancel,
                )
                outcome = await run.run()
                if outcome.result == "failure" or (outcome.result == "cancelled" and result == "success"):
                    result = outcome.result
                if cancel.is_set():
                    result = "cancelled" if result != "failure" else result
                    break
        except asyncio.CancelledError:
            result = "cancelled"
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
            unmask_logs()
            if json_reporter is not None:
                json_reporter.close()
            import shutil

            shutil.rmtree(work_root, ignore_errors=True)
        if not self.workflows:
            print(f"no workflow is triggered by {self.event_name}", file=sys.stderr)
        return {"success": 0, "cancelled": 130}.get(result, 1)


def _read_secrets(store: SecretStore, o: dict[str, Any]) -> None:
    """Every secret flag into the store, later sources winning: --secret-file, --vault-secret,
    --secret-from-env, then -s. Errors name the flag and position or file:line, never a value."""
    from github_runner.secrets import flags

    if o.get("secret_file"):
        for name, value in localinputs.parse_dotenv(Path(o["secret_file"]), "--secret-file").items():
            store.set(name, value, source=f"secret {name} (--secret-file)")
    flags.load_vault(store, o.get("vault_secrets") or (), o.get("vault_addr"))
    flags.load_environment(store, o.get("secrets_from_env") or ())
    pairs = localinputs.parse_pairs(o.get("secrets") or (), "-s/--secret", from_env=True, secret=True)
    for name, value in pairs.items():
        store.set(name, value, source=f"secret {name} (-s)")


def _work_base() -> Path:
    """Where per-job directories go: $GITHUB_RUNNER_WORK, else /var/tmp/github-runner-UID.

    Not the home directory: isolated executors run steps as a job user that must reach these
    directories. Not /tmp: every step creates six files (script, file commands), and a busy
    shared /tmp made each creation cost 0.3-1.5 ms here (/var/tmp: ~0.15 ms).
    """
    if os.environ.get("GITHUB_RUNNER_WORK"):
        return Path(os.environ["GITHUB_RUNNER_WORK"])
    return Path(f"/var/tmp/github-runner-{os.getuid()}")  # per user: no one else can squat it


def _sweep_stale(base: Path) -> None:
    """Remove the work directories of exec runs that were killed (their pid is gone)."""
    import shutil

    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if name.startswith("exec-") and name[5:].isdigit() and not Path(f"/proc/{name[5:]}").exists():
            shutil.rmtree(entry, ignore_errors=True)


def _executor_settings(name: str) -> dict[str, Any]:
    # Local mode trusts its own user: run steps as the invoking user, root included.
    if name == "shell":
        return {"allow_root": True}
    return {}


def _rel(path: str, repo: Path) -> str:
    if not Path(path).is_absolute():
        return path
    try:
        return str(Path(path).resolve().relative_to(repo))
    except ValueError:
        return path


def _workflow_files(targets: list[Path], repo: Path) -> list[Path]:
    """-W values (files or folders, relative to the cwd or else to -C) -> workflow files."""
    files: list[Path] = []
    for target in targets:
        if not target.is_absolute() and not target.exists():
            target = repo / target
        if target.is_dir():
            found = sorted(p for p in target.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
            if not found:
                raise LocalRunError(f"-W/--workflows {target}: no .yml or .yaml workflow files")
            files += found
        elif target.is_file():
            files.append(target)
        else:
            raise LocalRunError(f"-W/--workflows {target}: no such file or directory")
    return list(dict.fromkeys(files))


def _load(path: Path, repo: Path) -> Workflow:
    """Load one workflow; `uses: ./x.yml` reusable workflows resolve against the -C root."""
    from github_runner.engine.workflow.loader import parse_workflow

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise WorkflowError([f"{path}: cannot read the workflow file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise WorkflowError([f"{path}: the workflow file is not valid UTF-8"]) from None

    def resolve(ref: str) -> str | None:
        if not ref.startswith("./"):
            return None
        try:
            return (repo / ref).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None

    # Named like GitHub names it in errors and github.workflow_ref: relative to the repository.
    return parse_workflow(_rel(str(path), repo), text, None, resolve)


def _default_event(workflows: list[Workflow]) -> str:
    """`push`, unless every workflow is triggered by exactly one and the same other event."""
    events = {tuple(w.on) for w in workflows}
    if len(events) == 1:
        only = next(iter(events))
        if len(only) == 1:
            return only[0]
    return DEFAULT_EVENT


def _error_lines(errors: list[str]) -> str:
    """Every error of the file, one line each, like GitHub's parser reports them."""
    return "\n".join(errors) if errors else "invalid workflow"
