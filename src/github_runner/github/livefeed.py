"""The v2 live console: step output over a websocket to `FeedStreamUrl` while the step runs.

A minimal RFC 6455 client (text frames out, ping/close in) on asyncio streams, so no websocket
library is needed. Frames carry the same JSON as the v1 feed endpoint
(`{"count","value","stepId","startLine"}`, runner-protocol §7.1.2/§7.2), batched to about 1 KiB.
Best effort: three failed connects and the feed is off for this job (logs still upload per step).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import ssl
import struct

import httpx

from github_runner.github.errors import GitHubError
from github_runner.github.http import check_url, user_agent

log = logging.getLogger("github_runner.github.livefeed")

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHUNK = 1024
MAX_LINE = 1024


def frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (FIN set)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def batches(step_id: str, lines: list[str], start_line: int) -> list[str]:
    """Feed messages of about `CHUNK` bytes each (a single long line goes alone, cut to 1 KiB)."""
    out: list[str] = []
    cur: list[str] = []
    first = start_line

    def flush() -> None:
        nonlocal cur, first
        if cur:
            out.append(json.dumps({"count": len(cur), "value": cur, "stepId": step_id,
                                   "startLine": first}))
            first += len(cur)
            cur = []

    size = 0
    for line in lines:
        line = line[:MAX_LINE]
        if cur and size + len(line) > CHUNK:
            flush()
            size = 0
        cur.append(line)
        size += len(line) + 4
    flush()
    return out


class LiveFeed:
    def __init__(self, url: str, token: str, ssl_context: ssl.SSLContext | None,
                 attempts: int = 3) -> None:
        self.url = url
        self.token = token
        self.ssl_context = ssl_context
        self.attempts_left = attempts
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "LiveFeed(***)"

    async def _connect(self) -> None:
        u = httpx.URL(self.url.replace("wss://", "https://", 1).replace("ws://", "http://", 1))
        check_url(u)
        port = u.port or (443 if u.scheme == "https" else 80)
        tls = None
        if u.scheme == "https":
            tls = self.ssl_context or ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(u.host, port, ssl=tls,
                                    server_hostname=u.host if tls else None), 10)
        key = base64.b64encode(os.urandom(16)).decode()
        target = u.raw_path.decode() or "/"
        host = u.host if u.port is None else f"{u.host}:{u.port}"
        request = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nUser-Agent: {user_agent()}\r\n"
                   f"Authorization: Bearer {self.token}\r\n\r\n")
        writer.write(request.encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = head.split(b"\r\n", 1)[0]
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if b" 101 " not in status + b" " or accept.encode() not in head:
            writer.close()
            raise GitHubError(f"live feed refused: {status.decode(errors='replace')[:60]}")
        self.writer = writer
        self.reader_task = asyncio.create_task(self._read(reader, writer))

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer pings, notice a close; the server sends nothing else we need."""
        try:
            while True:
                b0, b1 = await reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await reader.readexactly(8))[0]
                payload = await reader.readexactly(n)
                opcode = b0 & 0x0F
                if opcode == 0x9:
                    writer.write(frame(0xA, payload))
                elif opcode == 0x8:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        if self.writer is writer:
            self.writer = None

    async def send(self, step_id: str, lines: list[str], start_line: int) -> None:
        async with self.lock:
            if self.writer is None:
                if self.attempts_left <= 0:
                    return
                self.attempts_left -= 1
                try:
                    await self._connect()
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                        asyncio.LimitOverrunError, GitHubError) as exc:
                    log.info("live console unavailable (%s)", type(exc).__name__)
                    return
            assert self.writer is not None
            try:
                for msg in batches(step_id, lines, start_line):
                    self.writer.write(frame(0x1, msg.encode()))
                await self.writer.drain()
            except (ConnectionError, OSError):
                self.writer = None

    async def close(self) -> None:
        self.attempts_left = 0  # closed for good: later sends are dropped
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                writer.write(frame(0x8, struct.pack("!H", 1000)))
                await writer.drain()
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (ConnectionError, OSError, asyncio.TimeoutError, ssl.SSLError):
                pass
        if self.reader_task is not None:
            self.reader_task.cancel()
            await asyncio.gather(self.reader_task, return_exceptions=True)

