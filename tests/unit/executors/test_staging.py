"""Which job dirs the dropped bwrap can bind by itself (then the init needs no staging)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from github_runner.executors.staging import reachable


def test_reachable_follows_the_mode_bits_of_every_parent() -> None:
    top = Path(tempfile.mkdtemp(prefix="ghr-reach-"))  # 0700, the runner's
    try:
        job = top / "a" / "job"
        job.mkdir(parents=True)
        uid, gid = os.getuid() + 4242, os.getgid() + 4242  # neither owner nor group
        assert not reachable(job, uid, gid)
        os.chmod(top, 0o711)
        os.chmod(top / "a", 0o750)
        assert not reachable(job, uid, gid)  # "other" may not search a/
        assert reachable(job, os.getuid(), gid)  # the owner may
        os.chmod(top / "a", 0o751)
        assert reachable(job, uid, gid)
        assert not reachable(top / "missing" / "job", uid, gid)
    finally:
        shutil.rmtree(top)
