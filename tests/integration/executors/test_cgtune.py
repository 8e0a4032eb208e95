"""Fast cgroup task migration (favordynmods) is on once an executor has started as root, and
the setting off makes no remount at all. Each check runs in a fresh interpreter, because the
tuning runs once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from github_runner.executors import cgtune
from tests.conftest import require

PROBE = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from github_runner.executors import cgtune
from github_runner.executors.settings import ExecutorSettings
s = ExecutorSettings.model_validate({"name": "shell", "allow_root": True,
                                     "tune_cgroup_migrations": sys.argv[1] == "on"})
s.build(); s.build()  # a second executor must not tune (or log) again
from msgspec.json import encode
print(encode(cgtune.ensure(s.tune_cgroup_migrations)).decode())
"""


def _start_executor(setting: str) -> tuple[dict[str, object], list[str]]:
    p = subprocess.run([sys.executable, "-c", PROBE, setting], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    logs = [line for line in p.stderr.splitlines() if line.startswith("github_runner.executors.cgtune ")]
    return json.loads(p.stdout), logs


def _root_with_cgroup2() -> None:
    require(os.geteuid() == 0, "root")
    require(cgtune.kernel_supports(), "kernel >= 6.1")
    require(any(m.fstype == "cgroup2" for m in cgtune.cgroup_mounts()), "a cgroup2 mount")


def test_executor_start_turns_fast_migration_on() -> None:
    _root_with_cgroup2()
    result, logs = _start_executor("on")
    assert result["on"] is True, result
    assert any(m.favors_dynmods for m in cgtune.cgroup_mounts())
    assert len(logs) == 1 and "favordynmods" in logs[0], logs  # logged once for two executors


def test_setting_off_makes_no_remount() -> None:
    before = cgtune.cgroup_mounts()
    result, logs = _start_executor("off")
    assert result["attempted"] is False
    assert len(logs) == 1 and "off by setting" in logs[0], logs
    assert cgtune.cgroup_mounts() == before


def test_remount_keeps_every_other_option() -> None:
    """The real remount syscall, made even though the option may already be on (a no-op then)."""
    _root_with_cgroup2()
    before = cgtune.cgroup_mounts()
    result = cgtune.ensure(True, force=True)
    assert result.attempted and result.on, result
    after = cgtune.cgroup_mounts()
    v2 = next(m for m in before if m.fstype == "cgroup2")

    def key(m: cgtune.CgroupMount, add: bool = False) -> tuple[object, ...]:
        return m.target, m.fstype, m.mount_opts, set(m.super_opts) | ({"favordynmods"} if add else set())

    assert [key(m) for m in after] == [key(m, m == v2) for m in before]


def test_enabled_executor_after_a_disabled_one_still_tunes() -> None:
    code = ("import json; from github_runner.executors import cgtune; cgtune.ensure(False); "
            "from msgspec.json import encode; print(encode(cgtune.ensure(True)).decode())")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "off by setting" not in json.loads(p.stdout)["detail"]
