"""A job process started on this kernel (shell and sandbox executors).

Why not plain `asyncio.create_subprocess_exec`: in Python 3.11 `Process.wait()` only returns once
stdout is closed, and a job's `nohup cmd &` keeps it open forever. The protocol below records the
exit itself, so `wait()` returns at exit and `output()` stops shortly after (the `linger`), while
the survivors are left for the sandbox's cgroup sweep.

stdout and stderr share one pipe, so their bytes arrive in the order the job wrote them.

Exit is watched through a pidfd on the event loop, not asyncio's default child watcher: on 3.11
that starts a thread per process, and starting (and waking) it cost ~1.5 ms per step on a busy
2-core host.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from github_runner.executors.cgroups import Cgroup

CHUNK = 65536
LINGER = 0.2  # after exit, how long to wait for output that children still write
SH = "/bin/sh"
# moves the shell into each cgroup.procs file given before "--", then execs the rest
JOIN_SCRIPT = 'p=$$; while [ "$1" != -- ]; do echo "$p" >"$1" || exit 125; shift; done; shift; exec "$@"'


def join_prefix(cgroup: Cgroup) -> list[str]:
    """argv prefix that enters `cgroup` before exec'ing the rest (as the runner, i.e. root).

    Why not in a preexec_fn: any preexec_fn makes Python fork() (copying the runner's page
    tables, then faulting them back in) and run Python in the child instead of vfork()+exec:
    ~1.5-2 ms per spawn on this kind of VM, more than the exec of a small `sh`."""
    return [SH, "-c", JOIN_SCRIPT, "ghr-join", *map(str, cgroup.procs_files()), "--"]


PR_SET_NO_NEW_PRIVS = 38
_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup(
    fds: Sequence[int], no_new_privs: bool, then: Callable[[], None] | None
) -> Callable[[], None]:
    prctl = _libc.prctl

    def setup() -> None:  # runs in the child between fork and exec: only raw syscalls here
        pid = str(os.getpid()).encode()
        for fd in fds:
            os.write(fd, pid)
        if no_new_privs and prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            os._exit(126)
        if then is not None:
            then()

    return setup


def _watch_exit(loop: asyncio.AbstractEventLoop, popen: subprocess.Popen[bytes]) -> asyncio.Future[int]:
    """A future for the exit code, resolved when the pidfd becomes readable (the child exited)."""
    exited: asyncio.Future[int] = loop.create_future()
    try:
        pidfd = os.pidfd_open(popen.pid)
    except OSError:  # no pidfds (kernel < 5.3): one blocking wait in a thread
        fut = loop.run_in_executor(None, popen.wait)
        fut.add_done_callback(lambda f: exited.done() or exited.set_result(f.result()))
        return exited

    def reap() -> None:
        rc = popen.poll()
        if rc is None:
            return
        loop.remove_reader(pidfd)
        os.close(pidfd)
        if not exited.done():
            exited.set_result(rc)

    loop.add_reader(pidfd, reap)
    return exited


class LocalProcess:
    """One step's process tree: its own session/process group and, when root, its own cgroup."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        reader: asyncio.StreamReader,
        transports: list[asyncio.BaseTransport],
        exited: asyncio.Future[int],
        cgroup: Cgroup | None,
    ) -> None:
        self._popen = popen
        self._reader = reader
        self._transports = transports
        self._exited = exited
        self.cgroup = cgroup
        self.pid: int | None = popen.pid

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None,
        stdin: bytes | None = None,
        cgroup: Cgroup | None = None,
        pass_fds: Sequence[int] = (),
        clear_groups: bool = False,
        no_new_privs: bool = False,
        in_child: Callable[[], None] | None = None,
        stdin_fd: int | None = None,
    ) -> "LocalProcess":
        """`in_child`: extra raw-syscall setup run in the child just before exec. Without it
        (and without `no_new_privs`/`clear_groups`: do those with setpriv in `argv`), the child
        joins `cgroup` through `join_prefix`, so Python can spawn with vfork()."""
        loop = asyncio.get_running_loop()
        fds: list[int] = []
        if cgroup is not None and (in_child is not None or no_new_privs or clear_groups):
            fds = cgroup.open_procs()
        elif cgroup is not None:
            argv = [*join_prefix(cgroup), *argv]
        try:
            popen = subprocess.Popen(
                list(argv),
                stdin=stdin_fd if stdin_fd is not None else subprocess.PIPE if stdin is not None
                else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_child_setup(fds, no_new_privs, in_child)
                if fds or no_new_privs or in_child else None,
                pass_fds=tuple(pass_fds),
                extra_groups=[] if clear_groups else None,
            )
        finally:
            for fd in fds:
                os.close(fd)
        exited = _watch_exit(loop, popen)
        reader = asyncio.StreamReader(limit=2**20, loop=loop)
        assert popen.stdout is not None
        out, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), popen.stdout)
        transports: list[asyncio.BaseTransport] = [out]
        if stdin is not None and popen.stdin is not None:
            inp, _ = await loop.connect_write_pipe(asyncio.Protocol, popen.stdin)
            inp.write(stdin)
            inp.close()
            transports.append(inp)
        return cls(popen, reader, transports, exited, cgroup)

    async def output(self) -> AsyncIterator[bytes]:
        reader = self._reader
        exited = self._exited
        while True:
            read = asyncio.ensure_future(reader.read(CHUNK))
            if not exited.done():
                await asyncio.wait({read, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not read.done():
                try:
                    await asyncio.wait_for(asyncio.shield(read), LINGER)
                except TimeoutError:
                    read.cancel()
                    return
            chunk = read.result()
            if not chunk:
                return
            yield chunk

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def signal(self, sig: int = signal.SIGINT) -> None:
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def kill(self) -> None:
        await self.signal(signal.SIGKILL)
        if self.cgroup is not None:
            await self.cgroup.kill_all()
        await self.wait()
        self.close()

    def close(self) -> None:
        for t in self._transports:
            t.close()
