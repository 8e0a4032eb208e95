"""The docker exec reader thread when the run that started the step has already ended."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading

from github_runner.executors.dockerexec import DockerExecProcess


def test_reader_thread_outliving_its_loop_ends_quietly() -> None:
    ours, dockerd = socket.socketpair()

    async def start() -> DockerExecProcess:
        return DockerExecProcess(api=None, exec_id="0123456789abcdef", sock=ours)

    loop = asyncio.new_event_loop()
    proc = loop.run_until_complete(start())
    loop.close()  # the run is over (cancelled, runner deleted) while the container still talks
    errors: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        proc._thread.start()
        dockerd.sendall(struct.pack(">BxxxL", 1, 3) + b"hi\n")  # a frame of step output
        dockerd.close()  # the container went away
        proc._thread.join(5)
    finally:
        threading.excepthook = previous
        ours.close()
    assert not proc._thread.is_alive()
    assert errors == []
