"""Office features around a call: pickup, voicemail, park and conferences.

Split from ``tracker.py`` (whose docstring explains the model); :class:`OfficeHandlers`
is mixed into the tracker and uses its channel and call tables. What Asterisk 22
shows for each (captured on the real PBX, ``tests/pbxlab``):

* **Pickup** (``*8`` group pickup, ``PickupChan`` directed pickup): the colleague's
  phone makes its own call (own ``Linkedid``) and answers nothing; ``Pickup``
  (``Uniqueid`` = the colleague, ``TargetUniqueid`` = the ringing phone) joins them.
  The caller's ``DialEnd ANSWER`` names the colleague's channel and may come before
  or after ``Pickup``. The colleague's channel becomes an answered offer whose
  ringing is the rung phone's (the caller heard one ring-back throughout); the rung
  phone's offer stops ringing, unanswered.
* **Voicemail**: ``Newexten`` with ``Application: VoiceMail`` on the caller's channel
  (the mailbox in ``AppData``); ``MessageWaiting`` on that channel when a message was
  left is the fallback when ``Newexten`` is filtered out.
* **Park** (blind transfer to the park extension): ``BlindTransfer`` to ``700``, then
  ``ParkedCall`` (``ParkeeUniqueid``, ``ParkingSpace``); a retrieval is
  ``UnParkedCall`` with the ``RetrieverUniqueid`` (its own call until then); after
  the parking time ``ParkedCallTimeOut`` and the parked caller dials the parker back
  (an ordinary ``DialBegin`` on the caller's channel); ``ParkedCallGiveUp`` when the
  caller hangs up. Music on hold while parked is the park, not a hold.
* **ConfBridge**: ``ConfbridgeJoin``/``ConfbridgeLeave`` (so spelled) per channel and room. A
  caller sent into a room by a blind transfer waits there until a person from
  another call is in the room with them.
"""
from __future__ import annotations

from typing import Mapping, Optional

from .calls import Chan, LiveCall
from .channels import number_from_dialstring
from .dialing import answer, stop_ringing
from .record import LEG_DIRECT, LEG_TRANSFER, Offer, Transfer

Event = Mapping[str, str]


class OfficeHandlers:
    """Handlers for Pickup, VoiceMail, Park* and Confbridge* events."""

    channels: dict[str, Chan]
    calls: dict[str, LiveCall]
    rooms: dict[str, dict[str, Chan]]

    def _chan(self, event: Event, key: str = "Uniqueid") -> Optional[Chan]:
        raise NotImplementedError  # provided by Tracker

    def _merge(self, into: LiveCall, other: LiveCall) -> None:
        raise NotImplementedError  # provided by FeatureHandlers

    def _join(self, call: LiveCall, chan: Chan) -> None:
        """Fold the call ``chan`` made on its own (pickup, retrieval) into ``call``."""
        if chan.call is not call:
            self._merge(call, chan.call)

    # -- pickup ---------------------------------------------------------------------
    def _pickup(self, e: Event, ts: float) -> Optional[LiveCall]:
        picker, rung = self._chan(e), self._chan(e, "TargetUniqueid")
        if picker is None or rung is None:
            return None
        call = rung.call
        self._join(call, picker)
        picked = rung.offer
        offer = Offer(picker.extension, picker.name, picker.uniqueid, picked.leg if picked else LEG_DIRECT, ts,
                      status="PICKUP")
        # The caller heard ring-back from the rung phone's first ring until the colleague took the call.
        offer.ring_start = picked.ring_start if picked and picked.ring_start is not None else ts
        answer(offer, ts)
        picker.offer = offer
        call.offers.append(offer)
        if picked is not None:
            stop_ringing(picked, ts)
            picked.status = picked.status or "PICKEDUP"
            for t in call.transfers:
                if t.target is picked:
                    t.target = offer   # a transfer target's ringing picked up by a colleague reached a person
        return call

    # -- voicemail ------------------------------------------------------------------
    def _newexten(self, e: Event, ts: float) -> Optional[LiveCall]:
        if e.get("Application") != "VoiceMail":
            return None   # only VoiceMail matters; every other dialplan step is noise here
        chan = self._chan(e)
        if chan is None:
            return None
        mailbox = e.get("AppData", "").split(",", 1)[0].split("@", 1)[0].split("&", 1)[0]
        self._voicemail(chan, mailbox, ts)
        return chan.call

    def _message_waiting(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self.channels.get(e.get("Uniqueid", ""))
        if chan is None:
            return None   # a mailbox changing for no call of ours (messages listened to, deleted)
        self._voicemail(chan, e.get("Mailbox", "").split("@", 1)[0], ts)
        return chan.call

    def _voicemail(self, chan: Chan, mailbox: str, ts: float) -> None:
        call = chan.call
        if chan is not call.origin or call.voicemail_at is not None:
            return
        call.voicemail_at, call.voicemail_box = ts, mailbox
        pending = call.pending_transfer(ts)
        if pending is not None:
            pending.kind = "voicemail"

    # -- park -----------------------------------------------------------------------
    def _parked(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e, "ParkeeUniqueid")
        if chan is None:
            return None
        call = chan.call
        space = e.get("ParkingSpace", "")
        pending = call.pending_transfer(ts)
        if pending is not None:
            pending.kind = "park"
        else:   # parked before the BlindTransfer arrived, or by a DTMF feature / Park(): the space for now
            by = number_from_dialstring(e.get("ParkerDialString", "")) or e.get("ParkerDialString", "")
            call.transfers.append(Transfer("park", by, space, ts))
        return call

    def _unparked(self, e: Event, ts: float) -> Optional[LiveCall]:
        parkee, retriever = self._chan(e, "ParkeeUniqueid"), self._chan(e, "RetrieverUniqueid")
        if parkee is None or retriever is None:
            return None
        call = parkee.call
        self._join(call, retriever)
        park = next((t for t in reversed(call.transfers) if t.kind == "park" and t.target is None), None)
        offer = Offer(retriever.extension, retriever.name, retriever.uniqueid, LEG_TRANSFER, ts, status="UNPARK")
        answer(offer, ts)
        retriever.offer = offer
        call.offers.append(offer)
        if park is not None:
            park.target = offer
        return call

    def _park_gone(self, e: Event, ts: float) -> Optional[LiveCall]:
        # ParkedCallTimeOut (the parker is rung again: a DialBegin follows) and
        # ParkedCallGiveUp (the caller hung up) need nothing beyond their channel's events.
        chan = self._chan(e, "ParkeeUniqueid")
        return chan.call if chan is not None else None

    # -- conferences ----------------------------------------------------------------
    def _conf_join(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        room = e.get("Conference", "")
        call = chan.call
        if chan is call.origin and call.conference is None:
            call.conference, call.conference_at = room, ts
            pending = call.pending_transfer(ts)
            if pending is not None:
                pending.kind = "conference"
        members = self.rooms.setdefault(room, {})
        for other in list(members.values()):
            self._met(other, chan, ts)
            self._met(chan, other, ts)
        members[chan.uniqueid] = chan
        return call

    def _met(self, waiting: Chan, person: Chan, ts: float) -> None:
        """``person`` is in the room with ``waiting``: a caller sent there has reached someone."""
        call = waiting.call
        if waiting is not call.origin or person.trunk or person.call is call:
            return
        transfer = next((t for t in call.transfers if t.kind == "conference" and t.target is None), None)
        if transfer is None:
            return
        offer = Offer(person.extension, person.name, person.uniqueid, LEG_TRANSFER, ts, status="CONFERENCE")
        answer(offer, ts)
        call.offers.append(offer)
        transfer.target = offer

    def _conf_leave(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        self.rooms.get(e.get("Conference", ""), {}).pop(chan.uniqueid, None)
        return chan.call

    def _leave_rooms(self, chan: Chan) -> None:
        """A hung-up channel is in no room any more (ConfBridgeLeave may be filtered out)."""
        for room in [r for r, members in self.rooms.items() if members.pop(chan.uniqueid, None) is not None]:
            if not self.rooms[room]:
                del self.rooms[room]
