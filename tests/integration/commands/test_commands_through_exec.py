"""Workflow and file commands end to end: a real workflow through `github-runner exec`.

Checks what a user sees in the JSONL events: outputs, env and PATH carried to later steps,
groups, annotations, masking, stop-commands, refusals that fail a step, and the shells.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKFLOW = r"""
on: push
jobs:
  cmds:
    runs-on: ubuntu-latest
    steps:
      - id: write
        run: |
          echo "::add-mask::s3cr3t-value"
          echo "x=1" >> "$GITHUB_OUTPUT"
          echo "::set-output name=legacy::2"
          echo "::warning file=${{ github.workspace }}/src/a.py,line=3,endLine=3,col=2,endColumn=4,title=T::careful"
          { echo 'MULTI<<ghadelimiter_7'; echo l1; echo l2; echo ghadelimiter_7; } >> "$GITHUB_ENV"
          echo "NODE_OPTIONS=--require /tmp/evil.js" >> "$GITHUB_ENV"
          echo "/opt/first" >> "$GITHUB_PATH"
          echo "/opt/second" >> "$GITHUB_PATH"
          echo "::group::My group"
          echo inside
          echo "::endgroup::"
          echo "::stop-commands::pausetoken123"
          echo "::warning::not a command while paused"
          echo "::pausetoken123::"
          echo "::notice::processed again"
          echo "# Summary with s3cr3t-value" >> "$GITHUB_STEP_SUMMARY"
      - id: read
        run: |
          echo "x=${{ steps.write.outputs.x }} legacy=${{ steps.write.outputs.legacy }}"
          echo "MULTI=$MULTI" | tr '\n' '|'; echo
          echo "NODE_OPTIONS=${NODE_OPTIONS:-unset}"
          echo "PATH0=$(echo "$PATH" | cut -d: -f1,2)"
          echo "secret: s3cr3t-value"
      - id: setenv
        continue-on-error: true
        run: echo "::set-env name=LEGACY::v"
      - id: setenv-allowed
        env:
          ACTIONS_ALLOW_UNSECURE_COMMANDS: true
        run: echo "::set-env name=LEGACY::v"
      - id: badfile
        continue-on-error: true
        run: printf 'K<<EOF\nno end\n' >> "$GITHUB_OUTPUT"
      - id: shells
        shell: python
        run: |
          import os
          print("python", os.environ["LEGACY"])
      - id: custom
        shell: bash -c "source {0} && echo sourced"
        run: echo "in script"
      - id: matcher
        run: |
          mkdir -p src && echo 'int x;' > src/m.c
          printf '%s\n' '{"problemMatcher":[{"owner":"cc","pattern":[{"regexp":"^(.+):(\\d+): (warning|error): (.*)$","file":1,"line":2,"severity":3,"message":4}]}]}' > cc.json
          echo "::add-matcher::cc.json"
          echo "src/m.c:1: warning: unused x"
          echo "::remove-matcher owner=cc::"
          echo "src/m.c:2: warning: not matched any more"
      - id: sh
        shell: sh
        run: echo "sh $0" | sed 's/[0-9a-f-]*\.sh$/SCRIPT.sh/'
"""


def run_exec(tmp_path: Path) -> tuple[int, list[dict[str, Any]]]:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "cmds.yml").write_text(WORKFLOW)
    events_file = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "github_runner", "exec", "-C", str(repo), "--json", str(events_file)],
        capture_output=True, text=True, timeout=120,
    )
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    return done.returncode, events


def test_commands_end_to_end(tmp_path: Path) -> None:
    code, events = run_exec(tmp_path)

    def of(step: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in events if e.get("step_id") == step and e["type"] == kind]

    def lines(step: str) -> list[str]:
        return [e["text"] for e in of(step, "LogLine")]

    finished = {e["step_id"]: e for e in events if e["type"] == "StepFinished"}
    assert code == 0, [e for e in events if e["type"] == "Annotation"]
    assert finished["write"]["outputs"] == {"x": "1", "legacy": "2"}

    annotations = of("write", "Annotation")
    warning = next(a for a in annotations if a["message"] == "careful")
    assert (warning["file"], warning["line"], warning["col"], warning["end_column"], warning["title"]) == (
        "src/a.py", 3, 2, 4, "T")
    assert any(a["level"] == "error" and "NODE_OPTIONS" in a["message"] for a in annotations)
    assert any(a["level"] == "notice" and a["message"] == "processed again" for a in annotations)
    assert not any(a["message"] == "not a command while paused" for a in annotations)
    write_lines = lines("write")
    assert "::warning::not a command while paused" in write_lines
    assert [e["kind"] for e in of("write", "LogLine") if e["kind"] in ("group", "endgroup")] == ["group", "endgroup"]
    assert "pausetoken123" not in json.dumps(events)  # a stop token longer than 6 is masked
    (summary,) = of("write", "SummaryAppended")
    assert summary["markdown"] == "# Summary with ***\n"

    read = lines("read")
    assert "x=1 legacy=2" in read
    assert "MULTI=l1|l2|" in read
    assert "NODE_OPTIONS=unset" in read
    assert "PATH0=/opt/second:/opt/first" in read
    assert "secret: ***" in read

    assert finished["setenv"]["outcome"] == "failure" and finished["setenv"]["conclusion"] == "success"
    assert any("The `set-env` command is disabled" in a["message"] for a in of("setenv", "Annotation"))
    assert finished["setenv-allowed"]["outcome"] == "success"
    assert finished["badfile"]["outcome"] == "failure"
    assert any("Matching delimiter not found 'EOF'" in a["message"] for a in of("badfile", "Annotation"))
    assert lines("shells") == ["python v"]
    assert lines("custom") == ["in script", "sourced"]
    assert any(line.startswith("sh ") and line.endswith("SCRIPT.sh") for line in lines("sh"))

    (matched,) = of("matcher", "Annotation")
    assert (matched["level"], matched["message"], matched["file"], matched["line"]) == (
        "warning", "unused x", "src/m.c", 1)
    assert "src/m.c:2: warning: not matched any more" in lines("matcher")
