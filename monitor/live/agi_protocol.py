"""The AGI protocol as Asterisk speaks it to a FastAGI service: the environment block, commands, replies.

Pure: bytes in, dicts and replies out, and commands handed to a ``write``
callable; the sockets and threads are :mod:`monitor.live.fastagi`'s.

Why not pyst2's ``asterisk.agi.AGI`` (the design names pyst2; telmon keeps it as
the reference AMI parser in ``tests/test_codec.py``): its constructor installs a
SIGHUP handler, which Python allows only in the main thread, so a threaded
server had to build it with ``AGI.__new__`` and set its private members; it
reads with an unbounded ``readline()``; and it quotes values without escaping
them. What telmon needs of AGI is small, so it is spoken here, bounded.

Asterisk's side, one session: ``agi_name: value`` lines ending with a blank line,
then for every command a reply line ``200 result=N [(data)]`` (``510`` an unknown
command, ``520-`` … ``520`` a usage text, ``HANGUP`` when the channel hung up).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from ..errors import TelmonError

log = logging.getLogger(__name__)

MAX_LINE = 4096           # bytes of one AGI line (Asterisk's are < 200); longer is not Asterisk
MAX_LINES = 256           # lines of one session (the environment is ~25, each command's reply one)
REQUIRED = ("agi_channel", "agi_uniqueid")
_REPLY = re.compile(r"^200 result=(-?\d+)(?: \((.*)\))?(?: .*)?$")


class AgiError(TelmonError):
    """The AGI session cannot go on."""


class AgiMalformed(AgiError):
    """The peer does not speak AGI as Asterisk does (environment, a line too long, too many lines, too slow)."""


class AgiCommandError(AgiError):
    """Asterisk refused or failed a command (unknown command, usage, application missing or failed)."""


class AgiHangup(AgiCommandError):
    """The channel hung up, or the connection closed, before the session was done."""


class BoundedLines:
    """A session's input, bounded: a line, the number of lines and the session's time.

    An unbounded ``readline()`` lets a single 200 MiB line take 200 MiB, and a peer
    that trickles a byte every few seconds hold a thread for ever. Past a limit the
    session ends as malformed; the call goes on in the dialplan.
    ``read_line(size)`` is a binary file's ``readline``; ``clock`` is injectable for tests.
    """

    def __init__(self, read_line: Callable[[int], bytes], deadline: float, seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.read_line = read_line
        self.deadline = deadline
        self.seconds = seconds     # only for the message
        self.clock = clock
        self.lines = 0

    def __call__(self) -> bytes:
        """One line of at most MAX_LINE bytes (``b""`` at the end of the input), or AgiMalformed."""
        if self.clock() > self.deadline:
            raise AgiMalformed(f"session longer than {self.seconds:g} s")
        line = self.read_line(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise AgiMalformed(f"a line longer than {MAX_LINE} bytes")
        self.lines += 1
        if self.lines > MAX_LINES:
            raise AgiMalformed(f"more than {MAX_LINES} lines in one session")
        return line


def read_environment(readline: Callable[[], bytes]) -> list[bytes]:
    """The environment block's lines, up to (not with) the blank line; AgiMalformed if the input ends first."""
    lines = []
    while True:
        line = readline()
        if not line:
            raise AgiMalformed("connection closed inside the environment block")
        if not line.strip():
            return lines
        lines.append(line)


def parse_environment(lines: Iterable[bytes]) -> dict[str, str]:
    """``agi_name: value`` lines into a dict (a repeated name: the last value); AgiMalformed when a line
    is not such a line or the channel and unique id are missing."""
    env: dict[str, str] = {}
    for raw in lines:
        text = raw.decode("utf-8", "replace").strip()   # a caller name in another charset is not an attack
        key, colon, value = text.partition(":")
        key = key.strip()
        if not colon or not key.startswith("agi_") or not key.replace("_", "").isalnum() or not key.isascii():
            raise AgiMalformed(f"unexpected header line {text[:80]!r}")
        env[key] = value.strip()
    missing = [k for k in REQUIRED if not env.get(k)]
    if missing:
        raise AgiMalformed(f"{'/'.join(missing)} missing")
    return env


@dataclass(frozen=True)
class Reply:
    """A ``200`` reply: the result code and the data in parentheses, if any."""

    result: int
    data: str = ""


def parse_reply(line: bytes) -> Reply:
    """One reply line to a command; AgiHangup / AgiCommandError for anything but a success."""
    text = line.decode("utf-8", "replace").strip()
    if not line:
        raise AgiHangup("connection closed before the reply")
    if text == "HANGUP":
        raise AgiHangup("the channel hung up")
    match = _REPLY.match(text)
    if match is None:
        if text.startswith("510"):
            raise AgiCommandError(f"unknown command: {text[:120]}")
        if text.startswith("520"):
            raise AgiCommandError(f"command refused: {text[:120]}")
        raise AgiCommandError(f"unexpected reply {text[:120]!r}")
    reply = Reply(int(match.group(1)), match.group(2) or "")
    if reply.data == "hangup":
        raise AgiHangup("the channel hung up during the command")
    if reply.result == -1:
        raise AgiCommandError("the command failed or the channel hung up (result=-1)")
    return reply


def safe_text(text: str) -> str:
    """Text safe inside a quoted AGI argument: a quote, a backslash or a line end would end the
    argument or start another command (Asterisk's escaping is not uniform across commands), so
    each becomes a space."""
    return "".join(" " if c in '"\\\r\n' else c for c in text)


def quote(text: str) -> str:
    """A quoted AGI argument."""
    return f'"{safe_text(text)}"'


class AgiSession:
    """One FastAGI session: the environment, and commands answered one reply at a time."""

    def __init__(self, env: dict[str, str], readline: Callable[[], bytes], write: Callable[[bytes], None]) -> None:
        self.env = env
        self._readline = readline
        self._write = write

    @classmethod
    def open(cls, readline: Callable[[], bytes], write: Callable[[bytes], None]) -> "AgiSession":
        """Read and check the environment block; AgiMalformed if it is not Asterisk's."""
        return cls(parse_environment(read_environment(readline)), readline, write)

    @property
    def script(self) -> str:
        """The script the dialplan asked for: ``agi://host:port/answered?x`` -> ``answered``."""
        return self.env.get("agi_network_script", "").split("?", 1)[0].strip("/")

    def command(self, *words: str) -> Reply:
        """Send one command (words already quoted where needed) and read its reply."""
        line = " ".join(words)
        if "\n" in line or "\r" in line:     # one command is one line, whatever a caller passed
            raise ValueError("an AGI command cannot contain a line end")
        log.debug("agi: command %s", line)
        self._write(line.encode("utf-8") + b"\n")
        raw = self._readline()
        if raw.startswith(b"520-"):
            # A usage text: ``520-`` ... up to the closing ``520 `` line, read so the session stays in step.
            while raw and not raw.startswith(b"520 "):
                raw = self._readline()
            raise AgiCommandError(f"command refused with a usage text: {words[0]}")
        log.debug("agi: reply %s", raw.rstrip().decode("utf-8", "replace"))
        return parse_reply(raw)

    def set_variable(self, name: str, value: str) -> None:
        """``SET VARIABLE "name" "value"`` on the channel."""
        self.command("SET VARIABLE", quote(name), quote(value))

    def verbose(self, message: str, level: int = 1) -> None:
        """A line in Asterisk's console (``VERBOSE "message" level``)."""
        self.command("VERBOSE", quote(message), str(int(level)))

    def exec_app(self, application: str, options: str = "") -> int:
        """Run a dialplan application (``EXEC app "options"``); its result code."""
        if not application.isalnum():
            raise ValueError(f"not an application name: {application!r}")
        result = self.command("EXEC", application, quote(options)).result
        if result == -2:
            raise AgiCommandError(f"application {application} not found")
        return result

