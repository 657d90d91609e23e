"""One AMI session over TCP (asyncio): banner, login, actions, and the stream of events.

Why not pyst2's ``Manager`` (the library the design names): it runs its own
reader thread over a blocking socket, parses with the line-based ``ManagerMsg``
that drops repeated headers, and has no notion of event lists such as
``CoreShowChannels``. This is the thin layer around our codec that it lacks;
the codec is the same one ``telmon replay`` uses, so a live socket and a
recording are parsed identically.

The secret is sent once in the Login action and never appears in a log line or
an exception message.
"""
from __future__ import annotations

import asyncio
import itertools
from collections import deque
import logging
from typing import AsyncIterator, Iterable, Mapping, Optional

from ..ami.codec import AmiDecoder, Banner, Malformed, Message, encode_action
from ..core.masking import scrub
from ..errors import TelmonError
from .recorder import RecordedSession

log = logging.getLogger(__name__)

READ_SIZE = 65536


class AmiError(TelmonError):
    """The AMI session failed (connection, protocol)."""


class LoginFailed(AmiError):
    """Asterisk refused the login (wrong user or secret, or not permitted from here)."""


class AmiSession:
    """An open, logged-in AMI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 wanted: Optional[Iterable[str]] = None, wanted_when: Optional[Mapping[str, bytes]] = None,
                 record: Optional[RecordedSession] = None) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = AmiDecoder(wanted=wanted, wanted_when=wanted_when)
        self._ids = itertools.count(1)
        self._queue: deque[object] = deque()
        self.banner: Optional[str] = None
        self.malformed = 0
        self._record = record        # ``telmon run --record``: every byte received, as received
        self._tail: Optional[int] = None   # bytes of an unfinished frame when the stream ended

    @classmethod
    async def open(cls, host: str, port: int, username: str, secret: str,
                   wanted: Optional[Iterable[str]] = None, timeout: float = 10.0,
                   wanted_when: Optional[Mapping[str, bytes]] = None,
                   record: Optional[RecordedSession] = None) -> "AmiSession":
        """Connect, read the banner and log in; raises AmiError / LoginFailed."""
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise AmiError(f"cannot connect to AMI at {host}:{port}: {exc or 'timed out'}") from None
        session = cls(reader, writer, wanted, wanted_when, record)
        try:
            await asyncio.wait_for(session._login(username, secret), timeout)
        except asyncio.TimeoutError:
            session.close()
            raise AmiError(f"AMI at {host}:{port} did not answer the login in {timeout:g} s") from None
        except BaseException:
            session.close()
            raise
        return session

    async def _login(self, username: str, secret: str) -> None:
        action_id = f"telmon-login-{next(self._ids)}"
        self._writer.write(encode_action("Login", {"Username": username, "Secret": secret,
                                                   "Events": "on", "ActionID": action_id}))
        await self._writer.drain()
        async for item in self._items():
            if isinstance(item, Banner):
                self.banner = item.text
            elif isinstance(item, Message) and item.get("ActionID") == action_id:
                if item.get("Response") == "Success":
                    return
                raise LoginFailed(f"AMI login as {username!r} refused: {item.get('Message', 'no reason given')}")
            elif isinstance(item, Message):
                log.debug("message before the login response: %s", item.get("Event") or item.get("Response"))
        raise AmiError("AMI connection closed during login")

    async def send(self, action: str, headers: Optional[dict[str, str]] = None) -> str:
        """Send an action; returns its ActionID (the answer arrives in ``messages()``)."""
        action_id = f"telmon-{action.lower()}-{next(self._ids)}"
        self._writer.write(encode_action(action, dict(headers or {}, ActionID=action_id)))
        await self._writer.drain()
        return action_id

    async def messages(self) -> AsyncIterator[Message]:
        """Every message (events and responses) until the connection closes."""
        async for item in self._items():
            if isinstance(item, Message):
                yield item

    async def _items(self) -> AsyncIterator[object]:
        # Decoded items wait in a queue owned by the session, not by this generator:
        # the login loop stops early, and what arrived in the same chunk as the login
        # response (FullyBooted, the first call's events) must still be delivered.
        while True:
            while self._queue:
                yield self._queue.popleft()
            try:
                data = await self._reader.read(READ_SIZE)
            except (ConnectionError, OSError) as exc:
                raise AmiError(f"AMI connection lost: {exc}") from None
            if self._record is not None:
                self._record.write(data)
            if not data:
                self._tail = self._decoder.pending_bytes
                for item in self._decoder.close():
                    self._note(item)
                return
            for item in self._decoder.feed(data):
                if isinstance(item, Malformed):
                    self._note(item)
                else:
                    self._queue.append(item)

    def _note(self, item: object) -> None:
        if isinstance(item, Malformed):
            self.malformed += 1
            if self.malformed <= 20 or self.malformed % 1000 == 0:   # never a log flood from a hostile peer
                log.warning("skipped malformed AMI frame at byte %d: %s (%d so far)", item.offset,
                            scrub(item.reason), self.malformed)

    def close(self) -> None:
        """Close the socket (idempotent); a recording of the session ends with its last complete frame."""
        if self._record is not None:
            record, self._record = self._record, None
            record.end(self._decoder.pending_bytes if self._tail is None else self._tail)
        try:
            self._writer.close()
        except Exception:  # closing a broken transport may raise; it is closed either way
            pass
