"""Showing the job's directories to a bwrap that runs as the job user, wherever they live.

bwrap resolves bind sources with the job user's rights (it even realpath()s `--bind-fd`), and
the runner's work dirs may sit below directories that user cannot enter (`/root/...`, a 0700
temp dir). So the sandbox's init is started in its own mount (and network) namespace, made in
the child between fork and exec: there each job dir is bind-mounted onto an empty directory in
`/run/ghr-stage/<job>@<runner pid>/N` (0755 all the way), and bwrap binds from those. The
mounts exist only in that namespace; the host keeps empty directories, removed at job end (or
by the orphan sweep).
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
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
_libc = ctypes.CDLL(None, use_errno=True)


def stage_dir(name: str) -> Path:
    return STAGE_ROOT / name


def make_stage(name: str, count: int) -> list[Path]:
    top = stage_dir(name)
    STAGE_ROOT.mkdir(mode=0o755, exist_ok=True)
    top.mkdir(mode=0o755, exist_ok=True)
    out = []
    for i in range(count):
        d = top / str(i)
        d.mkdir(mode=0o755, exist_ok=True)
        out.append(d)
    return out


def remove_stage(name: str) -> None:
    """The stage holds only empty directories (the binds exist in the init's namespace only)."""
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
    """The child-side setup: new mount (+ net, with `lo` up) namespace, private propagation, the
    binds. `lo` is brought up here rather than from a thread joining the netns later: one
    ioctl in a process that is already there."""
    unshare, mount = _libc.unshare, _libc.mount
    flags = CLONE_NEWNS | (CLONE_NEWNET if new_net else 0)
    pairs = [(bytes(s), bytes(t)) for s, t in zip(sources, targets)]

    def setup() -> None:
        if unshare(flags) != 0:
            os.write(2, b"ghr: unshare(mount, net) failed\n")
            os._exit(125)
        if new_net and not netns.lo_up_here():
            os.write(2, b"ghr: cannot bring lo up in the job's netns\n")
            os._exit(125)
        if mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            os.write(2, b"ghr: making / private failed\n")
            os._exit(125)
        for src, dst in pairs:
            if mount(src, dst, None, MS_BIND | MS_REC, None) != 0:
                os.write(2, b"ghr: bind mount failed: " + src + b"\n")
                os._exit(125)

    return setup


def orphans(alive: Callable[[str], bool]) -> list[str]:
    if not STAGE_ROOT.is_dir():
        return []
    return [p.name for p in STAGE_ROOT.iterdir() if not alive(p.name)]
