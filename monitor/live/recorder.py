"""``telmon run --record FILE``: the live AMI stream saved as received, for ``telmon replay FILE``.

The file is what the real captures in ``tests/data/pbx/*.ami`` are: the bytes
Asterisk sent, banner first, frames after. It holds personal data (caller
numbers), so it is created 0600 and telmon never prints its content.

Every session (a reconnect, a later ``telmon run --record`` on the same file) is
appended, so that the file stays one stream ``telmon replay`` decodes whole:

* a session's banner line is written only when the file is empty (a second
  banner in the middle would make its frame malformed);
* a frame cut off by a dropped connection (the session ended mid-frame) is cut
  off the file too: live telmon never judged it, and glued to the next
  session's first frame it would be a frame Asterisk never sent.

Writes go straight to the file (no buffer held in telmon): a killed telmon loses
nothing already received. They are small appends on the event loop's thread, as
cheap as the socket read they follow.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)


class StreamRecorder:
    """One recording file, opened for appending (created 0600)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd: Optional[int] = os.open(self.path, flags, 0o600)
        self.sessions = 0
        self.bytes = 0

    def session(self) -> "RecordedSession":
        """Start recording a new AMI session (after a connect)."""
        assert self._fd is not None, "recorder closed"
        self.sessions += 1
        return RecordedSession(self, keep_banner=os.fstat(self._fd).st_size == 0)

    def _append(self, data: bytes) -> None:
        fd = self._fd
        if fd is None or not data:
            return
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        self.bytes += len(data)

    def _cut(self, count: int) -> None:
        """Remove the last ``count`` bytes written (an unfinished frame)."""
        fd = self._fd
        if fd is None or count <= 0:
            return
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - count))
        self.bytes -= count

    def close(self) -> None:
        """Close the file (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class RecordedSession:
    """What one AMI session appends to the recording."""

    def __init__(self, recorder: StreamRecorder, keep_banner: bool) -> None:
        self._recorder = recorder
        self._first_line = not keep_banner     # still looking at the session's first line (to drop a banner)
        self._held = b""                       # the start of that first line, until its end arrives
        self.written = 0

    def write(self, data: bytes) -> None:
        """Bytes as received from Asterisk. A recording that fails (disk full) is logged once and stops;
        it never stops the monitor."""
        try:
            if self._first_line:
                data = self._skip_banner(data)
            self._recorder._append(data)
            self.written += len(data)
        except OSError as exc:
            log.error("recording the AMI stream to %s failed (%s): recording stopped, monitoring goes on",
                      self._recorder.path, exc.strerror or exc)
            self._recorder.close()

    def _skip_banner(self, data: bytes) -> bytes:
        data = self._held + data
        nl = data.find(b"\n")
        if nl < 0:
            self._held = data[:4096]           # a banner is one short line; more is not a banner
            return b"" if len(data) <= 4096 else self._release(data)
        self._first_line = False
        self._held = b""
        line = data[:nl].rstrip(b"\r")
        if line and b":" not in line:          # a banner (the codec's own test): the file has one already
            return data[nl + 1:]
        return data

    def _release(self, data: bytes) -> bytes:
        self._first_line = False
        self._held = b""
        return data

    def end(self, unfinished: int) -> None:
        """The session is over; ``unfinished``: bytes at its end that were no complete frame."""
        try:
            self._recorder._cut(min(unfinished, self.written))
        except OSError as exc:
            log.warning("could not cut an unfinished frame off %s: %s", self._recorder.path, exc)
        self._first_line = False
