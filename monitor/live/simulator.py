"""A simulated PBX: a real TCP server speaking AMI, replaying real Asterisk captures.

It behaves like the Asterisk side of a manager connection as far as telmon
needs: the banner, ``Login`` (refusing a wrong secret as Asterisk does),
``FullyBooted``, ``Ping``, ``Logoff``, ``CoreShowChannels`` (from the channels
alive at this point of the replay), and the recorded events, byte for byte, with
their original timing (optionally sped up). Like a real PBX, calls go on while
a client is disconnected. For failure tests it can drop every client connection
after a given event, or *restart*: send ``Shutdown``, drop everyone, forget the
calls that were up (their remaining events never happen), and go on once a
client has logged in again.

Playback starts when the first client has logged in, so a test or the demo
never misses the first call.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..ami.codec import AmiDecoder, Message, encode_message

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


@dataclass(frozen=True)
class SimOptions:
    """How the simulated PBX plays back."""

    username: str = "telmon"
    secret: str = "telmon"
    speed: float = 1.0              # 1 = real time; 0 = as fast as the socket takes it
    max_gap: float = 2.0            # longest wall-clock pause between events (idle minutes cut short)
    drop_after: Optional[int] = None     # close client connections after this many events
    restart_after: Optional[int] = None  # simulate an Asterisk restart after this many events
    loop: bool = False
    cel_path: Optional[str] = None       # write the CEL events played as cel_custom's CSV, as Asterisk would


@dataclass(frozen=True)
class RecordedEvent:
    """One recorded event: its exact bytes and what the simulator needs to know of it."""

    raw: bytes
    msg: Message
    ts: Optional[float]


def load_events(paths: Iterable[Path]) -> list[RecordedEvent]:
    """The events of recorded streams in time order, without each capture's own login."""
    out: list[RecordedEvent] = []
    for path in paths:
        data = Path(path).read_bytes()
        for item in AmiDecoder().feed(data):
            if not isinstance(item, Message) or item.event in (None, "FullyBooted", "SuccessfulAuth"):
                continue
            end = data.index(b"\r\n\r\n", item.offset) + 4
            try:
                ts: Optional[float] = float(item["Timestamp"])
            except (KeyError, ValueError):
                ts = None
            out.append(RecordedEvent(data[item.offset:end], item, ts))
    out.sort(key=lambda e: e.ts if e.ts is not None else 0.0)   # stable: same-time order kept
    return out


class SimulatedPbx:
    """The server; ``await start()``, then ``await done.wait()`` or ``close()``."""

    def __init__(self, events: list[RecordedEvent], options: SimOptions = SimOptions()) -> None:
        self.events = events
        self.options = options
        self.clients: set[asyncio.StreamWriter] = set()
        self.channels: dict[str, dict[str, str]] = {}   # channels up at this point of the replay
        self.sent = 0
        self.restarts = 0
        self.done = asyncio.Event()
        self._logged_in = asyncio.Event()
        self._dead: set[str] = set()      # uniqueids lost in a simulated restart
        self._created: dict[str, float] = {}   # uniqueid -> Newchannel time
        self._cel = open(options.cel_path, "a", encoding="utf-8") if options.cel_path else None
        first = next((e.ts for e in events if e.ts is not None), 0.0)
        self.now = first or 0.0           # the PBX's clock: the time of the latest event played
        self._server: Optional[asyncio.base_events.Server] = None
        self._player: Optional[asyncio.Task] = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (0 picks a free one)."""
        self._server = await asyncio.start_server(self._client, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._player = asyncio.create_task(self._play())
        return self.port

    async def close(self) -> None:
        """Stop playback and the server, and drop every client."""
        if self._cel is not None:
            self._cel.close()
            self._cel = None
        if self._player:
            self._player.cancel()
        self._drop_all()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        decoder = AmiDecoder()              # clients send no banner; the decoder copes
        logged_in = False
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                for item in decoder.feed(data):
                    if not isinstance(item, Message):
                        continue
                    logged_in = await self._action(item, writer, logged_in)
                    if logged_in is None:
                        return
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass   # the client went away, or the simulator is closing
        finally:
            self.clients.discard(writer)
            writer.close()

    async def _action(self, msg: Message, writer: asyncio.StreamWriter, logged_in: bool) -> Optional[bool]:
        action = msg.get("Action", "").lower()
        aid = {"ActionID": msg["ActionID"]} if "ActionID" in msg else {}
        if action == "login":
            if msg.get("Username") == self.options.username and msg.get("Secret") == self.options.secret:
                writer.write(encode_message({"Response": "Success", **aid, "Message": "Authentication accepted"}))
                uptime = "0" if self.restarts else "5"
                writer.write(encode_message({"Event": "FullyBooted", "Privilege": "system,all",
                                             "Timestamp": f"{self.now:.6f}", "Uptime": uptime,
                                             "LastReload": uptime, "Status": "Fully Booted"}))
                await writer.drain()
                self.clients.add(writer)
                self._logged_in.set()
                return True
            writer.write(encode_message({"Response": "Error", **aid, "Message": "Authentication failed"}))
            await writer.drain()
            return None                     # Asterisk closes the connection after a failed login
        if not logged_in:
            writer.write(encode_message({"Response": "Error", **aid, "Message": "Permission denied"}))
        elif action == "ping":
            writer.write(encode_message({"Response": "Success", **aid, "Ping": "Pong"}))
        elif action == "coreshowchannels":
            writer.write(encode_message({"Response": "Success", **aid, "EventList": "start",
                                         "Message": "Channels will follow"}))
            for uid, chan in self.channels.items():
                # As Asterisk lists them: no Timestamp, the channel's age as Duration (whole seconds).
                age = int(max(0.0, self.now - self._created.get(uid, self.now)))
                duration = f"{age // 3600:02d}:{age % 3600 // 60:02d}:{age % 60:02d}"
                writer.write(encode_message({"Event": "CoreShowChannel", **aid, **chan, "Duration": duration}))
            writer.write(encode_message({"Event": "CoreShowChannelsComplete", **aid, "EventList": "Complete",
                                         "ListItems": str(len(self.channels))}))
        elif action == "logoff":
            writer.write(encode_message({"Response": "Goodbye", **aid, "Message": "Thanks for all the fish."}))
            await writer.drain()
            return None
        else:
            writer.write(encode_message({"Response": "Error", **aid, "Message": "Invalid/unknown command"}))
        await writer.drain()
        return logged_in

    async def _play(self) -> None:
        await self._logged_in.wait()
        while True:
            previous: Optional[float] = None
            for ev in self.events:
                if ev.ts is not None and previous is not None and self.options.speed > 0 and ev.ts > previous:
                    await asyncio.sleep(min((ev.ts - previous) / self.options.speed, self.options.max_gap))
                if ev.ts is not None:
                    previous = ev.ts if previous is None else max(previous, ev.ts)
                if self._lost_in_restart(ev.msg):
                    continue
                self._track(ev.msg)
                if ev.msg.event == "CEL" and self._cel is not None:
                    self._cel.write(cel_csv_line(ev.msg))
                    self._cel.flush()
                await self._broadcast(ev.raw)
                self.sent += 1
                if self.sent == self.options.drop_after:
                    log.info("simulated PBX: dropping connections after event %d", self.sent)
                    self._drop_all()
                if self.sent == self.options.restart_after:
                    await self._restart()
            if not self.options.loop:
                break
        self.done.set()

    async def _broadcast(self, raw: bytes) -> None:
        for writer in list(self.clients):
            try:
                writer.write(raw)
                await writer.drain()
            except (ConnectionError, OSError):
                self.clients.discard(writer)

    def _track(self, msg: Message) -> None:
        uid = msg.get("Uniqueid", "")
        try:
            self.now = max(self.now, float(msg.get("Timestamp", "")))
        except ValueError:
            pass
        if msg.event == "Newchannel":
            self._created[uid] = self.now
            self.channels[uid] = {k: msg.get(k, "") for k in (
                "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "Exten",
                "Context", "Uniqueid", "Linkedid")}
        elif msg.event == "Newstate" and uid in self.channels:
            self.channels[uid]["ChannelState"] = msg.get("ChannelState", "")
        elif msg.event == "Hangup":
            self.channels.pop(uid, None)
            self._created.pop(uid, None)

    def _lost_in_restart(self, msg: Message) -> bool:
        if not self._dead:
            return False
        ids = {msg.get(k) for k in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid",
                                    "TransfereeUniqueid", "TransfererUniqueid")}
        return bool(ids & self._dead)

    async def _restart(self) -> None:
        log.info("simulated PBX: restarting after event %d", self.sent)
        self.restarts += 1
        await self._broadcast(encode_message({"Event": "Shutdown", "Privilege": "system,all",
                                              "Shutdown": "Cleanly", "Restart": "True"}))
        self._dead |= set(self.channels) | {c["Linkedid"] for c in self.channels.values()}
        self.channels.clear()
        for writer in list(self.clients):   # a clean close: the Shutdown event is delivered first
            writer.close()
        self.clients.clear()
        # Asterisk is back once a client has logged in again; calls resume from there.
        self._logged_in.clear()
        await self._logged_in.wait()

    def _drop_all(self) -> None:
        for writer in list(self.clients):
            try:
                writer.transport.abort()
            except Exception:  # already closed
                pass
        self.clients.clear()


# AMI CEL event headers in the column order of cel_custom's sample mapping (monitor/cel_source.FIELDS).
_CEL_HEADERS = ("EventName", "Timestamp", "CallerIDname", "CallerIDnum", "CallerIDani", "CallerIDrdnis",
                "CallerIDdnid", "Exten", "Context", "Channel", "Application", "AppData", "AMAFlags", "AccountCode",
                "UniqueID", "LinkedID", "Peer", "Userfield", "UserDefType", "Extra")


def cel_csv_line(msg: Message) -> str:
    """One AMI ``CEL`` event as the CSV line cel_custom writes (every field quoted, quotes doubled)."""
    return ",".join('"' + msg.get(h, "").replace('"', '""') + '"' for h in _CEL_HEADERS) + "\n"
