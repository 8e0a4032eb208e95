"""`github-runner run` validates the config, then execs into a listener without pydantic/click.

The exec is what keeps an idle listener small (docs/protocol.md, "Idle memory"); these tests
pin what it must not change: same pid, same one-line errors, a clean stop.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.protocol.conftest import Runner, stop

IDLE_RSS_LIMIT_MB = 48.0  # bench/listener.py measures ~41-42 MB; pydantic alone would add ~17


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.parametrize("mode", ["v2"])  # flow-independent
def test_idle_listener_holds_no_validation_libraries(runner: Runner) -> None:
    runner.register()
    proc = runner.start()
    try:
        runner.fake.wait(lambda: len(runner.fake.live_sessions()) == 1, 30, "a session")
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"github_runner.listener" in cmdline, cmdline  # same pid, new image
        time.sleep(2.5)  # settled: start-up heap returned (listener/memory.py)
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "_pydantic_core" not in maps
        rss = _rss_mb(proc.pid)
        assert rss < IDLE_RSS_LIMIT_MB, f"idle listener RSS {rss:.1f} MB"
    finally:
        assert stop(proc) == 0, runner.output()
    assert "session deleted" in runner.output()
    assert runner.fake.live_sessions() == []


@pytest.mark.parametrize("mode", ["v2"])
def test_unreadable_state_after_the_exec_is_one_line(runner: Runner) -> None:
    runner.register()
    creds = next((runner.state / "runners").iterdir()) / ".credentials"
    creds.write_text("{not json")
    p = runner.cli("run", check=False)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "unreadable runner state" in lines[0], p.stderr
