"""Showing the job's directories to a bwrap that runs as the job user, wherever they live.

bwrap resolves bind sources with the job user's rights (it even realpath()s `--bind-fd`), and
the runner's work dirs may sit below directories that user cannot enter (`/root/...`, a 0700
temp dir). So the sandbox's init is started in its own mount (and network) namespace, made in
the child between fork and exec: there a fresh tmpfs is mounted on `/run/ghr-stage`, each job
dir is bind-mounted onto an empty directory `<job>@<runner pid>/N` in it (0755 all the way), and
bwrap binds from those. All of it exists only in that namespace and goes with it: the host
keeps one empty `/run/ghr-stage` and nothing per job. (Per-job directories on the host cost
3-4 ms per job to remove: an rmdir of a directory that is a mount point in another, dying
namespace waits for that namespace's unmounts.)
"""

from __future__ import annotations

import ctypes
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from github_runner.executors import netns

STAGE_ROOT = Path(os.environ.get("GHR_STAGE_ROOT", "/run/ghr-stage"))
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
_libc = ctypes.CDLL(None, use_errno=True)


def stage_dir(name: str) -> Path:
    return STAGE_ROOT / name


def make_stage(name: str, count: int) -> list[Path]:
    """Where the job dirs will appear inside the init's namespace (made there by `in_child`)."""
    STAGE_ROOT.mkdir(mode=0o755, exist_ok=True)
    return [stage_dir(name) / str(i) for i in range(count)]


def remove_stage(name: str) -> None:
    """Leftovers of older runners, which made the stage on the host (only empty directories)."""
    top = stage_dir(name)
    try:
        for d in os.scandir(top):
            os.rmdir(d.path)
        top.rmdir()
    except FileNotFoundError:
        pass
    except OSError:  # not what we made: leave nothing behind anyway
        shutil.rmtree(top, ignore_errors=True)


def in_child(sources: Sequence[Path], targets: Sequence[Path], new_net: bool) -> Callable[[], None]:
    """The child-side setup: new net namespace with `lo` up (one ioctl in a process that is
    already there), and with `sources` a mount namespace, private propagation and the binds."""
    unshare, mount = _libc.unshare, _libc.mount
    pairs = [(bytes(s), bytes(t)) for s, t in zip(sources, targets)]
    flags = (CLONE_NEWNS if pairs else 0) | (CLONE_NEWNET if new_net else 0)
    root = bytes(STAGE_ROOT)

    def setup() -> None:
        if unshare(flags) != 0:
            os.write(2, b"ghr: unshare(mount, net) failed\n")
            os._exit(125)
        if new_net and not netns.lo_up_here():
            os.write(2, b"ghr: cannot bring lo up in the job's netns\n")
            os._exit(125)
        if pairs and mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            os.write(2, b"ghr: making / private failed\n")
            os._exit(125)
        if pairs and mount(b"tmpfs", root, b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"mode=0755") != 0:
            os.write(2, b"ghr: tmpfs for the staged job dirs failed\n")
            os._exit(125)
        for src, dst in pairs:
            try:
                os.makedirs(dst, mode=0o755, exist_ok=True)
            except OSError:
                os.write(2, b"ghr: cannot make staging dir " + dst + b"\n")
                os._exit(125)
            if mount(src, dst, None, MS_BIND | MS_REC, None) != 0:
                os.write(2, b"ghr: bind mount failed: " + src + b"\n")
                os._exit(125)

    return setup


def reachable(path: Path, uid: int, gid: int) -> bool:
    """Whether `uid`/`gid` (no supplementary groups) can look up `path` itself, judged from the
    mode bits of every directory above it; any ACL on the way counts as no (staging is safe)."""
    for d in reversed(path.parents):
        try:
            st = os.stat(d)
            if any(a.startswith("system.posix_acl") for a in os.listxattr(d)):
                return False
        except OSError:
            return False
        bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bit:
            return False
    return True


def orphans(alive: Callable[[str], bool]) -> list[str]:
    if not STAGE_ROOT.is_dir():
        return []
    return [p.name for p in STAGE_ROOT.iterdir() if not alive(p.name)]
