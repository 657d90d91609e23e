"""Dial events: the tracker's handlers for offers (who was rung, from when, until when).

Split from ``tracker.py`` (whose docstring explains the model: an offer is one
device dialled for the caller, ringing from its own ``Newstate 5`` until it
answers or stops); :class:`DialHandlers` is mixed into the tracker and uses its
channel table.
"""
from __future__ import annotations

from typing import Mapping, Optional

from .calls import Chan, LiveCall
from .channels import number_from_dialstring
from .record import Offer

Event = Mapping[str, str]


class DialHandlers:
    """Handlers for DialBegin, DialState and DialEnd."""

    channels: dict[str, Chan]

    def _chan(self, event: Event, key: str = "Uniqueid") -> Optional[Chan]:
        raise NotImplementedError  # provided by Tracker

    # -- dialling -------------------------------------------------------------------
    def _dialbegin(self, e: Event, ts: float) -> Optional[LiveCall]:
        dest = self._chan(e, "DestUniqueid")
        if dest is None:
            return None
        call = dest.call
        dialstring = e.get("DialString", "")
        if call.first_dialstring is None:
            call.first_dialstring = dialstring
        if dest.parsed.is_local or dest.offer is not None:
            return call
        if dest.trunk:
            extension = number_from_dialstring(dialstring) or e.get("DestConnectedLineNum") or dest.extension
        else:
            extension = dest.extension
        leg, transfer = call.leg_for_new_offer(ts)
        offer = Offer(extension, dest.name, dest.uniqueid, leg, ts, to_trunk=dest.trunk)
        if dest.state == 5:
            offer.ring_start = ts
        dest.offer = offer
        call.offers.append(offer)
        if transfer is not None:
            transfer.target = offer
        return call

    def _dialstate(self, e: Event, ts: float) -> Optional[LiveCall]:
        dest = self._chan(e, "DestUniqueid")
        if dest is None:
            return None
        # Newstate 5 on the callee is the ring start; this is the fallback when a
        # server-side filter dropped Newstate.
        if dest.offer is not None and e.get("DialStatus") == "RINGING" and dest.offer.ring_start is None:
            dest.offer.ring_start = ts
        return dest.call

    def _dialend(self, e: Event, ts: float) -> Optional[LiveCall]:
        dest = self._chan(e, "DestUniqueid")
        if dest is None:
            return None
        offer = dest.offer
        if offer is not None:
            status = e.get("DialStatus", "")
            offer.status = offer.status or status
            if status == "ANSWER":
                if offer.answered_at is None:
                    answer(offer, ts)
            else:
                stop_ringing(offer, ts)
        return dest.call


def answer(offer: Offer, ts: float) -> None:
    """The offer's device picked up at ``ts``."""
    offer.answered_at = ts
    if offer.ring_start is None:
        offer.ring_start = ts   # answered without ringing (auto-answer, intercom)
    if offer.ring_end is None:
        offer.ring_end = ts


def stop_ringing(offer: Offer, ts: float) -> None:
    """The offer's device stopped ringing at ``ts`` (if it was ringing)."""
    if offer.ring_start is not None and offer.ring_end is None:
        offer.ring_end = ts
