"""The AMI wire codec: bytes in, messages out. One codec for files and sockets.

Asterisk's manager protocol is a banner line (``Asterisk Call Manager/11.0.0``)
followed by frames of ``Key: Value`` lines, each line ended by CRLF and each frame
by an empty line. :class:`AmiDecoder` is fed whatever chunks arrive (a recorded
file read in one go, or ``recv()`` pieces split anywhere, even inside a CRLF) and
returns complete messages with the absolute byte offset where each frame began.

Why not pyst2's parser (the AMI library the design names): its ``ManagerMsg``
keeps only the last value of a repeated header (``ChanVariable`` aside, through a
Python 2 ``has_key`` call that fails on Python 3), it is bound to its own threaded
socket reader, and it works line by line with several string operations per
line. We use pyst2 as the reference in the tests (``tests/test_codec.py`` parses
every captured frame with ``asterisk.manager.ManagerMsg`` and compares) and as the
baseline in ``bench/``; this module is the thin piece that does what it cannot.

* Repeated headers are kept: the first value is ``msg[key]``, all values are in
  ``msg.get_all(key)``.
* Noise can be skipped before a full parse: give ``wanted`` (a set of event names)
  and an ``Event:`` frame with any other name is counted and dropped after reading
  only its first line. About 80 % of a real stream is such noise.
* A malformed frame (a line with no ``:``) is reported as :class:`Malformed` with its
  byte offset and skipped; decoding goes on with the next frame.

No I/O happens here: callers own the sockets and files.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

_CRLF_END = b"\r\n\r\n"
_LF_END = b"\n\n"


class Message(dict):  # type: ignore[type-arg]
    """One AMI frame: a ``dict`` of first header values, plus repeated values and offset."""

    __slots__ = ("offset", "repeated", "data")

    def __init__(self, offset: int) -> None:
        super().__init__()
        self.offset = offset
        self.repeated: Optional[dict[str, list[str]]] = None
        self.data: Optional[list[str]] = None  # free text lines of a command response

    def get_all(self, key: str) -> list[str]:
        """Every value of a header, in order (a repeated header gives several)."""
        if self.repeated and key in self.repeated:
            return list(self.repeated[key])
        return [self[key]] if key in self else []

    @property
    def event(self) -> Optional[str]:
        """The event name, or None for responses and the banner."""
        return self.get("Event")


@dataclass(frozen=True)
class Banner:
    """The greeting line Asterisk sends on connect."""

    offset: int
    text: str


@dataclass(frozen=True)
class Malformed:
    """A frame that could not be parsed; it was skipped."""

    offset: int
    reason: str
    raw: bytes


Item = Union[Message, Banner, Malformed]


class AmiDecoder:
    """Incremental AMI decoder (see the module docstring)."""

    def __init__(self, wanted: Optional[Iterable[str]] = None, max_frame: int = 1 << 20,
                 wanted_when: Optional[Mapping[str, bytes]] = None) -> None:
        self._buf = b""
        self._base = 0            # absolute offset of _buf[0]
        self._banner_done = False
        self._end: Optional[bytes] = None   # CRLF or LF frame ends: decided by the first line after the banner
        self._scanned = 0         # how far into _buf the end of a frame has been looked for
        self._wanted = frozenset(wanted) if wanted is not None else None
        # The same names as bytes: noise is recognised without decoding its name.
        self._wanted_raw = frozenset(n.encode("utf-8") for n in self._wanted) if self._wanted is not None else None
        # Of some wanted events only frames holding given bytes matter (``Newexten``: only
        # ``Application: VoiceMail``); the rest are dropped with one substring search.
        self._when_raw = {n.encode("utf-8"): needle for n, needle in (wanted_when or {}).items()}
        self._max_frame = max_frame
        self.skipped_noise = 0    # frames dropped by the ``wanted`` filter
        self.frames = 0           # complete frames seen (including noise)

    def feed(self, data: bytes) -> list[Item]:
        """Add bytes; return every item completed by them.

        Work stays linear and memory bounded whatever arrives: the search for a frame's
        end resumes where the last one stopped, and bytes without an end beyond
        ``max_frame`` are reported and dropped (a stream with no line end at all once
        held 487 MB and took 13 s for 200 MB).
        """
        buf = self._buf + data if self._buf else data
        out: list[Item] = []
        pos = 0
        if not self._banner_done:
            pos = self._read_banner(buf, out)
            if not self._banner_done:
                return self._hold(buf, 0, out, "no line end")
        if self._end is None:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                return self._hold(buf, pos, out, "no line end")
            # The frames' own line ends decide, not the banner's (a CRLF stream behind a bare-LF banner).
            self._end = _CRLF_END if nl > 0 and buf[nl - 1:nl] == b"\r" else _LF_END
        end = self._end
        find = buf.find
        start = max(pos, self._scanned)
        while True:
            cut = find(end, start)
            if cut < 0:
                break
            if cut > pos:
                self.frames += 1
                item = self._parse(buf, pos, cut)
                if item is not None:
                    out.append(item)
            pos = start = cut + len(end)
        return self._hold(buf, pos, out, "frame longer than")

    def _hold(self, buf: bytes, pos: int, out: list[Item], why: str) -> list[Item]:
        """Keep ``buf[pos:]`` for the next feed, unless it outgrew ``max_frame`` (then report and drop it)."""
        rest = buf[pos:]
        if len(rest) > self._max_frame:
            out.append(Malformed(self._base + pos, f"{why} in {self._max_frame} bytes: dropped", rest[:200]))
            pos, rest = len(buf), b""
            if not self._banner_done:
                self._banner_done = True      # no banner: whatever follows is frames
        self._base += pos
        self._buf = rest
        self._scanned = max(0, len(rest) - 3)   # the end marker may straddle the next chunk
        return out

    def close(self) -> list[Item]:
        """End of stream: report a trailing partial frame as truncated."""
        rest = self._buf.strip(b"\r\n")
        self._buf = b""
        if rest:
            return [Malformed(self._base, "truncated frame at end of stream", rest[:200])]
        return []

    @property
    def pending_bytes(self) -> int:
        """Bytes held waiting for the end of a frame."""
        return len(self._buf)

    def _read_banner(self, buf: bytes, out: list[Item]) -> int:
        nl = buf.find(b"\n")
        if nl < 0:
            return 0
        line = buf[:nl].rstrip(b"\r")
        self._banner_done = True
        if b":" in line or not line:
            return 0  # no banner (a stream recorded mid-session): parse from the start
        out.append(Banner(self._base, line.decode("utf-8", "replace")))
        return nl + 1

    def _parse(self, buf: bytes, start: int, stop: int) -> Optional[Item]:
        # Leading blank lines (a stray CRLF between frames) are not part of the frame.
        while buf.startswith(b"\r\n", start) or buf.startswith(b"\n", start):
            start += 2 if buf[start] == 13 else 1
            if start >= stop:
                return None
        wanted = self._wanted_raw
        if wanted is not None and buf.startswith(b"Event: ", start):
            eol = buf.find(b"\n", start, stop)
            name = buf[start + 7:(eol if eol >= 0 else stop)].rstrip(b"\r")
            if name not in wanted:
                self.skipped_noise += 1
                return None
            needle = self._when_raw.get(name) if self._when_raw else None
            if needle is not None and buf.find(needle, start, stop) < 0:
                self.skipped_noise += 1
                return None
        offset = self._base + start
        text = buf[start:stop].decode("utf-8", "replace")
        msg = Message(offset)
        lines = text.split("\r\n") if self._end == _CRLF_END else text.split("\n")
        if _fast_headers(msg, lines):
            return msg
        for n, line in enumerate(lines):
            key, sep, value = line.partition(":")
            if not sep or not key or key.startswith(" "):
                if "Response" in msg:
                    # Old-style command output: free text after the headers.
                    msg.data = lines[n:]
                    break
                return Malformed(offset, f"line {n + 1} is not 'Key: Value': {line[:60]!r}", buf[start:stop][:200])
            if value.startswith(" "):
                value = value[1:]
            if key in msg:
                rep = msg.repeated
                if rep is None:
                    rep = msg.repeated = {}
                rep.setdefault(key, [msg[key]]).append(value)
            else:
                msg[key] = value
        if "Event" not in msg and "Response" not in msg and "Action" not in msg:
            return Malformed(offset, "frame has no Event, Response or Action", buf[start:stop][:200])
        return msg


def _fast_headers(msg: Message, lines: list[str]) -> bool:
    """Fill ``msg`` from ``lines`` in C-level bulk operations when the frame is plain; else leave it empty.

    Nearly every frame is plain: every line ``Key: value`` with a key that has no
    colon and does not start with a space, no header repeated, and an Event,
    Response or Action header. For those, ``split(": ", 1)`` gives exactly what the
    line-by-line loop in ``_parse`` gives, at about half the cost (the profile of
    ingest stage (e) showed that loop as the largest single cost). Anything else
    (a repeated header, ``Key:value``, command output, a malformed line) returns
    False with ``msg`` empty, and the careful loop decides.
    """
    try:
        msg.update([line.split(": ", 1) for line in lines])  # type: ignore[misc]  # 2-item lists act as pairs
    except ValueError:          # a line without ": "
        msg.clear()
        return False
    if len(msg) == len(lines):
        keys = "\n" + "\n".join(msg) + "\n"
        if ":" not in keys and "\n " not in keys and "\n\n" not in keys and (
                "Event" in msg or "Response" in msg or "Action" in msg):
            return True
    msg.clear()
    return False


def encode_action(action: str, headers: Optional[dict[str, str]] = None) -> bytes:
    """Serialize an AMI action (for the live listener and the simulated PBX)."""
    lines = [f"Action: {action}"]
    for key, value in (headers or {}).items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"AMI header {key} may not contain a line break")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def encode_message(msg: dict[str, str]) -> bytes:
    """Serialize a message dict as an AMI frame (used by the simulated PBX and tests)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in msg.items()) + "\r\n").encode("utf-8")
