"""`github-runner exec` end to end: real subprocess steps through the shell executor."""

from __future__ import annotations

import json


def test_needs_matrix_outputs_env_precedence(repo) -> None:
    repo.workflow(
        """
        on: push
        env: {LEVEL: workflow, W: w}
        jobs:
          first:
            runs-on: ubuntu-latest
            env: {LEVEL: job}
            outputs:
              value: ${{ steps.produce.outputs.value }}
            steps:
              - id: produce
                run: |
                  echo "level=$LEVEL w=$W"
                  echo "value=forty-two" >> "$GITHUB_OUTPUT"
              - run: echo "step level=$LEVEL"
                env: {LEVEL: step}
          second:
            needs: first
            runs-on: ubuntu-latest
            strategy:
              matrix:
                n: [1, 2]
            steps:
              - run: echo "got ${{ needs.first.outputs.value }} n=${{ matrix.n }} of ${{ strategy.job-total }}"
        """
    )
    r = repo.exec("--json", str(repo.root / "events.jsonl"))
    assert r.code == 0, r.out + r.err
    assert "level=job w=w" in r.out
    assert "step level=step" in r.out
    assert "got forty-two n=1 of 2" in r.out and "got forty-two n=2 of 2" in r.out
    events = [json.loads(line) for line in (repo.root / "events.jsonl").read_text().splitlines()]
    finished = {e["job_id"]: e["result"] for e in events if e["type"] == "JobFinished"}
    assert finished == {"first": "success", "second (1)": "success", "second (2)": "success"}
    assert events[-1]["type"] == "RunFinished" and events[-1]["result"] == "success"


def test_failure_continue_on_error_and_status_functions(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - id: soft
                run: exit 3
                continue-on-error: true
              - run: echo "soft=${{ steps.soft.outcome }}/${{ steps.soft.conclusion }}"
              - run: exit 1
              - run: echo should-not-run
              - if: failure()
                run: echo on-failure
              - if: always()
                run: echo always-ran
        """
    )
    r = repo.exec()
    assert r.code == 1
    assert "soft=failure/success" in r.out
    assert "should-not-run" not in r.out.replace("Run echo should-not-run", "")
    assert "on-failure" in r.out and "always-ran" in r.out
    assert "Process completed with exit code 1." in r.out


def test_secrets_are_masked_and_outputs_with_secrets_dropped(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            outputs:
              leak: ${{ steps.s.outputs.v }}
            steps:
              - id: s
                run: |
                  echo "plain ${{ secrets.TOKEN }}"
                  echo "v=${{ secrets.TOKEN }}" >> "$GITHUB_OUTPUT"
                  v="runtime-mask-$((6 * 7))"
                  echo "::add-mask::$v"
                  echo "later $v"
        """
    )
    r = repo.exec("-s", "TOKEN=s3cr3t-value-123", "--json", str(repo.root / "e.jsonl"))
    assert r.code == 0, r.out + r.err
    text = r.out + (repo.root / "e.jsonl").read_text()
    assert "s3cr3t-value-123" not in text
    assert "runtime-mask-42" not in text  # the script (shown in the step header) never holds it
    assert "plain ***" in r.out and "later ***" in r.out
    assert "Skip output 'leak' since it may contain secret." in r.out


def test_bad_input_is_one_line_exit_2(repo) -> None:
    repo.workflow("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo hi\n      bad: [\n")
    r = repo.exec()
    assert r.code == 2
    assert "Traceback" not in r.err and "Line:" in r.err and len(r.err.strip().splitlines()) == 1
    repo.workflow(
        """
        on: push
        jobs:
          a: {needs: b, runs-on: x, steps: [{run: echo a}]}
          b: {needs: a, runs-on: x, steps: [{run: echo b}]}
        """
    )
    r = repo.exec()
    assert r.code == 2 and "Traceback" not in r.err and r.out == ""
    ok = """
        on: push
        jobs:
          a: {runs-on: x, steps: [{run: echo a}]}
        """
    repo.workflow(ok)
    for flags, needle in (
        (["--matrix", "nocolon"], "--matrix"),
        (["--input", "novalue"], "--input"),
        (["-j", "nope"], "-j/--job"),
        (["-s", "=x"], "-s/--secret"),
    ):
        r = repo.exec(*flags)
        assert r.code == 2 and needle in r.err and "Traceback" not in r.err, (flags, r.err)


def test_missing_local_action_is_bad_input(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: ./no/such/action
        """
    )
    r = repo.exec()
    assert r.code == 2 and "ci.yml (Line: 7" in r.err and "no/such/action" in r.err
    assert "Traceback" not in r.err


def test_job_if_needs_results_fail_fast_and_max_parallel(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          bad:
            runs-on: x
            steps: [{run: exit 1}]
          dependent:
            needs: bad
            runs-on: x
            steps: [{run: echo dependent-ran}]
          on-failure:
            needs: bad
            if: failure()
            runs-on: x
            steps: [{run: 'echo "needs-result=${{ needs.bad.result }}"'}]
          matrix:
            runs-on: x
            strategy:
              max-parallel: 1
              matrix:
                n: [1, 2, 3]
            steps:
              - run: |
                  echo "combo ${{ matrix.n }}"
                  test "${{ matrix.n }}" != 1
        """
    )
    r = repo.exec("--json", str(repo.root / "e.jsonl"))
    assert r.code == 1
    assert "| dependent-ran" not in r.out
    assert "needs-result=failure" in r.out
    assert "combo 1" in r.out and "combo 2" not in r.out.replace("echo \"combo ${{ matrix.n }}\"", "")
    events = [json.loads(x) for x in (repo.root / "e.jsonl").read_text().splitlines()]
    result = {e["job_id"]: e["result"] for e in events if e["type"] == "JobFinished"}
    assert result["dependent"] == "skipped" and result["on-failure"] == "success"
    assert result["matrix (1)"] == "failure"
    assert result["matrix (2)"] == "cancelled" and result["matrix (3)"] == "cancelled"


def test_list_and_dry_run_start_nothing(repo) -> None:
    repo.workflow(
        """
        on: [push, workflow_dispatch]
        jobs:
          a: {runs-on: x, steps: [{run: touch ran-a}]}
          b: {needs: a, name: Bee, runs-on: x, steps: [{uses: ./act}]}
        """
    )
    repo.file("act/action.yml", "name: n\ndescription: d\nruns:\n  using: composite\n  steps: []\n")
    r = repo.exec("--list")
    assert r.code == 0 and "Bee" in r.out and "push,workflow_dispatch" in r.out
    r = repo.exec("--dry-run", "-j", "b")
    assert r.code == 0 and "job a" in r.out and "job b (needs a)" in r.out and "uses ./act" in r.out
    assert not (repo.root / "ran-a").exists()


def test_missing_working_directory_and_shell(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          j:
            runs-on: x
            steps:
              - run: echo x
                working-directory: no/such/dir
              - if: always()
                shell: no-such-shell-xyz {0}
                run: echo y
              - if: always()
                run: echo still-running
        """
    )
    r = repo.exec()
    assert r.code == 1
    assert "with working directory" in r.out and "No such file or directory" in r.out
    assert "no-such-shell-xyz: command not found" in r.out
    assert "still-running" in r.out


def test_input_files_event_and_dispatch_inputs(repo) -> None:
    repo.workflow(
        """
        on:
          workflow_dispatch:
            inputs:
              flag: {type: boolean, default: false}
              who: {default: nobody}
        env:
          FROM_WF: wf
        jobs:
          j:
            runs-on: x
            steps:
              - run: |
                  echo "env=$FROM_FILE/$FROM_WF var=${{ vars.COLOR }} secret=${{ secrets.API }}"
                  echo "flag=${{ inputs.flag }} typed=${{ inputs.flag == true }} who=${{ inputs.who }}"
                  echo "event=${{ github.event.inputs.who }} extra=${{ github.event.extra }}"
        """
    )
    repo.file("ci.env", "FROM_FILE=envfile\nFROM_WF=overridden-by-workflow\n")
    repo.file("vars.env", "COLOR=blue\n")
    repo.file("secrets.env", 'API="multi\\nline-secret-value"\n')
    repo.file("event.json", '{"extra": "payload", "inputs": {"who": "from-event"}}')
    r = repo.exec(
        "workflow_dispatch", "--env-file", str(repo.root / "ci.env"), "--var-file", str(repo.root / "vars.env"),
        "--secret-file", str(repo.root / "secrets.env"), "--eventpath", str(repo.root / "event.json"),
        "--input", "flag=true",
    )
    assert r.code == 0, r.out + r.err
    assert "env=envfile/wf var=blue secret=***" in r.out  # workflow env wins over --env-file
    assert "line-secret-value" not in r.out
    assert "flag=true typed=true who=from-event" in r.out
    assert "event=from-event extra=payload" in r.out


def test_failure_reaches_through_skipped_jobs(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          a: {runs-on: x, steps: [{run: exit 1}]}
          b: {needs: a, runs-on: x, steps: [{run: echo b-ran}]}
          c:
            needs: b
            if: failure()
            runs-on: x
            steps: [{run: 'echo "c-ran b=${{ needs.b.result }}"'}]
          d:
            needs: b
            if: success() || failure()
            runs-on: x
            steps: [{run: echo d-ran}]
        """
    )
    r = repo.exec()
    assert r.code == 1
    assert "| b-ran" not in r.out
    assert "c-ran b=skipped" in r.out and "| d-ran" in r.out


def test_bad_static_matrix_is_bad_input_and_dry_run_shows_combinations(repo) -> None:
    repo.workflow(
        """
        on: push
        jobs:
          t:
            runs-on: x
            strategy:
              matrix:
                v: [1, 2]
                exclude: [{nope: 1}]
            steps: [{run: touch ran}]
        """
    )
    r = repo.exec()
    assert r.code == 2 and "ci.yml (Line: 8, Col: 9)" in r.err and "'nope'" in r.err
    assert not (repo.root / "ran").exists()
    repo.workflow(
        """
        on: push
        jobs:
          t:
            runs-on: x
            strategy: {matrix: {v: [1, 2], include: [{v: 3, extra: x}]}}
            steps: [{run: touch ran}]
        """
    )
    r = repo.exec("--dry-run")
    assert r.code == 0 and "matrix (1)" in r.out and "matrix (2)" in r.out and "matrix (3, x)" in r.out


def test_default_variables_cannot_be_overridden(repo) -> None:
    repo.workflow(
        """
        on: push
        env: {GITHUB_REPOSITORY: evil/repo, MY_VAR: mine}
        jobs:
          j:
            runs-on: x
            steps:
              - run: echo "GITHUB_SHA=forged" >> "$GITHUB_ENV"
              - run: echo "repo=$GITHUB_REPOSITORY sha=$GITHUB_SHA mine=$MY_VAR ci=$CI"
                env: {RUNNER_OS: Windows}
              - run: echo "os=$RUNNER_OS ctx=${{ env.GITHUB_REPOSITORY }}"
        """
    )
    r = repo.exec()
    assert r.code == 0, r.out + r.err
    assert "repo=evil/repo" not in r.out and "sha=forged" not in r.out and "mine=mine ci=true" in r.out
    assert "os=Linux" in r.out
    assert "ctx=evil/repo" in r.out  # the env *context* holds what the workflow wrote
