"""The engine holds a job's secrets in a SecretStore: copied out on read, zeroised at job end.

Real runs through the shell executor. The network seam (`RunnerInfo.network`), which the
engine calls with each job's plan before the job's sandbox is prepared, is used here only to
look at what a job was given: its plan's secrets, and the buffers behind them.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest

from github_runner.engine.events import CollectingReporter
from github_runner.engine.job import run_job
from github_runner.engine.plan import JobPlan, RunnerInfo, StepPlan
from github_runner.engine.run import RunOptions, WorkflowRun
from github_runner.engine.workflow.loader import parse_workflow
from github_runner.executors import get_executor
from github_runner.secrets import Masker, SecretStore
from github_runner.secrets.store import SecretStoreClosed

TOKEN = "tok-Zq81-engine-store"
PASSED_SUFFIX = "-passed-on"


class Seen:
    """Records each job's secrets as the engine hands them over (the network seam's view)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, Any, list[bytearray]]] = []

    def __call__(self, plan: JobPlan) -> None:
        buffers = list(getattr(plan.secrets, "_data", {}).values())
        self.jobs.append((plan.job_id, plan.secrets, buffers))
        return None


def _runner(tmp_path: Path, seen: Seen) -> RunnerInfo:
    return RunnerInfo(work_root=tmp_path / "work", network=seen)


def test_run_job_moves_a_plain_dict_into_a_store_and_zeroises_it(tmp_path: Path) -> None:
    """The worker's shape today: a dict. The engine empties it, reads values from a store
    (case-insensitively, as GitHub does) and wipes the store's buffers when the job ends."""
    given = {"TOKEN": TOKEN, "UNSET": ""}
    plan = JobPlan(
        job_id="build", job_key="build", name="build",
        steps=[StepPlan(id="s", run='echo "t=${{ secrets.token }} eq=${{ secrets.TOKEN == \'' + TOKEN + '\' }} '
                                   'unset=[${{ secrets.UNSET }}] json=${{ toJSON(secrets) }}"')],
        contexts={"github": {"repository": "o/r", "event_name": "push", "event": {}}},
        secrets=given,
    )
    seen, out = Seen(), CollectingReporter()
    outcome = asyncio.run(run_job(plan, executor=get_executor("shell", allow_root=True), reporter=out,
                                  masker=Masker(), runner=_runner(tmp_path, seen)))
    assert outcome.result == "success", out.lines()
    text = "\n".join(out.lines())
    assert "t=*** eq=true unset=[]" in text and TOKEN not in text
    assert '"TOKEN": "***"' in text  # toJSON(secrets) reads through the store, masked
    assert given == {}, "the plan's plain dict still holds the secrets after the engine took them"
    (_, store, buffers), = seen.jobs
    assert isinstance(store, SecretStore) and store.closed
    assert buffers and all(b == bytearray(len(b)) for b in buffers), "a job's secret was not zeroised"
    with pytest.raises(SecretStoreClosed):
        store["TOKEN"]


WORKFLOW = """
on: push
jobs:
  a:
    runs-on: x
    strategy: {matrix: {n: [1, 2]}}
    steps:
      - run: echo "a${{ matrix.n }} ${{ secrets.TOKEN }}"
  call:
    needs: a
    uses: ./.github/workflows/called.yml
    secrets:
      PASSED: ${{ secrets.TOKEN }}-passed-on
  inherit:
    needs: a
    uses: ./.github/workflows/called.yml
    secrets: inherit
"""

CALLED = """
on:
  workflow_call:
    secrets:
      PASSED: {required: false}
jobs:
  inner:
    runs-on: x
    steps:
      - run: echo "inner passed=${{ secrets.PASSED }} token=${{ secrets.TOKEN }}"
"""


def _run(tmp_path: Path, secrets: Any, masker: Masker, seen: Seen) -> tuple[str, CollectingReporter]:
    def resolve(ref: str) -> str | None:
        return textwrap.dedent(CALLED) if ref.endswith("called.yml") else None

    workflow = parse_workflow(".github/workflows/ci.yml", textwrap.dedent(WORKFLOW), None, resolve)
    out = CollectingReporter()
    options = RunOptions(event_name="push", github={"repository": "o/r", "event_name": "push", "event": {}},
                         secrets=secrets)
    run = WorkflowRun(workflow, options, executor=get_executor("shell", allow_root=True), reporter=out,
                      masker=masker, runner=_runner(tmp_path, seen))
    result = asyncio.run(run.run())
    return result.result, out


def test_each_job_gets_its_own_copy_closed_at_its_end_and_the_callers_store_stays(tmp_path: Path) -> None:
    masker = Masker()
    store = SecretStore(masker)
    store.set("TOKEN", TOKEN, source="secret TOKEN (-s)")
    original = store._data["TOKEN"]
    seen = Seen()
    result, out = _run(tmp_path, store, masker, seen)
    text = "\n".join(out.lines())
    assert result == "success", text
    assert "a1 ***" in text and "a2 ***" in text
    assert "inner passed=*** token=" in text  # explicit secrets: only PASSED reaches the callee
    assert "inner passed= token=***" in text  # `secrets: inherit`
    assert TOKEN not in text and TOKEN + PASSED_SUFFIX not in text
    ids = sorted(job_id for job_id, _, _ in seen.jobs)
    assert ids == ["a (1)", "a (2)", "call / inner", "inherit / inner"]
    stores = [s for _, s, _ in seen.jobs]
    assert len({id(s) for s in stores}) == 4 and store not in stores  # one store per job
    for job_id, job_store, buffers in seen.jobs:
        assert job_store.closed, f"{job_id}: its store was left open"
        assert all(b == bytearray(len(b)) for b in buffers), f"{job_id}: a secret was not zeroised"
    assert not store.closed and store["TOKEN"] == TOKEN and original == TOKEN.encode()
    store.close()
    assert original == bytearray(len(TOKEN))


def test_each_secret_is_registered_once_naming_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A too-short secret is refused with one warning naming it, not one per job and layer."""
    masker = Masker()
    caplog.set_level(logging.WARNING, logger="github_runner.secrets")
    result, _ = _run(tmp_path, {"TOKEN": TOKEN, "SHORT": "ab1"}, masker, Seen())
    assert result == "success"
    warnings = [r.getMessage() for r in caplog.records if "shorter than" in r.getMessage()]
    assert warnings == ["ignoring a secret from secret SHORT shorter than 4 characters (too short to mask safely)"]
