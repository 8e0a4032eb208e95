"""Fast cgroup task migration: the `favordynmods` cgroup mount option.

Every job process is moved into its job cgroup before it execs (cgroups.py). Moving a task takes
the kernel's global `cgroup_threadgroup_rwsem` for writing, and by default that waits for an RCU
grace period: 6-23 ms per move after an idle moment on this kind of VM, i.e. most of a sandbox
job's start-up. With `favordynmods` (kernel >= 6.1) the rwsem stays in its slow-reader mode, so
a move costs ~0.2 ms, at the price of slightly slower fork/exit host-wide. The flag is global to
the kernel (it switches the shared rwsem), so setting it on one hierarchy is enough.

cgroup v1 hierarchies refuse flag changes on remount ("option or name mismatch"), so only a
cgroup2 mount can be remounted with it. A remount replaces *all* superblock options and the
mount's own flags (nosuid, nodev, ...), so the current ones are passed back unchanged.

Tuning is best effort: never fatal, logged once per process, reported by `doctor`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from msgspec import Struct

log = logging.getLogger(__name__)

OPTION = "favordynmods"
MIN_KERNEL = (6, 1)
MOUNTINFO = Path("/proc/self/mountinfo")

# mount(2) flags for the per-mount options a remount must pass back (linux/mount.h)
_MS_REMOUNT = 32
_MOUNT_FLAGS = {"ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048,
                "relatime": 1 << 21, "strictatime": 1 << 24}


class CgroupMount(Struct, frozen=True):
    """One cgroup hierarchy mount from mountinfo."""

    target: str
    fstype: str  # "cgroup" (v1) or "cgroup2"
    mount_opts: tuple[str, ...]  # per-mount: rw, nosuid, relatime, ...
    super_opts: tuple[str, ...]  # per-superblock: rw, nsdelegate, favordynmods, v1 controllers ...

    @property
    def favors_dynmods(self) -> bool:
        return OPTION in self.super_opts


class TuneResult(Struct, frozen=True):
    """What `ensure()` found or did. `attempted`: whether a remount syscall was made."""

    on: bool
    attempted: bool
    detail: str


def _unescape(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def cgroup_mounts(mountinfo: Path = MOUNTINFO) -> list[CgroupMount]:
    out: list[CgroupMount] = []
    try:
        text = mountinfo.read_text()
    except OSError:
        return out
    for line in text.splitlines():
        pre, sep, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if not sep or len(fields) < 6 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        out.append(CgroupMount(_unescape(fields[4]), tail[0], tuple(fields[5].split(",")),
                               tuple(tail[2].split(","))))
    return out


def kernel_supports(release: str | None = None) -> bool:
    m = re.match(r"(\d+)\.(\d+)", release or os.uname().release)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= MIN_KERNEL


def status(mounts: list[CgroupMount] | None = None) -> TuneResult:
    """Read-only: is fast migration on, and if not, what the runner would do or why it cannot."""
    mounts = cgroup_mounts() if mounts is None else mounts
    on = [m for m in mounts if m.favors_dynmods]
    if on:
        return TuneResult(True, False, f"{OPTION} is on ({on[0].target}): moving a task into a job cgroup is fast")
    return TuneResult(False, False, _why_off(mounts))


def _why_off(mounts: list[CgroupMount]) -> str:
    slow = f"{OPTION} is off: each move of a job process into its cgroup can wait an RCU grace period (~5-25 ms)"
    if not kernel_supports():
        return f"{slow}; kernel {os.uname().release} is older than 6.1, which added it"
    if not any(m.fstype == "cgroup2" for m in mounts):
        return (f"{slow}; no cgroup2 mount to remount (cgroup v1 hierarchies cannot change flags on "
                f"remount): mount one with `mount -t cgroup2 -o {OPTION} none /sys/fs/cgroup/unified`")
    if os.geteuid() != 0:
        return f"{slow}; only a root runner can remount with it"
    return f"{slow}; a root runner remounts the cgroup2 hierarchy with it at start-up (tune_cgroup_migrations)"


def remount_args(m: CgroupMount) -> tuple[int, str]:
    """(mount flags, data) that remount `m` with its current options plus favordynmods."""
    flags = _MS_REMOUNT
    for o in m.mount_opts:
        flags |= _MOUNT_FLAGS.get(o, 0)
    data = [o for o in m.super_opts if o not in ("rw", "ro")]
    if OPTION not in data:
        data.append(OPTION)
    return flags, ",".join(data)


def remount(m: CgroupMount) -> None:
    """Remount `m` keeping its options, adding favordynmods. Raises OSError."""
    import ctypes

    flags, data = remount_args(m)
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.mount(m.fstype.encode(), m.target.encode(), m.fstype.encode(), ctypes.c_ulong(flags),
                    data.encode())
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount -o remount,{data} {m.target}: {os.strerror(err)}")


_done: TuneResult | None = None
_tried = False  # an enabled call ran (a disabled one does not stop a later enabled executor)


def ensure(enabled: bool = True, *, force: bool = False) -> TuneResult:
    """Turn fast migration on if it is off and we may (root, kernel >= 6.1, a cgroup2 mount).
    Runs (and logs) once per process, or once more when an enabled call follows disabled ones
    (`force`: run again, and remount even when it is already on)."""
    global _done, _tried
    if _done is not None and not force and (_tried or not enabled):
        return _done
    mounts = cgroup_mounts()
    current = status(mounts)
    v2 = [m for m in mounts if m.fstype == "cgroup2"]
    if not enabled:
        result = TuneResult(current.on, False, f"cgroup migration tuning is off by setting "
                                               f"(tune_cgroup_migrations = false); {current.detail}")
    elif current.on and not force:
        result = current
    elif os.geteuid() != 0 or not kernel_supports() or not v2:
        result = current
    else:
        try:
            remount(v2[0])
        except OSError as e:
            result = TuneResult(False, True, f"could not turn on {OPTION} ({e}); carrying on, job start-up "
                                             f"pays an RCU grace period per cgroup move")
        else:
            now = status()
            result = TuneResult(now.on, True, f"remounted {v2[0].target} with {OPTION}: fast cgroup task "
                                              f"migration for every job (host-wide; fork/exit slightly slower)"
                                if now.on else f"remounted {v2[0].target} but {OPTION} is not shown")
    (log.info if result.on or not enabled else log.warning)("%s", result.detail)
    _done = result
    _tried = _tried or enabled
    return result
