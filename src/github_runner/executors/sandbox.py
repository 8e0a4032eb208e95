"""The sandbox executor: each job in fresh namespaces, no daemon needed (recommended on Linux).

One job = one long-lived bubblewrap "init" (a `sh` blocked reading a pipe that only the runner
holds, behind bwrap's pid-1 reaper: it ends when the runner closes the pipe or dies) that
owns the job's user, pid, mount, ipc, uts and cgroup namespaces; every step is entered into them
with `nsenter`, so background processes, `/tmp` and `$HOME` persist across steps as on GitHub,
and killing the init (or the runner dying: `--die-with-parent`) takes the whole pid namespace down.

Filesystem: only system directories are shown, read-only (`/usr`, `/etc`, `/opt`...), plus tmpfs
`/tmp`, `/run`, `/var`, `/home`, a private `/dev` and `/proc`, and this job's own work dir (the
only writable host path). The runner's state dir and other jobs' work dirs are simply not there.

Network: when the runner is root the netns is made by root *before* dropping privileges (in the
child, with the mount namespace that stages the job's dirs: staging.py), so it
belongs to the initial user namespace and the job (root of nothing) cannot reconfigure it; it has
only `lo` until `JobSpec.network.attach()` links it to the egress gateway. The runner must be
root: an unprivileged caller can neither make a netns the job cannot own nor nsenter into
bwrap's namespaces.

Limits and the kill-everything list come from the job's cgroup v1 tree (root only).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from github_runner.executors import cgroups, staging
from github_runner.executors.base import ExecutorError, JobSpec, Limits, Process
from github_runner.executors.cgroups import Cgroup
from github_runner.executors.envfilter import EnvFilter
from github_runner.executors.limits import is_set, merge, parse_limits
from github_runner.executors.localproc import LocalProcess
from github_runner.executors.privdrop import drop_in_child
from github_runner.executors.runchecks import check_step
from github_runner.executors.shell import chown_tree, give_job_dirs
from github_runner.executors.users import DEFAULT_JOB_USER, JobUser, resolve_user

TOOLS = {
    "bwrap": "bubblewrap",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
    "env": "coreutils",
    "sleep": "coreutils",
}
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt")
TMPFS_DIRS = ("/tmp", "/run", "/var", "/home")
DEFAULT_HIDDEN = ("/etc/github-runner", "/etc/docker", "/etc/sudoers.d", "/opt/github-runner")
STARTUP_TIMEOUT = 10.0
READY = "ghr-sandbox-ready"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"


def missing_tools(names: Iterable[str]) -> list[str]:
    return [f"{n} not found: install {TOOLS[n]}" for n in names if shutil.which(n) is None]


@functools.cache
def root_view() -> tuple[str, ...]:
    """bwrap arguments for the read-only system part of `/` (symlinks kept, e.g. merged /usr).
    Looked up once per process: the host's top-level layout does not change under a runner."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        p = Path("/", name)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    return tuple(args)


class SandboxJob:
    name = "sandbox"

    def __init__(self, spec: JobSpec, user: JobUser, envfilter: EnvFilter, cgroup: Cgroup | None) -> None:
        self.spec = spec
        self.user = user
        self.envfilter = envfilter
        self.cgroup = cgroup
        self.init: LocalProcess | None = None
        self.init_pid: int | None = None  # host pid of the namespace holder, for nsenter
        self.procs: list[LocalProcess] = []
        self._steps = 0
        self.stage_name = f"{spec.job_id}@{os.getpid()}"
        self._binds: list[Path] = []
        self._ro_binds: list[str] = []
        self._attached = False
        self._closed = False
        self._hold: int | None = None  # write end of the init's stdin: closing it ends the job

    def to_job_path(self, host_path: Path) -> str:
        return str(host_path)  # the work dir is bound at its own path

    @property
    def netns_path(self) -> Path:
        return Path(f"/proc/{self.init_pid}/ns/net")

    def bind_paths(self, ro_binds: Iterable[str]) -> tuple[list[Path], list[str]]:
        """(writable job dirs, read-only extra dirs) that exist, outermost only."""
        binds = {self.spec.work_dir, self.spec.workspace, self.spec.temp, self.spec.tool_cache}
        rw = [b for b in sorted(binds, key=lambda p: len(p.parts))
              if b.exists() and not any(b != o and b.is_relative_to(o) for o in binds)]
        return rw, [r for r in ro_binds if os.path.exists(r)]

    def bwrap_argv(
        self, hidden: Iterable[str], ro_binds: Iterable[str], info_fd: int, own_net: bool,
        staged: Mapping[str, str] | None = None,
    ) -> list[str]:
        """`staged`: job path -> where the init's mount namespace shows it (staging.py)."""
        u = self.user
        staged = staged or {}
        argv = [
            "bwrap",
            "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup",
            *(["--unshare-net"] if own_net else []),
            "--disable-userns", "--die-with-parent", "--new-session",
            "--info-fd", str(info_fd),
            "--hostname", "job",
            *root_view(),
            "--dev", "/dev", "--proc", "/proc",
        ]
        for d in TMPFS_DIRS:
            argv += ["--tmpfs", d]
        argv += ["--dir", "/var/tmp", "--chmod", "1777", "/var/tmp", "--dir", u.home]
        for h in hidden:  # blank them: an empty tmpfs over a dir, /dev/null over a file
            if Path(h).is_dir():
                argv += ["--tmpfs", h]
            elif Path(h).exists():
                argv += ["--ro-bind", "/dev/null", h]
        rw, ro = self.bind_paths(ro_binds)
        self._binds, self._ro_binds = rw, ro
        for r in ro:
            argv += ["--ro-bind", staged.get(r, r), r]
        for b in rw:
            argv += ["--bind", staged.get(str(b), str(b)), str(b)]
        # the readiness line: bwrap writes --info-fd before the child has written its id maps and
        # pivoted, so a step entered on the info alone can race ("setgid failed")
        # then it waits on stdin, a pipe only the runner holds (no exec of `sleep`: one process less)
        return [*argv, "--", "sh", "-c", f"echo {READY}; read _"]

    async def start(self, hidden: Iterable[str], ro_binds: Iterable[str]) -> None:
        rw, ro = self.bind_paths(ro_binds)
        root = os.geteuid() == 0
        r, w = os.pipe()
        hold_r, self._hold = os.pipe()
        if root:  # own mount+net namespaces made in the child; job dirs staged where bwrap can reach
            sources = [Path(p) for p in [*map(str, rw), *ro]]
            if all(staging.reachable(p, self.user.uid, self.user.gid) for p in sources):
                sources = []  # bwrap can bind them itself: no mount namespace needed
            targets = staging.make_stage(self.stage_name, len(sources))
            staged = {str(src): str(dst) for src, dst in zip(sources, targets)}
            stage = staging.in_child(sources, targets, new_net=True)  # also brings lo up
            drop = drop_in_child(self.user.uid, self.user.gid) if self.user.switch else None

            def init_setup() -> None:  # in the child: namespaces and binds as root, then the drop
                stage()
                if drop is not None:
                    drop()

            setup: Callable[[], None] | None = init_setup
            argv = self.bwrap_argv(hidden, ro_binds, w, False, staged)
        else:
            setup = None
            argv = self.bwrap_argv(hidden, ro_binds, w, own_net=True)
        try:
            self.init = await LocalProcess.start(
                argv, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd="/", cgroup=self.cgroup,
                pass_fds=(w,), in_child=setup, stdin_fd=hold_r,
            )
        finally:
            os.close(w)
            os.close(hold_r)
        try:  # bwrap writes --info-fd (and closes it) before its child sets up: by READY it is all there
            first = await asyncio.wait_for(self._first_line(), STARTUP_TIMEOUT)
            info = _read_ready(r) if first.strip() == READY.encode() else b""
        except TimeoutError:
            raise ExecutorError(f"sandbox executor: the job's bubblewrap was not ready within "
                                f"{STARTUP_TIMEOUT:g} s") from None
        finally:
            os.close(r)
        if not info:
            rc = await asyncio.wait_for(self.init.wait(), STARTUP_TIMEOUT)
            out = first.decode(errors="replace").strip()
            raise ExecutorError(f"sandbox executor: bubblewrap failed to start the job (rc {rc}): {out}")
        self.init_pid = int(json.loads(info)["child-pid"])
        if self.spec.network is not None:
            await self.spec.network.attach(self.netns_path)
            self._attached = True

    async def _first_line(self) -> bytes:
        assert self.init is not None
        first = b""
        async for chunk in self.init.output():
            first += chunk
            if b"\n" in first:
                break
        return first

    def visible(self, path: str) -> bool:
        """Whether a host path exists at the same place inside the sandbox."""
        shown = [f"/{d}" for d in SYSTEM_DIRS] + [str(p) for p in self._binds] + self._ro_binds
        return any(path == s or path.startswith(s.rstrip("/") + "/") for s in shown)

    def job_env(self, env: Mapping[str, str]) -> dict[str, str]:
        return self.user.identity_env(self.envfilter.apply(env))

    def resolve(self, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
        """An absolute program path the job cannot see (resolved on the host, e.g. a venv's
        python3) is looked up again by name on the job's PATH."""
        prog = argv[0]
        if not prog.startswith("/") or self.visible(prog):
            return list(argv)
        for d in env.get("PATH", "").split(":"):
            cand = os.path.join(d, os.path.basename(prog))
            if d and self.visible(d) and os.access(cand, os.X_OK):
                return [cand, *argv[1:]]
        return list(argv)

    def step_argv(self, argv: Sequence[str], cwd: str) -> list[str]:
        """Root's supplementary groups are dropped and no_new_privs set by setpriv (inherited
        through nsenter): nsenter's own setgroups() is refused in bwrap's user namespace."""
        u = self.user
        return [
            SETPRIV, "--clear-groups", "--no-new-privs", "--",
            "nsenter", "-t", str(self.init_pid), "-U", "-p", "-m", "-i", "-u", "-C", "-n",
            "-S", str(u.uid), "-G", str(u.gid), "-r", "-w", "--",
            "/usr/bin/env", "-C", cwd, "--", *argv,  # not nsenter --wd=: it opens the *host's* path
        ]

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        stdin: bytes | None = None,
        container: str | None = None,
    ) -> Process:
        running = not self._closed and self.init is not None and self.init.returncode is None
        check_step("sandbox", argv, container, running)
        if self.user.switch:  # the engine writes this step's script and file-command files as itself
            chown_tree(self.spec.temp, self.user.uid, self.user.gid)
        self._steps += 1
        step_cg = self.cgroup.child(f"s{self._steps}") if self.cgroup is not None else None
        job_env = self.job_env(env)
        proc = await LocalProcess.start(
            self.step_argv(self.resolve(argv, job_env), cwd), env=job_env, cwd="/", stdin=stdin, cgroup=step_cg,
        )
        self.procs.append(proc)
        return proc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.cgroup is not None:  # everything at once: bwrap, the pid namespace, nsenter'd steps
                await self.cgroup.kill_all()
            if self._hold is not None:
                os.close(self._hold)
                self._hold = None
            if self.init is not None:  # pid 1 of the job's pid namespace: the kernel kills the rest
                await self.init.signal(signal.SIGKILL)
                await self.init.wait()
                self.init.close()
        finally:
            try:
                if self._attached and self.spec.network is not None:
                    await self.spec.network.detach()
            finally:
                if self.cgroup is not None:
                    await self.cgroup.remove()
                staging.remove_stage(self.stage_name)
                for p in self.procs:
                    p.close()

    async def __aenter__(self) -> "SandboxJob":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _read_ready(fd: int) -> bytes:
    """What is already in the pipe, without blocking (b"" if it is not complete JSON)."""
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    data = b"".join(chunks)
    try:
        json.loads(data)
    except ValueError:
        return b""
    return data


class SandboxExecutor:
    """Settings: `user` (root default: ghr-job), `env_denylist`, `limits`, `hidden_paths`
    (host paths blanked even inside the shown system dirs), `state_dir` (the runner's, also
    blanked), `ro_binds` (extra host paths shown read-only, e.g. a shared tool cache)."""

    name = "sandbox"

    def __init__(
        self,
        user: str | int | None = None,
        allow_root: bool = False,
        env_denylist: Iterable[str] = (),
        limits: Limits | Mapping[str, Any] | None = None,
        hidden_paths: Iterable[str] = (),
        state_dir: str | None = None,
        ro_binds: Iterable[str] = (),
    ) -> None:
        if user is None and os.geteuid() == 0:
            user = DEFAULT_JOB_USER
        self.user = resolve_user(user, allow_root)
        self.envfilter = EnvFilter(env_denylist)
        self.limits = parse_limits(limits)
        self.hidden = [*DEFAULT_HIDDEN, *hidden_paths, *([state_dir] if state_dir else [])]
        for p in [*self.hidden, *ro_binds]:
            if not os.path.isabs(p):
                raise ExecutorError(f"sandbox executor: path {p!r} in hidden_paths/ro_binds/state_dir must be absolute")
        self.ro_binds = list(ro_binds)
        self._tools_found = False

    def check(self) -> list[str]:
        missing = missing_tools(TOOLS)
        why = cgroups.available()
        if why:
            missing.append(f"no job cgroup ({why}): no memory/cpu/pids limits")
        if os.geteuid() != 0:
            missing.append("runner is not root: the sandbox executor needs root (see docs/executors.md)")
        return missing

    async def prepare(self, spec: JobSpec) -> SandboxJob:
        if os.geteuid() != 0:
            raise ExecutorError(
                "sandbox executor: the runner must run as root (it builds the job's netns and cgroups "
                "and drops to `user`; an unprivileged nsenter cannot join bwrap's namespaces); "
                "run it as root or use executor shell/docker"
            )
        if not self._tools_found:  # checked until found once, not on every job
            need = missing_tools(TOOLS)
            if need:
                raise ExecutorError("sandbox executor: " + "; ".join(need))
            self._tools_found = True
        limits = merge(self.limits, spec.limits)
        if spec.container is not None or spec.services:
            raise ExecutorError("job uses `container:`/`services:`: use executor docker or gvisor")
        why = cgroups.available()
        if why is not None and is_set(limits):
            raise ExecutorError(f"sandbox executor: limits {limits} are set but cannot be enforced: {why}")
        cg = cgroups.job_cgroup(spec.job_id, limits) if why is None else None
        job = SandboxJob(spec, self.user, self.envfilter, cg)
        try:
            give_job_dirs(spec, self.user)
            await job.start(self.hidden, self.ro_binds)
        except BaseException:
            await job.close()
            raise
        return job
