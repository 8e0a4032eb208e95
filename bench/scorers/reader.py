"""Scorer for GitHub workflow-parser reader files (`reader/*.yml`).

Each file is split on lines that are exactly `---`: document 0 holds options, document 1 the
workflow, then (ref, text) pairs of reusable workflows served from memory, and the last
document the expected JSON. Level 1: errors are reported if and only if errors are expected,
and every expected message (position and text) is among ours. The workflow is parsed under the
name GitHub used (`.github/workflows/<file name>`), so messages compare as whole strings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from github_runner.engine.workflow import WorkflowError
from github_runner.engine.workflow.loader import ReaderOptions, parse_workflow
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


def score_file(path: Path) -> CaseResult:
    docs = split_documents(path.read_text(encoding="utf-8"))
    if len(docs) < 3:
        return CaseResult(path.name, "failed", "fewer than 3 documents")
    options = options_from(docs[0])
    workflow = docs[1] + "\n"
    callees = {docs[i].strip(): docs[i + 1] + "\n" for i in range(2, len(docs) - 2, 2)}
    expected = json.loads(docs[-1])
    name = f".github/workflows/{path.name}"
    try:
        parse_workflow(name, workflow, options, callees.get)
        got: list[str] = []
    except WorkflowError as exc:
        got = exc.errors
    want = [e["Message"] for e in expected.get("errors", [])] if isinstance(expected, dict) else []
    if not want:
        return CaseResult.check(path.name, not got, f"unexpected errors: {got[:3]}")
    if not got:
        return CaseResult(path.name, "failed", f"no errors, expected {want[:2]}")
    missing = [w for w in want if w not in got]
    return CaseResult.check(path.name, not missing, f"missing {missing[:2]}; got {got[:3]}")


def score(path: Path) -> list[CaseResult]:
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return [score_file(f) for f in files]
