"""A channel's life as the tracker sees it: created, renamed, ringing/up, hung up.

Split from ``tracker.py`` (whose docstring explains the model); :class:`ChannelHandlers`
is mixed into the tracker and uses its channel and call tables. A new channel joins
the live call its ``Linkedid`` names, or starts one as its origin (the caller);
``Newstate`` 5/6 on an offered device is its ringing and its answer; ``Hangup`` closes
the channel's offer, holds and conference seats.
"""
from __future__ import annotations

from typing import Mapping, Optional, Protocol

from .calls import Chan, LiveCall
from .channels import is_trunk, parse_channel, phone_extension
from .dialing import answer, stop_ringing

Event = Mapping[str, str]


class _Trunks(Protocol):
    """What the channel handlers read of the tracker's options."""

    @property
    def trunks(self) -> frozenset[str]:
        """Trunk names configured (empty: told apart automatically)."""
        ...


class ChannelHandlers:
    """Handlers for Newchannel, Rename, Newstate, HangupRequest and Hangup."""

    channels: dict[str, Chan]
    calls: dict[str, LiveCall]
    rooms: dict[str, dict[str, Chan]]
    options: _Trunks

    def _chan(self, event: Event, key: str = "Uniqueid") -> Optional[Chan]:
        raise NotImplementedError  # provided by Tracker

    def _leave_rooms(self, chan: Chan) -> None:
        raise NotImplementedError  # provided by OfficeHandlers (before this class in the tracker's bases)

    def _newchannel(self, e: Event, ts: float) -> Optional[LiveCall]:
        uid, linkedid = e["Uniqueid"], e.get("Linkedid") or e["Uniqueid"]
        if uid in self.channels:
            return None
        parsed = parse_channel(e["Channel"])
        cid = e.get("CallerIDNum", "")
        chan = Chan(uid, e["Channel"], parsed, None, ts, int(e.get("ChannelState") or 0),  # type: ignore[arg-type]
                    cid, e.get("Exten", ""), is_trunk(parsed, self.options.trunks),
                    phone_extension(parsed, cid))
        call = self.calls.get(linkedid)
        if call is None:
            call = LiveCall(linkedid, chan, ts, ts, partial=uid != linkedid)
            self.calls[linkedid] = call
        chan.call = call
        call.channels[uid] = chan
        call.live.add(uid)
        self.channels[uid] = chan
        return call

    def _rename(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        chan.name = e.get("Newname", chan.name)
        return chan.call

    def _newstate(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        chan.state = int(e.get("ChannelState") or chan.state)
        offer = chan.offer
        if offer is not None:
            if chan.state == 5 and offer.ring_start is None:
                offer.ring_start = ts
            elif chan.state == 6 and offer.answered_at is None:
                answer(offer, ts)
        elif chan.state == 6 and chan is chan.call.origin and chan.call.pbx_answered_at is None:
            # The caller's own channel answered: by a person (their offer goes Up too) or by
            # the PBX itself (IVR, queue, voicemail). Which one is decided when the call ends.
            chan.call.pbx_answered_at = ts
        return chan.call

    def _hangup_request(self, e: Event, ts: float) -> Optional[LiveCall]:
        # HangupRequest (unlike SoftHangupRequest) comes from the far end: for the
        # origin channel, the caller hung up rather than the dialplan ending the call.
        chan = self._chan(e)
        if chan is None:
            return None
        if not chan.hung_up:
            chan.far_end_hangup = True
        return chan.call

    def _hangup(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None or chan.hung_up:
            return None
        chan.hung_up = True
        try:
            chan.cause = int(e.get("Cause") or 0)
        except ValueError:
            chan.cause = None
        call = chan.call
        call.live.discard(chan.uniqueid)
        if chan.offer is not None:
            stop_ringing(chan.offer, ts)
            if chan.offer.cause is None:
                chan.offer.cause = chan.cause
        if chan is call.origin:
            call.origin_hangup = ts
        call.close_holds(ts, holder=chan.uniqueid)
        if self.rooms:
            self._leave_rooms(chan)
        return call

