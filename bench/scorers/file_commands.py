"""Scores `runner-file-commands` files through the real file-command readers.

Each of `cases` is written (with a UTF-8 BOM when `written_with_utf8_bom`) and read as
GITHUB_ENV, GITHUB_OUTPUT and GITHUB_STATE; the map or the error must match for all three.
A case whose id says `missing-file` / `missing-directory` is read from a path that does not
exist. `env_only_cases` go through the GITHUB_ENV reader alone; `step_summary_cases` through
the step-summary reader, with `expect` phrased as "uploaded unchanged" / "not uploaded" /
"contains neither secret" and "no issue" / "one issue".
"""

from __future__ import annotations

import codecs
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scorers.commands_support import make_masker
from scorers.common import CaseResult

from github_runner.engine.commands.effects import Issue, SaveState, SetEnv, SetOutput, StepSummary
from github_runner.engine.commands.file_commands import (
    FileCommandResult,
    process_env_file,
    process_output_file,
    process_state_file,
)
from github_runner.engine.commands.summary import read_step_summary

READERS: dict[str, tuple[Callable[[Path], FileCommandResult], type]] = {
    "GITHUB_ENV": (process_env_file, SetEnv),
    "GITHUB_OUTPUT": (process_output_file, SetOutput),
    "GITHUB_STATE": (process_state_file, SaveState),
}


def _write(directory: Path, case: dict[str, Any]) -> Path:
    case_id = case["id"]
    if "missing-directory" in case_id:
        return directory / "no-such-directory" / "file"
    path = directory / "file"
    if "missing-file" in case_id:
        return path
    data = case.get("content", "").encode("utf-8")
    if case.get("written_with_utf8_bom"):
        data = codecs.BOM_UTF8 + data
    path.write_bytes(data)
    return path


def _check(case: dict[str, Any], result: FileCommandResult, effect_type: type) -> str | None:
    values = {e.name: e.value for e in result.effects if isinstance(e, effect_type)}
    messages = [i.message for i in result.issues]
    if "expect_error_contains" in case:
        wanted = case["expect_error_contains"]
        if not result.failed or not any(wanted in m for m in messages):
            return f"expected failure containing {wanted!r}, got failed={result.failed} issues={messages}"
        return None
    if result.failed or values != case["expect"]:
        return f"expected {case['expect']!r}, got {values!r} (failed={result.failed}, issues={messages})"
    note = case.get("note", "")
    if "one issue" in note and len(result.issues) != 1:
        return f"expected exactly one issue, got {messages}"
    return None


def _score_pairs(case: dict[str, Any], readers: list[str]) -> CaseResult:
    problems = []
    for name in readers:
        reader, effect_type = READERS[name]
        with tempfile.TemporaryDirectory(prefix="ghr-filecmd-") as tmp:
            problem = _check(case, reader(_write(Path(tmp), case)), effect_type)
        if problem:
            problems.append(f"{name}: {problem}")
    return CaseResult.check(case["id"], not problems, "; ".join(problems))


def _score_summary(case: dict[str, Any]) -> CaseResult:
    masker = make_masker()
    for secret in case.get("secrets") or []:
        masker.add(secret)
    if "content_size_bytes" in case:
        line = "# too large\n"
        size = case["content_size_bytes"]
        content = (line * (size // len(line) + 1))[:size]
    else:
        content = case.get("content", "")
    expect: str = case["expect"]
    with tempfile.TemporaryDirectory(prefix="ghr-summary-") as tmp:
        path = Path(tmp) / "summary.md"
        path.write_text(content, encoding="utf-8")
        effects = read_step_summary(path, masker.mask)
    uploaded = [e.markdown for e in effects if isinstance(e, StepSummary)]
    issues = [e for e in effects if isinstance(e, Issue)]
    problems = []
    if "not uploaded" in expect or "nothing uploaded" in expect:
        if uploaded:
            problems.append("uploaded, expected nothing")
    elif len(uploaded) != 1:
        problems.append(f"expected one upload, got {len(uploaded)}")
    else:
        text = uploaded[0]
        if "unchanged" in expect and text != content:
            problems.append(f"changed: {text!r}")
        if "neither secret" in expect or "no secret" in expect:
            leaked = [s for s in case.get("secrets") or [] if s in text]
            if leaked:
                problems.append(f"secrets survived: {len(leaked)}")
    if "no issue" in expect and issues:
        problems.append(f"unexpected issues {[i.message for i in issues]}")
    if "one issue" in expect and len(issues) != 1:
        problems.append(f"expected exactly one issue, got {len(issues)}")
    return CaseResult.check(case["id"], not problems, "; ".join(problems))


def score(path: Path) -> list[CaseResult]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    applies = doc.get("applies_to") or list(READERS)
    results = [_score_pairs(c, [a for a in applies if a in READERS]) for c in doc.get("cases") or []]
    results += [_score_pairs(c, ["GITHUB_ENV"]) for c in doc.get("env_only_cases") or []]
    results += [_score_summary(c) for c in doc.get("step_summary_cases") or []]
    return results
