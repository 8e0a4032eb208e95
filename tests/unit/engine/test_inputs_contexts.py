"""exec's inputs (flags, dotenv files, workflow inputs), contexts from a checkout, templates."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from github_runner.engine import localinputs, templates
from github_runner.engine.contexts import git_info, local_github_context, runner_env
from github_runner.engine.expressions import EvalContext


def test_dotenv_quotes_multiline_comments(tmp_path: Path) -> None:
    f = tmp_path / ".secrets"
    f.write_text(
        'A=plain # comment\nexport B="x\\ny"\nC=\'lit\\n\'\nD="multi\nline"\n# skip\n\nE={"k": 1}\n'
    )
    assert localinputs.parse_dotenv(f, "--secret-file") == {
        "A": "plain", "B": "x\ny", "C": "lit\\n", "D": "multi\nline", "E": '{"k": 1}',
    }
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nthis line is wrong\n")
    with pytest.raises(localinputs.InputError, match=r"bad.env:2"):
        localinputs.parse_dotenv(bad, "--env-file")


def test_pairs_and_workflow_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_ENV", "v")
    assert localinputs.parse_pairs(["A=1=2", "FROM_ENV"], "-s", from_env=True) == {"A": "1=2", "FROM_ENV": "v"}
    with pytest.raises(localinputs.InputError, match="--input"):
        localinputs.parse_pairs(["novalue"], "--input")
    declared = {"flag": {"type": "boolean", "default": False}, "n": {"type": "number"}, "s": {"default": "d"}}
    typed, event = localinputs.workflow_inputs(declared, {"flag": "true", "n": "3"}, {})
    assert typed == {"flag": True, "n": 3.0, "s": "d"} and event == {"flag": "true", "n": "3", "s": "d"}
    with pytest.raises(localinputs.InputError, match="boolean"):
        localinputs.workflow_inputs(declared, {"flag": "maybe"}, {})


def test_git_info_and_github_context(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:octo/hello.git"], check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "m"], check=True)
    sha = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert git_info(tmp_path) == {"ref": "refs/heads/trunk", "sha": sha, "repository": "octo/hello"}
    gh = local_github_context(repo=tmp_path, event_name="push", event={}, workflow_name="w", workflow_file=".github/workflows/w.yml")
    assert gh["repository_owner"] == "octo" and gh["ref_name"] == "trunk" and gh["sha"] == sha
    assert gh["workflow_ref"] == "octo/hello/.github/workflows/w.yml@refs/heads/trunk"
    env = runner_env(gh, {"os": "Linux", "temp": "/t"})
    assert env["GITHUB_REPOSITORY"] == "octo/hello" and env["RUNNER_TEMP"] == "/t" and env["CI"] == "true"


def test_templates_insert_splice_and_errors() -> None:
    ctx = EvalContext(contexts={"matrix": {"x": "1"}})
    value = {"a": "${{ matrix.x }}", "${{ insert }}": "${{ fromJSON('{\"b\": 2}') }}",
             "l": ["0", "${{ fromJSON('[1, 2]') }}"]}
    assert templates.evaluate(value, ctx, "v") == {"a": "1", "b": 2, "l": ["0", 1, 2]}
    with pytest.raises(templates.TemplateError, match=r"^env\.X: "):
        templates.evaluate_mapping({"X": "${{ fromJSON('not json') }}"}, ctx, "env")
    assert templates.evaluate_bool("${{ 'true' }}", ctx, "c") is True
