"""Scorer for GitHub workflow-parser reader files (`reader/*.yml`).

Each file is split on lines that are exactly `---`: document 0 holds options, document 1 the
workflow, then (ref, text) pairs of reusable workflows served from memory, and the last
document the expected JSON. Level 1: errors are reported if and only if errors are expected,
and every expected message (position and text) is among ours. The workflow is parsed under the
name GitHub used (`.github/workflows/<file name>`), so messages compare as whole strings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from github_runner.engine.workflow import WorkflowError
from github_runner.engine.workflow.loader import ReaderOptions, parse_workflow
from github_runner.engine.workflow.tokens import format_number
from github_runner.engine.workflow.validate import expression_of
from scorers.common import CaseResult

_OPTION_FIELDS = {
    "max-file-size": "max_file_size",
    "max-depth": "max_depth",
    "max-job-limit": "max_job_limit",
    "max-nested-reusable-workflows-depth": "max_nested_reusable_workflows_depth",
    "max-result-size": "max_result_size",
    "skip-reusable-workflows": "skip_reusable_workflows",
    "permissions-policy": "permissions_policy",
}


def split_documents(text: str) -> list[str]:
    docs: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "---":
            docs.append([])
        else:
            docs[-1].append(line)
    return ["\n".join(d) for d in docs]


def options_from(doc: str) -> ReaderOptions:
    raw: Any = YAML(typ="safe", pure=True).load(doc) or {}
    options = ReaderOptions()
    for key, attr in _OPTION_FIELDS.items():
        if key in raw:
            setattr(options, attr, raw[key])
    features = raw.get("experimental-features") or {}
    options.background_steps = bool(features.get("allowBackgroundSteps", False))
    # A vector that GitHub's C# parser skips describes the TypeScript parser's strict reading.
    # (and one that the TypeScript parser skips, the C# parser's older YAML rules).
    skipped = raw.get("skip") or []
    options.strict_events = "C#" in skipped
    options.allow_anchors = "TypeScript" not in skipped
    options.extra = {k: v for k, v in raw.items() if k not in _OPTION_FIELDS}
    return options


def _lit(value: Any) -> Any:
    """A source-annotated literal (`include-source: true`) -> its plain value."""
    return value.get("lit") if isinstance(value, dict) and "lit" in value else value


def _where(value: Any) -> tuple[int, int] | None:
    if isinstance(value, dict) and "line" in value and "col" in value:
        return value["line"], value["col"]
    return None


# Template keys that name a workflow key differently.
_TEMPLATE_KEYS = {"ref": "uses", "input-values": "with", "secret-values": "secrets"}


def _same_pos(node: Any, key: str | None, want: Any) -> bool:
    """The model's position of `key`'s value (of the node itself for None) is the expected
    one; keys the file does not hold (values the template derives) are not compared."""
    expected = _where(want)
    if expected is None:
        return True
    if key is not None:
        key = _TEMPLATE_KEYS.get(key, key)
        if key not in node.positions:
            return True
    pos = node.where(key)
    return pos is not None and (pos.line, pos.col) == expected


def _from_template(value: Any) -> Any:
    """GitHub's template JSON (`{"type": 2, "map": [...]}` ...) -> the raw form the model keeps."""
    if isinstance(value, dict) and "type" in value:
        if "map" in value:
            return {_from_template(p["Key"]): _from_template(p["Value"]) for p in value["map"]}
        if "seq" in value:
            return [_from_template(v) for v in value["seq"]]
        if value["type"] == 4:
            return "${{ insert }}"
        if "expr" in value:
            return "${{ " + value["expr"] + " }}"
        if "num" in value:
            num = value["num"]
            return float(num) if num in ("Infinity", "-Infinity", "NaN") else num
        for key in ("lit", "bool"):
            if key in value:
                return value[key]
        return None
    if isinstance(value, list):
        return [_from_template(v) for v in value]
    return value


def _expressions_normalized(value: Any) -> Any:
    """Compare what GitHub evaluates: `${{x}}` is `${{ x }}`, `a-${{ x }}` is a format() call,
    and special numbers compare by name (NaN equals NaN here)."""
    if isinstance(value, str) and "${{" in value:
        expr = expression_of(value)
        return value if expr is None else "${{ " + expr + " }}"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return format_number(value)
    if isinstance(value, list):
        return [_expressions_normalized(v) for v in value]
    if isinstance(value, dict):
        return {k: _expressions_normalized(v) for k, v in value.items()}
    return value


def _same_value(got: Any, want: Any) -> bool:
    return _expressions_normalized(got) == _expressions_normalized(_from_template(want))


def _strategy_problem(job: Any, want: Any) -> str | None:
    raw = _from_template(want)
    strategy = job.strategy
    if not isinstance(raw, dict) or strategy is None:
        return None if (strategy is None) == (raw is None) else "strategy presence differs"
    for key, attr in (
        ("matrix", "matrix"),
        ("fail-fast", "fail_fast"),
        ("max-parallel", "max_parallel"),
    ):
        if key in raw and not _same_value(getattr(strategy, attr), raw[key]):
            return f"strategy {key} {getattr(strategy, attr)!r} != {raw[key]!r}"
    return None


# Template keys whose values the model keeps as written (expressions unevaluated).
_JOB_VALUES = {
    "concurrency": "concurrency",
    "defaults": "defaults",
    "runs-on": "runs_on",
    "env": "env",
    "environment": "environment",
    "container": "container",
    "services": "services",
    "outputs": "outputs",
    "timeout-minutes": "timeout_minutes",
    "cancel-timeout-minutes": "cancel_timeout_minutes",
    "continue-on-error": "continue_on_error",
    "ref": "uses",
    "input-values": "with_",
    "secret-values": "secrets",
}
_STEP_VALUES = {
    "run": "run",
    "uses": "uses",
    "name": "name",
    "env": "env",
    "with": "with_",
    "continue-on-error": "continue_on_error",
    "timeout-minutes": "timeout_minutes",
    "working-directory": "working_directory",
    "shell": "shell",
}


def level2(workflow: Any, jobs: list[dict[str, Any]]) -> str | None:
    """Level 2 on the keys the model carries: job ids, order and kind, the `if` expression
    GitHub evaluates (implicit `success() &&`), step ids (generated ones included) and step
    `if` expressions; with `include-source`, also the position of every job id and of each job
    and step key's value. None when they all match."""
    got_ids = list(workflow.jobs)
    want_ids = [_lit(j["id"]) for j in jobs]
    if got_ids != want_ids:
        return f"job ids {got_ids} != {want_ids}"
    for want in jobs:
        job = workflow.jobs[_lit(want["id"])]
        if (want.get("type") == "reusableWorkflowJob") != job.is_reusable_call:
            return f"job {job.id}: kind differs"
        if not _same_pos(job, None, want["id"]):
            return f"job {job.id}: position {job.pos} != {_where(want['id'])}"
        for key, value in want.items():
            if key not in ("id", "name", "if", "steps") and not _same_pos(job, key, value):
                return f"job {job.id}: {key} at {job.where(key)} != {_where(value)}"
        if "strategy" in want:
            problem = _strategy_problem(job, want["strategy"])
            if problem:
                return f"job {job.id}: {problem}"
        if "needs" in want and job.needs != [_lit(n) for n in want["needs"]]:
            return f"job {job.id}: needs {job.needs} != {want['needs']}"
        if "name" in want and not _same_value(
            job.name if job.name is not None else job.id, want["name"]
        ):
            return f"job {job.id}: name {job.name!r} != {_from_template(want['name'])!r}"
        if want.get("jobs"):  # an empty list: the call was not followed (skip-reusable-workflows)
            if job.called is None:
                return f"job {job.id}: called workflow not loaded"
            problem = level2(job.called, want["jobs"])
            if problem:
                return f"job {job.id} -> {problem}"
        for key, attr in _JOB_VALUES.items():
            if key in want and not _same_value(getattr(job, attr), want[key]):
                return (
                    f"job {job.id}: {key} {getattr(job, attr)!r} != {_from_template(want[key])!r}"
                )
        if "if" in want and want["if"].get("expr") != job.condition:
            return f"job {job.id}: if {job.condition!r} != {want['if'].get('expr')!r}"
        want_steps = want.get("steps") or []
        got_step_ids = [s.context_id for s in job.steps]
        if got_step_ids != [_lit(s.get("id")) for s in want_steps]:
            return f"job {job.id}: step ids {got_step_ids} != {[_lit(s.get('id')) for s in want_steps]}"
        for step, want_step in zip(job.steps, want_steps):
            if "if" in want_step and want_step["if"].get("expr") != step.condition:
                return f"step {step.context_id}: if {step.condition!r} != {want_step['if'].get('expr')!r}"
            for key, attr in _STEP_VALUES.items():
                if key in want_step and not _same_value(getattr(step, attr), want_step[key]):
                    got = getattr(step, attr)
                    return f"step {step.context_id}: {key} {got!r} != {_from_template(want_step[key])!r}"
            for key, value in want_step.items():
                if key not in ("id", "if") and not _same_pos(step, key, value):
                    return f"step {step.context_id}: {key} at {step.where(key)} != {_where(value)}"
    return None


def score_file(path: Path) -> CaseResult:
    docs = split_documents(path.read_text(encoding="utf-8"))
    if len(docs) < 3:
        return CaseResult(path.name, "failed", "fewer than 3 documents")
    options = options_from(docs[0])
    workflow = docs[1]
    callees = {docs[i].strip(): docs[i + 1] for i in range(2, len(docs) - 2, 2)}
    expected = json.loads(docs[-1])
    name = f".github/workflows/{path.name}"
    parsed = None
    try:
        parsed = parse_workflow(name, workflow, options, callees.get)
        got: list[str] = []
    except WorkflowError as exc:
        got = exc.errors
    want = [e["Message"] for e in expected.get("errors", [])] if isinstance(expected, dict) else []
    if not want:
        if got:
            return CaseResult(path.name, "failed", f"unexpected errors: {got[:3]}")
        problem = level2(parsed, expected.get("jobs") or [])
        if problem is None and "events" in expected and parsed.on != expected["events"]:
            problem = f"events {parsed.on!r} != {expected['events']!r}"
        for key in ("env", "concurrency", "defaults"):
            if (
                problem is None
                and key in expected
                and not _same_value(getattr(parsed, key), expected[key])
            ):
                problem = (
                    f"workflow {key} {getattr(parsed, key)!r} != {_from_template(expected[key])!r}"
                )
        return CaseResult.check(path.name, problem is None, f"level 2: {problem}")
    if not got:
        return CaseResult(path.name, "failed", f"no errors, expected {want[:2]}")
    missing = [w for w in want if w not in got]
    return CaseResult.check(path.name, not missing, f"missing {missing[:2]}; got {got[:3]}")


def score(path: Path) -> list[CaseResult]:
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return [score_file(f) for f in files]
