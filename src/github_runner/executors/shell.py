"""The shell executor: job processes straight on the host, as an unprivileged user.

The weakest boundary (docs/executors.md): a job sees the host's files, processes and network.
What it does give: a dedicated uid with no capabilities and no_new_privs (setuid binaries
grant nothing), an explicit filtered environment, its own session/process group per step and,
when the runner is root, its own cgroup tree with the job's limits, which is also how every
process it started (`setsid`, double fork, `nohup`) is found and killed at job end.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from github_runner.executors import cgroups
from github_runner.executors.base import ExecutorError, JobSpec, Limits, Process
from github_runner.executors.cgroups import Cgroup
from github_runner.executors.envfilter import EnvFilter
from github_runner.executors.limits import is_set, merge, parse_limits
from github_runner.executors.localproc import LocalProcess
from github_runner.executors.runchecks import check_step
from github_runner.executors.users import JobUser, resolve_user

MARK_VAR = "GHR_EXEC_MARK"


def chown_tree(top: Path, uid: int, gid: int) -> None:
    """Give the job user its per-job directories (the engine creates them as the runner)."""
    if not top.exists():
        return
    os.chown(top, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(top):
        for n in (*dirnames, *filenames):
            path = os.path.join(dirpath, n)
            st = os.lstat(path)
            if st.st_uid != uid or st.st_gid != gid:
                os.chown(path, uid, gid, follow_symlinks=False)


def give_job_dirs(spec: JobSpec, user: JobUser) -> None:
    """chown the job's directories (work dir, and workspace/temp/tool cache where they live
    outside it) to the job user, when it is not the runner's own."""
    if not user.switch:
        return
    dirs = {spec.work_dir, spec.workspace, spec.temp, spec.tool_cache}
    for d in dirs:
        if not any(d != o and d.is_relative_to(o) for o in dirs):
            chown_tree(d, user.uid, user.gid)


def marked_pids(mark: str, uid: int) -> set[int]:
    """Processes of `uid` that carry our marker: the fallback survivor search without cgroups."""
    needle = f"{MARK_VAR}={mark}".encode()
    found: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.add(int(entry.name))
        except OSError:
            continue
    found.discard(os.getpid())
    return found


class ShellSandbox:
    name = "shell"

    def __init__(
        self,
        spec: JobSpec,
        user: JobUser,
        envfilter: EnvFilter,
        cgroup: Cgroup | None,
        no_new_privs: bool,
    ) -> None:
        self.spec = spec
        self.user = user
        self.envfilter = envfilter
        self.cgroup = cgroup
        self.no_new_privs = no_new_privs
        self.mark = os.urandom(8).hex()  # what secrets.token_hex does, without importing hmac
        self.procs: list[LocalProcess] = []
        self._steps = 0
        self._closed = False

    def to_job_path(self, host_path: Path) -> str:
        return str(host_path)

    def job_env(self, env: Mapping[str, str]) -> dict[str, str]:
        out = self.user.identity_env(self.envfilter.apply(env))
        out[MARK_VAR] = self.mark
        # The host's /tmp outlives the job and is shared with the next one (a GitHub-hosted
        # VM's is not): `mktemp` and friends write under RUNNER_TEMP, emptied with the job,
        # unless the workflow chose a TMPDIR itself. The other executors have a private /tmp.
        out.setdefault("TMPDIR", str(self.spec.temp))
        return out

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        stdin: bytes | None = None,
        container: str | None = None,
    ) -> Process:
        check_step("shell", argv, container, not self._closed)
        if self.user.switch:  # the engine writes this step's script and file-command files as itself
            chown_tree(self.spec.temp, self.user.uid, self.user.gid)
        self._steps += 1
        step_cg = self.cgroup.child(f"s{self._steps}") if self.cgroup is not None else None
        full = [*self.user.setpriv_prefix(self.no_new_privs), *argv]
        try:
            proc = await LocalProcess.start(
                full, env=self.job_env(env), cwd=cwd, stdin=stdin, cgroup=step_cg
            )
        except OSError as e:
            raise ExecutorError(f"shell executor: cannot start {argv[0]!r}: {e}") from e
        self.procs.append(proc)
        return proc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for p in self.procs:
            await p.signal(signal.SIGKILL)
        if self.cgroup is not None:
            await self.cgroup.remove()
        else:
            for _ in range(20):  # new forks may appear while we kill: repeat until none is left
                left = marked_pids(self.mark, self.user.uid)
                if not left:
                    break
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        for p in self.procs:
            await p.wait()
            p.close()

    async def __aenter__(self) -> "ShellSandbox":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ShellExecutor:
    """Settings: `user` (None: the invoking user), `allow_root`, `env_denylist` globs, `limits`
    (memory/cpus/pids, enforced through cgroups, so only when the runner is root), and
    `no_new_privs` (on by default; off lets setuid tools like sudo work, and lets them escalate)."""

    name = "shell"

    def __init__(
        self,
        user: str | int | None = None,
        allow_root: bool = False,
        env_denylist: Iterable[str] = (),
        limits: Limits | Mapping[str, Any] | None = None,
        no_new_privs: bool = True,
    ) -> None:
        self.user_setting = user
        self.allow_root = allow_root
        self.user = resolve_user(user, allow_root)
        self.envfilter = EnvFilter(env_denylist)
        self.limits = parse_limits(limits)
        self.no_new_privs = no_new_privs

    def check(self) -> list[str]:
        missing: list[str] = []
        if not Path("/usr/bin/setpriv").exists():
            missing.append("setpriv not found: install util-linux")
        why = cgroups.available()
        if why:
            missing.append(f"no job cgroup ({why}): no limits, survivors found by environment marker only")
        return missing

    async def prepare(self, spec: JobSpec) -> ShellSandbox:
        if spec.container is not None or spec.services:
            raise ExecutorError(
                "job uses `container:`/`services:`, which the shell executor cannot run: "
                "use executor docker or gvisor"
            )
        limits = merge(self.limits, spec.limits)
        cg: Cgroup | None = None
        why = cgroups.available()
        if why is None:
            cg = cgroups.job_cgroup(spec.job_id, limits)
        elif is_set(limits):
            raise ExecutorError(f"shell executor: limits {limits} are set but cannot be enforced: {why}")
        give_job_dirs(spec, self.user)
        return ShellSandbox(spec, self.user, self.envfilter, cg, self.no_new_privs)
