"""The click-free `exec` parser returns what click would, or steps aside.

`cli/exec_fast.py` spares a cold run importing click; it must never change what a command line
means. Its table is checked against the click command, and its results against click's own
parsing of the same argument lists (real files for the path checks).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from github_runner.cli.exec_cmd import exec_cmd
from github_runner.cli.exec_fast import SPEC, parse, spec_of


def _click_params(args: list[str]) -> dict | None:
    """What click passes to the command, or None when it refuses the command line."""
    try:
        ctx = exec_cmd.make_context("exec", list(args))
    except (click.ClickException, click.exceptions.Exit):
        return None
    return dict(ctx.params)


def test_the_table_is_the_click_command() -> None:
    assert spec_of(exec_cmd) == SPEC


PLAIN = [
    [],
    ["push"],
    ["-C", "."],
    ["-C."],
    ["--directory=.", "workflow_dispatch"],
    ["-W", "a.yml", "-W", "b", "--workflows", "c.yml", "--workflows=d.yml"],
    ["-j", "build", "--job", "test", "-jlint"],
    ["--list"],
    ["--dry-run", "--debug", "pull_request"],
    ["-s", "A=1", "--secret", "B=2", "-sC=3", "--secret=D="],
    ["--var", "X=1", "--input", "k=v", "--matrix", "os:linux", "--matrix=py:3"],
    ["--concurrency", "2"],
    ["--concurrency=16", "--executor", "sandbox"],
    ["--executor=docker", "--egress", "block", "--allow", "example.com", "--allow=*.x.org"],
    ["--egress-upstream", "127.0.0.1:53", "--vault-addr", "http://127.0.0.1:1"],
    ["--secret-from-env", "A", "--vault-secret", "N=kv/p#k"],
    ["--eventpath", "ev.json", "--secret-file", "s.env"],
    ["-eev.json", "--secret-file=missing.env"],
    ["--var-file", "v.env", "--env-file", "e.env", "--json", "out.jsonl"],
    ["push", "-C", ".", "--list"],
    ["-s", ""],
]

ODD = [
    ["--help"],
    ["-h"],
    ["--lis"],
    ["--unknown"],
    ["-x"],
    ["--", "push"],
    ["push", "pull_request"],
    ["--concurrency", "0"],
    ["--concurrency", "+3"],
    ["--concurrency", " 3"],
    ["--concurrency", "x"],
    ["--executor", "vm"],
    ["--executor", "SHELL"],
    ["--egress", "loud"],
    ["--list=yes"],
    ["-C"],
    ["-W"],
    ["-s", "-j"],
    ["--concurrency", "2", "--concurrency", "3"],
    ["--allowlist", "allow.txt"],
    ["--egress-log", "log.jsonl"],
    ["-W", ""],
]


@pytest.mark.parametrize("args", PLAIN, ids=lambda a: " ".join(a) or "(none)")
def test_plain_command_lines_parse_as_click_does(args: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("ev.json", "s.env", "v.env", "e.env"):
        (tmp_path / name).write_text("")
    ours = parse(args)
    assert ours is not None, args
    assert ours == _click_params(args)
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in _click_params(args).items()}


@pytest.mark.parametrize("args", ODD, ids=lambda a: " ".join(a))
def test_anything_else_is_left_to_click(args: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "allow.txt").write_text("example.com\n")
    assert parse(args) is None


def test_an_unreadable_path_is_left_to_click(tmp_path: Path, monkeypatch) -> None:
    if os.geteuid() == 0:
        # root reads everything: os.access says so, and so does click; both accept the path
        locked = tmp_path / "locked.env"
        locked.write_text("")
        locked.chmod(0)
        assert parse(["--env-file", str(locked)]) == _click_params(["--env-file", str(locked)])
        return
    locked = tmp_path / "locked.env"
    locked.write_text("")
    locked.chmod(0)
    assert parse(["--env-file", str(locked)]) is None
    assert _click_params(["--env-file", str(locked)]) is None


def test_shell_completion_is_left_to_click(monkeypatch) -> None:
    monkeypatch.setenv("_GITHUB_RUNNER_COMPLETE", "bash_complete")
    assert parse([]) is None
