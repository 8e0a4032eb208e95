"""Parsing mountinfo and building the remount that keeps every option (cgtune.py)."""

from __future__ import annotations

from pathlib import Path

from github_runner.executors import cgtune

SYSTEMD_HYBRID = """\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
29 28 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
31 28 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
40 28 0:30 / /sys/fs/cgroup/with\\040space rw,relatime - cgroup cgroup rw,name=x
"""


def test_mounts_and_remount_args_keep_every_option(tmp_path: Path) -> None:
    mi = tmp_path / "mountinfo"
    mi.write_text(SYSTEMD_HYBRID)
    mounts = cgtune.cgroup_mounts(mi)
    assert [(m.target, m.fstype) for m in mounts] == [
        ("/sys/fs/cgroup/unified", "cgroup2"), ("/sys/fs/cgroup/pids", "cgroup"),
        ("/sys/fs/cgroup/with space", "cgroup")]
    assert not cgtune.status(mounts).on
    flags, data = cgtune.remount_args(mounts[0])
    assert data == "nsdelegate,memory_recursiveprot,favordynmods"
    assert flags == 32 | 2 | 4 | 8 | (1 << 21)  # MS_REMOUNT|NOSUID|NODEV|NOEXEC|RELATIME, not RDONLY
    on = [cgtune.CgroupMount("/u", "cgroup2", ("rw",), ("rw", "favordynmods"))]
    assert cgtune.status(on).on and cgtune.remount_args(on[0])[1] == "favordynmods"


def test_why_off_names_the_way_to_turn_it_on(tmp_path: Path) -> None:
    v1_only = [cgtune.CgroupMount("/sys/fs/cgroup/pids", "cgroup", ("rw",), ("rw", "pids"))]
    st = cgtune.status(v1_only)
    assert not st.on and "no cgroup2 mount" in st.detail and "-o favordynmods" in st.detail
    assert cgtune.kernel_supports("6.1.0-13-amd64") and cgtune.kernel_supports("6.18.44")
    assert not cgtune.kernel_supports("5.15.0") and not cgtune.kernel_supports("garbage")
    assert cgtune.cgroup_mounts(tmp_path / "missing") == []
