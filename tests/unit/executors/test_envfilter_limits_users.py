"""Pure logic of the executor settings: denylist, limit parsing, user resolution."""

from __future__ import annotations

import os

import pytest

from github_runner.executors.base import ExecutorError, Limits
from github_runner.executors.envfilter import EnvFilter
from github_runner.executors.limits import merge, parse_limits, parse_memory
from github_runner.executors.users import resolve_user


def test_runner_credentials_removed_whatever_their_value() -> None:
    f = EnvFilter(host_env={})
    out = f.apply({"RUNNER_TOKEN": "a", "GITHUB_RUNNER_CONFIG": "b", "PATH": "/bin", "CI": "true"})
    assert out == {"PATH": "/bin", "CI": "true"}


def test_job_credentials_kept_only_when_not_inherited_from_runner() -> None:
    f = EnvFilter(host_env={"ACTIONS_RUNTIME_TOKEN": "other-job", "GITHUB_TOKEN": "operator"})
    out = f.apply(
        {"ACTIONS_RUNTIME_TOKEN": "other-job", "ACTIONS_RUNTIME_URL": "u", "GITHUB_TOKEN": "mine"}
    )
    assert out == {"ACTIONS_RUNTIME_URL": "u", "GITHUB_TOKEN": "mine"}


def test_configured_patterns_are_case_sensitive_globs() -> None:
    f = EnvFilter(["AWS_*", "*_SECRET"], host_env={})
    out = f.apply({"AWS_KEY": "1", "aws_key": "2", "DB_SECRET": "3", "SECRETS": "4"})
    assert out == {"aws_key": "2", "SECRETS": "4"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [({"memory": "512m"}, Limits(memory_bytes=512 << 20)), ({"memory": "1.5g", "cpus": "0.5", "pids": 64},
     Limits(memory_bytes=int(1.5 * (1 << 30)), cpus=0.5, pids=64)), (None, Limits())],
)
def test_parse_limits(raw: object, expected: Limits) -> None:
    assert parse_limits(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "names"),
    [({"memory": "lots"}, "limits.memory"), ({"memory": "1k"}, "limits.memory"),
     ({"cpus": "x"}, "limits.cpus"), ({"cpus": 0}, "limits.cpus"), ({"pids": 2}, "limits.pids"),
     ({"pids": "1.5"}, "limits.pids"), ({"memroy": "1g"}, "memroy")],
)
def test_bad_limits_name_the_setting(raw: dict[str, object], names: str) -> None:
    with pytest.raises(ExecutorError, match=names.replace(".", r"\.")):
        parse_limits(raw)


def test_merge_job_wins_per_field() -> None:
    assert merge(Limits(memory_bytes=1, pids=10), Limits(pids=20)) == Limits(memory_bytes=1, pids=20)
    assert parse_memory(64 << 20) == 64 << 20


def test_unknown_user_is_a_clear_error() -> None:
    with pytest.raises(ExecutorError, match="no such user 'nobody-here-xyz'"):
        resolve_user("nobody-here-xyz", allow_root=False)


def test_root_refused_unless_allowed() -> None:
    if os.geteuid() == 0:
        with pytest.raises(ExecutorError, match="allow_root"):
            resolve_user(None, allow_root=False)
        assert resolve_user(None, allow_root=True).setpriv_prefix() == []
    with pytest.raises(ExecutorError, match="allow_root"):
        resolve_user("root", allow_root=False)


def test_dropping_to_another_user_clears_caps_and_sets_nnp() -> None:
    if os.geteuid() != 0:
        pytest.skip("switching users needs root")
    u = resolve_user("nobody", allow_root=False)
    prefix = u.setpriv_prefix()
    assert u.switch and "--bounding-set=-all" in prefix and "--no-new-privs" in prefix
    assert f"--reuid={u.uid}" in prefix and prefix[-1] == "--"
