"""One step run with `docker exec` through the Engine API: the Process side of the docker executor.

Docker keeps an exec's stdout and stderr in separate pipes, so their order across the two is
lost; and after the exec'd process exits, dockerd waits seconds for its stdio to drain when a
background process still holds it. So every step runs under a tiny sh wrapper: the step's
stderr is merged into its stdout (one pipe, order kept), and the wrapper reports the step's exit
status on its *own* stderr, which no process of the step holds. A reader thread turns the
multiplexed frames (8-byte headers) into output chunks and that exit status.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import struct
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

LINGER = 0.2
WRAPPER = ["sh", "-c", '"$@" 2>&1; echo "$?" >&2', "sh"]


def descendants(pid: int) -> list[int]:
    """pid and every process below it on this host (children first found, deepest last)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return out


def _exec_inspect(api: Any, exec_id: str) -> dict[str, Any]:
    """The exec's state; an exec whose container is gone counts as killed."""
    import docker

    try:
        return dict(api.exec_inspect(exec_id))
    except docker.errors.APIError:
        return {"Running": False, "ExitCode": 137, "Pid": 0}


class DockerExecProcess:
    def __init__(self, api: Any, exec_id: str, sock: Any) -> None:
        self._api = api
        self._exec_id = exec_id
        self._sock = sock
        self._raw: socket.socket = getattr(sock, "_sock", sock)
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._eof = asyncio.Event()
        self._exited = asyncio.Event()
        self._status = b""
        self._loop = asyncio.get_running_loop()
        self._code: int | None = None
        self.pid: int | None = None
        self._thread = threading.Thread(target=self._pump, name=f"exec-{exec_id[:8]}", daemon=True)

    @classmethod
    async def start(
        cls, api: Any, container_id: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: str,
        stdin: bytes | None, user: str | None,
    ) -> "DockerExecProcess":
        def create() -> tuple[str, Any]:
            exec_id = api.exec_create(
                container_id, [*WRAPPER, *argv], stdout=True, stderr=True, stdin=stdin is not None,
                environment=dict(env), workdir=cwd, user=user or "", tty=False,
            )["Id"]
            sock = api.exec_start(exec_id, detach=False, tty=False, stream=False, socket=True)
            return exec_id, sock

        exec_id, sock = await asyncio.to_thread(create)
        proc = cls(api, exec_id, sock)
        if stdin is not None:
            await asyncio.to_thread(proc._send_stdin, stdin)
        proc._thread.start()
        info = await asyncio.to_thread(_exec_inspect, api, exec_id)
        proc.pid = info.get("Pid") or None
        return proc

    def _send_stdin(self, data: bytes) -> None:
        self._raw.sendall(data)
        self._raw.shutdown(socket.SHUT_WR)

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self._raw.recv(n - len(buf))
            if not chunk:
                return buf
            buf += chunk
        return buf

    def _pump(self) -> None:
        put = self._queue.put_nowait
        try:
            while True:
                header = self._recv_exact(8)
                if len(header) < 8:
                    break
                stream, size = struct.unpack(">BxxxL", header)
                payload = self._recv_exact(size)
                if stream == 2:
                    self._status += payload
                    if self._status.endswith(b"\n") and not self._deliver(self._exited.set):
                        return
                elif payload and not self._deliver(put, payload):
                    return
                if len(payload) < size:
                    break
        except OSError:
            pass
        if self._deliver(put, None):
            self._deliver(self._eof.set)

    def _deliver(self, callback: Any, *args: Any) -> bool:
        """Hand `callback(*args)` to the step's event loop; False once that loop is closed (the
        run ended without waiting for this step: its container going away ends the stream)."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            return False
        return True

    async def _inspect(self) -> dict[str, Any]:
        return await asyncio.to_thread(_exec_inspect, self._api, self._exec_id)

    async def output(self) -> AsyncIterator[bytes]:
        while True:
            get = asyncio.ensure_future(self._queue.get())
            if not self._exited.is_set():
                exited = asyncio.ensure_future(self._exited.wait())
                await asyncio.wait({get, exited}, return_when=asyncio.FIRST_COMPLETED)
                exited.cancel()
            if not get.done():
                try:
                    await asyncio.wait_for(asyncio.shield(get), LINGER)
                except TimeoutError:
                    get.cancel()
                    return
            chunk = get.result()
            if chunk is None:
                return
            yield chunk

    async def wait(self) -> int:
        """The step's exit status, as the wrapper reported it (128+N for death by signal N)."""
        if self._code is not None:
            return self._code
        ended = asyncio.ensure_future(self._eof.wait())
        exited = asyncio.ensure_future(self._exited.wait())
        try:
            await asyncio.wait({ended, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            exited.cancel()
        text = self._status.decode(errors="replace").strip().splitlines()
        if self._exited.is_set() and text and text[-1].isdigit():
            self._code = int(text[-1])
        else:  # the wrapper itself died: the step was killed with its container
            info = await self._inspect()
            code = int(info.get("ExitCode") or 0)
            # runsc reports 128 (signal 0) for a process torn down with an OOM-killed sandbox;
            # the step did not end by itself, so it reads as killed (128 + SIGKILL) unless
            # dockerd names another signal.
            self._code = code if code > 128 else 137
        return self._code

    async def signal(self, sig: int = signal.SIGINT) -> None:
        if self.pid is None:
            return
        for pid in descendants(self.pid):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    async def kill(self) -> None:
        await self.signal(signal.SIGKILL)
        await self.wait()
        self.close()

    def close(self) -> None:
        try:
            self._raw.close()
        except OSError:
            pass
