"""JobPlan: the executor-independent description of one job, as plain records (msgspec Structs).

Two producers build it and one consumer runs it:

- `github-runner exec` builds one `JobPlan` per job (and per matrix combination) from a workflow
  file, the event payload and the `--secret/--var/--input` values (`engine/planner.py`).
- the worker builds one from a GitHub job message (`AgentJobRequestMessage`): `steps[]` become
  `StepPlan`s, `contextData` becomes `JobPlan.contexts`, `environmentVariables[]` become
  `JobPlan.env` layers, `defaults[]` the `defaults_run`, `isSecret` variables the `secrets`, and
  `jobOutputs` the `outputs`.
- `engine/job.py:run_job(plan, ...)` runs it through an Executor and reports through a Reporter.

Templates. Anything the engine must evaluate while the job runs (a step's `env`, `with`, `run`,
`if`, the job's `env` and `outputs`...) is kept unevaluated as a *template value*: a plain JSON-like
Python value (str, bool, int, float, None, list, dict) whose strings may contain `${{ expr }}`. A
string that is exactly one `${{ expr }}` evaluates to the expression's value with its own type (so
`env: ${{ fromJSON(x) }}` can produce a mapping); any other string is interpolated to a string.
A job message TemplateToken converts like this: literal -> str/bool/number/None, sequence -> list,
mapping -> dict, basic expression `{"type": 3, "expr": E}` -> the string `"${{ E }}"`.
Conditions (`if`) are bare expression strings, as in the job message (`"success()"`).

Contexts are *evaluated* values (JSON-like): `github`, `matrix`, `strategy`, `needs`, `inputs`,
`vars`; `secrets` is kept apart in `JobPlan.secrets` so that every secret is registered with the
Masker before anything runs. `env`, `steps`, `job`, `runner` are built by the engine itself.

`JobPlan.secrets` is a `secrets.SecretStore` (exec) or a plain mapping (the worker today):
`run_job` holds them in a store registered with the job's masker (a dict is moved into one and
emptied), gives expressions the store itself (a value is copied out only when read), and closes
it, zeroising every value, when the job ends. The plan's secrets belong to that one job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from msgspec import Struct, field

from github_runner.engine.workflow.errors import Pos

# A JSON-like value whose strings may contain `${{ }}` (see the module docstring).
Template = Any

JobResult = Literal["success", "failure", "cancelled", "skipped"]


# Positions are the workflow reader's `Pos(file, line, col)`; str() gives GitHub's
# `file (Line: L, Col: C)`. A job message gives them as fileTable index + line + col.
SourcePos = Pos


class StepPlan(Struct):
    """One step: either `run` (a script) or `uses` (an action reference), never both."""

    id: str  # the `steps.<id>` name: the user's `id:` or a generated `__run`, `__run_2`...
    name: Template | None = None  # display name; None: derived from `run`/`uses`
    run: Template | None = None  # script text (job message: inputs.script)
    uses: str | None = None  # "./path", "owner/repo[/path]@ref", "docker://image"
    shell: Template | None = None
    working_directory: Template | None = None
    with_: Template = field(default_factory=dict)  # action inputs (mapping or one expression)
    env: Template = field(default_factory=dict)  # mapping or one `${{ }}` expression
    condition: str = "success()"  # the `if:`, an expression without `${{ }}`
    continue_on_error: Template = False
    timeout_minutes: Template | None = None
    pos: SourcePos | None = None
    record_id: str | None = None  # the job message's step GUID (timeline record); None locally
    generated_id: bool = False  # True when `id` was generated (`__run`): not user-addressable

    @property
    def kind(self) -> Literal["run", "uses"]:
        return "uses" if self.uses is not None else "run"


class DefaultsRun(Struct):
    """`defaults.run` after merging workflow- then job-level values (job wins per key)."""

    shell: str | None = None
    working_directory: str | None = None


class ContainerPlan(Struct):
    """A `container:` or `services.<id>` entry, unevaluated. Not run by the engine yet."""

    image: Template
    raw: Template = None
    name: str | None = None


class JobPlan(Struct):
    """Everything needed to run one job, independent of executor and of where it came from."""

    job_id: str  # unique in the run, safe for display: "build", "build (1, linux)"
    job_key: str  # the workflow's job key: `github.job`
    name: str  # evaluated display name
    steps: list[StepPlan]
    contexts: dict[str, Any] = field(default_factory=dict)  # github, matrix, strategy, needs...
    secrets: Mapping[str, str] = field(default_factory=dict)  # SecretStore or dict: see above
    env: list[Template] = field(default_factory=list)  # layers, lowest precedence first
    defaults_run: DefaultsRun = field(default_factory=DefaultsRun)
    outputs: dict[str, Template] = field(default_factory=dict)  # `jobs.<id>.outputs`
    timeout_minutes: float = 360.0
    cancel_timeout_minutes: float = 5.0
    continue_on_error: bool = False
    container: ContainerPlan | None = None
    services: dict[str, ContainerPlan] = field(default_factory=dict)
    workflow_file: str = ""  # repository-relative path, for `github.workflow_ref` and errors
    workflow_name: str = ""
    pos: SourcePos | None = None
    debug: bool = False  # ACTIONS_STEP_DEBUG: show `::debug::` lines
    egress: Template = None  # `jobs.<id>.egress` as written (issue 7 extension), for `network`


class RunnerInfo(Struct):
    """The host side of a job: the `runner` context and where per-job directories go."""

    name: str = "github-runner"
    os: str = "Linux"
    arch: str = "X64"
    environment: str = "self-hosted"
    work_root: Path = field(default_factory=lambda: Path("/tmp/github-runner/work"))
    tool_cache: Path | None = None  # None: `<work_root>/_tool`
    workspace: Path | None = None  # an existing repository to use as GITHUB_WORKSPACE (exec)
    extra_env: dict[str, str] = field(default_factory=dict)  # ACTIONS_RUNTIME_URL and the like
    # The runner's "Run <script>" header group (script, shell line, env) before each run step's
    # output: GitHub shows it; exec leaves it out of its logs unless --debug.
    step_headers: bool = True
    # Egress seam: called once per job before its sandbox is prepared. Returns None (no network
    # control) or an object with `hook` (an executors.base.NetworkHook for JobSpec.network) and
    # `reporter` (a Reporter that also receives this job's events, or None). When the hook has a
    # true `fails_job` after the job ran, the job fails.
    network: Callable[[JobPlan], Any] | None = None


class StepOutcome(Struct):
    id: str
    outcome: JobResult
    conclusion: JobResult
    outputs: dict[str, str] = field(default_factory=dict)


class JobOutcome(Struct):
    """What running a JobPlan produced: feeds the `needs` context and the job's conclusion."""

    job_id: str
    result: JobResult
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepOutcome] = field(default_factory=list)
    error: str | None = None  # why the job failed before or between steps, masked
