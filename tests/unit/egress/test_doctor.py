"""`egress doctor` without a live probe: the static checks name what is missing and the fix."""

from __future__ import annotations

from github_runner.egress.doctor import EXECUTOR_NOTES, checks


def test_static_checks_have_fixes() -> None:
    results = checks(live=False)
    assert [c.name for c in results] == ["root", "ip", "nsenter", "libnftables"]
    assert all(c.fix for c in results)
    assert set(EXECUTOR_NOTES) == {"sandbox", "docker", "gvisor", "shell"}
