"""Which account job processes run as, and the setpriv prefix that drops to it.

`setpriv` rather than `runuser`/`su` (they keep the caller's environment) or Python's `user=`
(2 ms slower and cannot clear the bounding set or set no_new_privs, which is what stops a setuid
binary from handing privileges back).
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
from collections.abc import Mapping

from msgspec import Struct

from github_runner.executors.base import ExecutorError

DEFAULT_JOB_USER = "ghr-job"  # what root drops to when no `user` is configured (sandbox)


class JobUser(Struct, frozen=True):
    name: str
    uid: int
    gid: int
    home: str
    switch: bool  # True: differs from the runner's own uid, so we drop to it

    def identity_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """HOME/USER/LOGNAME of this user where the engine left them unset or the runner's own
        (the runner's HOME would point jobs at files they must not, or cannot, use)."""
        out = dict(env)
        for var, theirs in (("HOME", self.home), ("USER", self.name), ("LOGNAME", self.name)):
            if var not in out or out[var] == os.environ.get(var):
                out[var] = theirs
        return out

    def setpriv_prefix(self, no_new_privs: bool = True) -> list[str]:
        """argv prefix that execs the rest as this user with no capabilities left."""
        setpriv = _setpriv()
        if self.switch:
            argv = [
                setpriv,
                f"--reuid={self.uid}",
                f"--regid={self.gid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
            ]
        elif self.uid != 0:
            argv = [setpriv]
        else:  # allow_root: root stays root, by explicit choice
            return []
        if no_new_privs:
            argv.append("--no-new-privs")
        return [*argv, "--"]


@functools.cache
def _setpriv() -> str:
    """One PATH scan per process rather than one per step."""
    return shutil.which("setpriv") or "/usr/bin/setpriv"


def resolve_user(user: str | int | None, allow_root: bool) -> JobUser:
    """Validate the `user` setting against this host and the runner's own privileges."""
    euid = os.geteuid()
    try:
        if user is None or user == "":
            entry = pwd.getpwuid(euid)
        elif isinstance(user, int) or str(user).isdigit():
            entry = pwd.getpwuid(int(user))
        else:
            entry = pwd.getpwnam(str(user))
    except KeyError:
        raise ExecutorError(
            f"executor setting `user`: no such user {user!r} on this host; create it "
            f"(useradd --system --create-home {user}) or set `user` to an existing unprivileged "
            "account"
        ) from None
    if entry.pw_uid == 0 and not allow_root:
        raise ExecutorError(
            "refusing to run jobs as root: set the executor's `user` to an unprivileged account "
            "(for example `user = \"ghr-job\"`, created by `useradd --system ghr-job`), "
            "or set `allow_root = true` if you accept that jobs own this machine"
        )
    if entry.pw_uid != euid and euid != 0:
        raise ExecutorError(
            f"executor setting `user = {entry.pw_name!r}`: switching to another user needs the "
            "runner to run as root; unset `user` to run jobs as the invoking user"
        )
    return JobUser(
        name=entry.pw_name,
        uid=entry.pw_uid,
        gid=entry.pw_gid,
        home=entry.pw_dir,
        switch=entry.pw_uid != euid,
    )
