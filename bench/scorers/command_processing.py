"""Scores `runner-command-processing` files: real step output through the real processor.

For each scenario (and each of its `variants`), a bash script that prints the scenario's lines
runs as a real subprocess with the shell GitHub would use (`bash -e {0}`); its stdout lines go one
by one through `CommandProcessor`. Checked: each line's `processed` flag ("error": consumed and
the step failed with `expect_error`), `initial`/`after` echo state and `step_command_result`,
`log_line`, the masker `checks`, and the step result: failed with `expect_error` when given,
otherwise failed only by errors that the same file documents as `expect_error` somewhere.
`{id, command, cases}` scenarios check annotation properties after normalisation. A scenario
that only states a `rule` has nothing to run and is reported skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

from scorers.commands_support import make_masker
from scorers.common import CaseResult

from github_runner.engine.commands.effects import CommandFailed, GroupEnd, GroupStart, Issue, Output
from github_runner.engine.commands.processor import (
    CommandProcessor,
    JobCommandState,
    LineResult,
    convert_to_boolean,
)
from github_runner.engine.shells import resolve_shell

_VARIANT = re.compile(r"\{variant(?:\[(\d+)\])?\}")


def _substitute(text: str, variant: Any) -> str:
    def repl(match: re.Match[str]) -> str:
        index = match.group(1)
        return str(variant if index is None else variant[int(index)])

    return _VARIANT.sub(repl, text)


async def _run_step(lines: list[str], env: dict[str, str]) -> tuple[list[str], int]:
    """Run a real script printing `lines`; return the stdout lines and the exit code."""
    shell = resolve_shell(None)
    with tempfile.TemporaryDirectory(prefix="ghr-cmdproc-") as tmp:
        script = "".join(f"printf '%s\\n' {shlex.quote(line)}\n" for line in lines)
        path = shell.write_script(Path(tmp), script)
        proc = await asyncio.create_subprocess_exec(
            *shell.argv(str(path)),
            stdout=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", **env},
            cwd=tmp,
        )
        out, _ = await proc.communicate()
    return out.decode("utf-8").split("\n")[:-1], proc.returncode or 0


def _log_lines(result: LineResult) -> list[str]:
    lines = []
    for effect in result.effects:
        if isinstance(effect, Output):
            lines.append(effect.text)
        elif isinstance(effect, (GroupStart, GroupEnd)):
            lines.append(effect.log_line)
    return lines


def _errors(results: list[LineResult]) -> list[str]:
    return [e.message for r in results for e in r.effects if isinstance(e, (Issue, CommandFailed)) and
            (isinstance(e, CommandFailed) or e.level == "error")]


def _run_lines(scenario: dict[str, Any], variant: Any, known_errors: list[str]) -> list[str]:
    env = {k: _substitute(v, variant) for k, v in (scenario.get("env") or {}).items()}
    job_vars = scenario.get("job_variables") or {}
    masker = make_masker()
    processor = CommandProcessor(
        masker,
        job=JobCommandState(),
        env=env,
        runner_env={},
        step_debug=convert_to_boolean(job_vars.get("ACTIONS_STEP_DEBUG")),
    )
    problems: list[str] = []
    initial = scenario.get("initial") or {}
    if "echo" in initial and processor.echo != initial["echo"]:
        problems.append(f"initial echo {processor.echo}, expected {initial['echo']}")
    specs = scenario["lines"]
    texts = [_substitute(spec["line"], variant) for spec in specs]
    printed, exit_code = asyncio.run(_run_step(texts, env))
    if printed != texts:
        return [f"the step printed {printed!r}, expected {texts!r}"]
    results: list[LineResult] = []
    expect_error = scenario.get("expect_error")
    for spec, text in zip(specs, printed):
        failed_before = processor.failed
        result = processor.process_line(text)
        results.append(result)
        want = spec["processed"]
        if want == "error":
            newly = processor.failed and not failed_before
            if not (result.processed and newly and expect_error and any(expect_error in m for m in _errors([result]))):
                problems.append(f"{text!r}: expected a consumed line failing with {expect_error!r}")
        elif result.processed != want:
            problems.append(f"{text!r}: processed={result.processed}, expected {want}")
        after = spec.get("after") or {}
        if "echo" in after and processor.echo != after["echo"]:
            problems.append(f"{text!r}: echo={processor.echo}, expected {after['echo']}")
        if after.get("step_command_result") == "failed" and not processor.failed:
            problems.append(f"{text!r}: step command result not failed")
        if "log_line" in spec and spec["log_line"] not in _log_lines(result):
            problems.append(f"{text!r}: log lines {_log_lines(result)}, expected {spec['log_line']!r}")
    for check in scenario.get("checks") or []:
        if "mask" in check and masker.mask(check["mask"]) != check["expect"]:
            problems.append(f"mask({check['mask']!r}) = {masker.mask(check['mask'])!r}, expected {check['expect']!r}")
    failed = processor.failed or exit_code != 0
    errors = _errors(results)
    if expect_error:
        if not failed or not any(expect_error in m for m in errors):
            problems.append(f"step should fail with {expect_error!r}; failed={failed}, errors={errors}")
    elif failed:
        reasons = [e.message for r in results for e in r.effects if isinstance(e, CommandFailed)]
        unexplained = [m for m in reasons if not any(k in m for k in known_errors)]
        if unexplained or exit_code != 0:
            problems.append(f"step failed: exit={exit_code}, errors={unexplained}")
    return problems


def _run_issue_cases(scenario: dict[str, Any]) -> list[str]:
    cases = scenario["cases"]
    lines = [case["line"] for case in cases]
    printed, exit_code = asyncio.run(_run_step(lines, {}))
    if printed != lines or exit_code != 0:
        return [f"the step printed {printed!r} (exit {exit_code})"]
    processor = CommandProcessor(make_masker(), runner_env={})
    problems = []
    for case, text in zip(cases, printed):
        issues = [e for e in processor.process_line(text).effects if isinstance(e, Issue)
                  and e.level == scenario["command"]]
        if len(issues) != 1:
            problems.append(f"{text!r}: expected one {scenario['command']} issue, got {issues}")
            continue
        props = {k.lower(): v for k, v in issues[0].properties.items()}
        for key, value in (case.get("after_properties") or {}).items():
            if props.get(key.lower()) != value:
                problems.append(f"{text!r}: {key}={props.get(key.lower())!r}, expected {value!r}")
        for key in case.get("after_properties_absent") or []:
            if key.lower() in props:
                problems.append(f"{text!r}: {key} should be absent, is {props[key.lower()]!r}")
    return problems


def score(path: Path) -> list[CaseResult]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    scenarios = doc.get("scenarios") or []
    known_errors = [s["expect_error"] for s in scenarios if s.get("expect_error")]
    results: list[CaseResult] = []
    for scenario in scenarios:
        sid = scenario["id"]
        if scenario.get("lines"):
            problems = []
            for variant in scenario.get("variants") or [None]:
                tag = "" if variant is None else f"[{variant!r}] "
                problems += [tag + p for p in _run_lines(scenario, variant, known_errors)]
        elif scenario.get("cases") and scenario.get("command"):
            problems = _run_issue_cases(scenario)
        else:
            results.append(CaseResult(sid, "skipped", "states a rule only; covered by unit tests"))
            continue
        results.append(CaseResult.check(sid, not problems, "; ".join(problems)))
    if os.environ.get("GHR_SCORE_VIA_ENGINE") == "1":
        results += _score_via_engine(scenarios, known_errors)
    return results


# -- the same scenarios through the whole engine (`github-runner exec`) -------------------------
#
# Enabled with GHR_SCORE_VIA_ENGINE=1. Every scenario (and variant) becomes a one-job workflow,
# run on its own: step `lines` prints the lines, step `masks` (always run) prints each masker check
# input. Checked from the JSONL events: lines the processor must not consume appear verbatim in
# the log, the step fails exactly when the scenario says so (with `expect_error` among its
# annotations), and each mask check input is logged as its expected masked form.


def _engine_jobs(scenarios: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any], Any]]:
    jobs: dict[str, tuple[str, dict[str, Any], Any]] = {}
    for scenario in scenarios:
        if not scenario.get("lines"):
            continue
        for variant in scenario.get("variants") or [None]:
            tag = "" if variant is None else f" [{variant!r}]"
            jobs[f"s{len(jobs)}"] = (scenario["id"] + tag, scenario, variant)
    return jobs


def _engine_workflow(scenario: dict[str, Any], variant: Any) -> dict[str, Any]:
    texts = [_substitute(spec["line"], variant) for spec in scenario["lines"]]
    env = {k: _substitute(v, variant) for k, v in (scenario.get("env") or {}).items()}
    checks = [c for c in _engine_mask_checks(scenario)]
    return {"on": "push", "jobs": {"scenario": {"runs-on": "ubuntu-latest", "steps": [
        {"id": "lines", "env": env, "run": "".join(f"printf '%s\\n' {shlex.quote(t)}\n" for t in texts)},
        {"id": "masks", "if": "always()",
         "run": "".join(f"printf '%s\\n' {shlex.quote(c['mask'])}\n" for c in checks) or "true"},
    ]}}}


def _engine_mask_checks(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """Mask checks that one log line can show (the log splits multi-line values into lines)."""
    return [c for c in scenario.get("checks") or [] if "mask" in c and not set(c["mask"]) & set("\r\n")]


async def _exec_isolated(workflow: dict[str, Any], limit: asyncio.Semaphore) -> list[dict[str, Any]]:
    """One `github-runner exec` per scenario: on GitHub every job has its own masker and state."""
    import sys

    async with limit:
        with tempfile.TemporaryDirectory(prefix="ghr-cmdproc-engine-") as tmp:
            path = Path(tmp) / "repo" / ".github" / "workflows" / "commands.yml"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(workflow, indent=1))  # JSON is YAML 1.2
            events_path = Path(tmp) / "events.jsonl"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "github_runner", "exec", "-C", str(path.parents[2]),
                "--json", str(events_path),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.wait_for(proc.wait(), 300)
            if not events_path.exists():
                return []
            return [json.loads(x) for x in events_path.read_text().splitlines()]


async def _exec_all(workflows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    limit = asyncio.Semaphore(2)
    return list(await asyncio.gather(*(_exec_isolated(w, limit) for w in workflows)))


def _score_via_engine(scenarios: list[dict[str, Any]], known_errors: list[str]) -> list[CaseResult]:
    jobs = _engine_jobs(scenarios)
    if any("${{" in json.dumps(job[1]) for job in jobs.values()):
        return [CaseResult("engine", "skipped", "a line contains ${{, which the engine would evaluate")]
    runs = asyncio.run(_exec_all([_engine_workflow(scenario, variant) for _, scenario, variant in jobs.values()]))
    events_by_job = dict(zip(jobs, runs))
    results = []
    for job_id, (label, scenario, variant) in jobs.items():
        mine = events_by_job[job_id]

        def step(sid: str, kind: str) -> list[dict[str, Any]]:
            return [e for e in mine if e.get("step_id") == sid and e["type"] == kind]  # noqa: B023

        problems = []
        finished = step("lines", "StepFinished")
        if not finished:
            results.append(CaseResult(f"{label} (engine)", "failed", "the step did not run"))
            continue
        logged = [e["text"] for e in step("lines", "LogLine")]
        for spec in scenario["lines"]:
            text = _substitute(spec["line"], variant)
            if spec["processed"] is False and text not in logged:
                problems.append(f"{text!r} not logged as output")
        errors = [a["message"] for a in step("lines", "Annotation") if a["level"] == "error"]
        expect_error = scenario.get("expect_error")
        if expect_error:
            if finished[0]["outcome"] != "failure" or not any(expect_error in m for m in errors):
                problems.append(f"expected failure with {expect_error!r}, got {finished[0]['outcome']}: {errors}")
        elif finished[0]["outcome"] != "success" and not any(k in m for m in errors for k in known_errors):
            problems.append(f"step failed: {errors}")
        masked = [e["text"] for e in step("masks", "LogLine")]
        expected = [c["expect"] for c in _engine_mask_checks(scenario)]
        if masked != expected:
            problems.append(f"mask checks logged {masked!r}, expected {expected!r}")
        results.append(CaseResult.check(f"{label} (engine)", not problems, "; ".join(problems)))
    return results
