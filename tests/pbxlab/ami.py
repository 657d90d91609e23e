"""Record the raw AMI stream of the kit exactly as telmon would receive it.

Logs in on the read-only ``monitor`` account (the one telmon uses) and keeps every
byte after the login action: banner, login response, events, logoff response.
That is the format of the captures in ``../shared/traces`` (what *we* sent is
not in it), so a recording replays through ``telmon replay`` and the tests'
``replay_bytes`` unchanged.
"""
from __future__ import annotations

import asyncio
from typing import Optional


class AmiRecorder:
    """An AMI session that stores what Asterisk sends, byte for byte."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5038,
                 user: str = "monitor", secret: str = "monitor-secret") -> None:
        self.addr = (host, port)
        self.user, self.secret = user, secret
        self.raw = bytearray()
        self._task: Optional[asyncio.Task[None]] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._events = 0
        self._seen = asyncio.Event()

    async def start(self) -> "AmiRecorder":
        """Connect, log in and wait for ``FullyBooted`` (the stream is then live)."""
        reader, self._writer = await asyncio.open_connection(*self.addr)
        self.raw += await reader.readline()
        self._writer.write(f"Action: Login\r\nUsername: {self.user}\r\nSecret: {self.secret}\r\n"
                           "Events: on\r\n\r\n".encode())
        await self._writer.drain()
        self._task = asyncio.get_running_loop().create_task(self._read(reader))
        for _ in range(100):
            if b"FullyBooted" in self.raw:
                return self
            if b"Response: Error" in self.raw:
                raise RuntimeError("AMI login refused: " + bytes(self.raw).decode(errors="replace"))
            await asyncio.sleep(0.05)
        raise RuntimeError("no FullyBooted event 5 s after the AMI login")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            self.raw += chunk

    async def wait_for(self, needle: bytes, timeout: float = 10.0, after: int = 0) -> int:
        """Wait until ``needle`` appears in the stream after byte ``after``; its offset."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            at = self.raw.find(needle, after)
            if at >= 0:
                return at
            if loop.time() > deadline:
                raise TimeoutError(f"{needle!r} not seen on AMI within {timeout} s")
            await asyncio.sleep(0.02)

    async def close(self) -> bytes:
        """Log off (the response is part of the stream) and return everything recorded."""
        if self._writer is not None:
            self._writer.write(b"Action: Logoff\r\n\r\n")
            await self._writer.drain()
            await asyncio.sleep(0.3)
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
        return bytes(self.raw)
