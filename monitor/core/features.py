"""Queue, hold and transfer events: the tracker's handlers for call features.

Split from ``tracker.py`` (whose docstring explains the model) to keep each
module readable; :class:`FeatureHandlers` is mixed into the tracker and uses its
channel and call tables.
"""
from __future__ import annotations

from typing import Mapping, Optional

from .calls import Chan, LiveCall
from .record import LEG_TRANSFER, Hold, Transfer

Event = Mapping[str, str]


class FeatureHandlers:
    """Handlers for QueueCaller*, Hold/Unhold, MusicOnHold* and *Transfer events."""

    channels: dict[str, Chan]
    calls: dict[str, LiveCall]

    def _chan(self, event: Event, key: str = "Uniqueid") -> Optional[Chan]:
        raise NotImplementedError  # provided by Tracker

    # -- queues ---------------------------------------------------------------------
    def _queue_join(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        call = chan.call
        if call.queue_joined_at is None:
            call.queue, call.queue_joined_at = e.get("Queue"), ts
        elif call.queue_left_at is not None and not call.transfers:
            call.queue_left_at = None  # rejoined (e.g. after a timeout loop in the dialplan)
        return call

    def _queue_leave(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        if chan.call.queue_joined_at is not None and chan.call.queue_left_at is None:
            chan.call.queue_left_at = ts
        return chan.call

    def _queue_abandon(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        chan.call.queue_abandoned = True
        if chan.call.queue_left_at is None:
            chan.call.queue_left_at = ts
        return chan.call

    # -- hold -----------------------------------------------------------------------
    def _hold(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        call = chan.call
        # The caller holding the employee is not the caller waiting.
        if chan is not call.origin and chan.uniqueid not in call.open_holds:
            hold = Hold(by=chan.extension, start=ts)
            call.open_holds[chan.uniqueid] = hold
            call.holds.append(hold)
        return call

    def _unhold(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        hold = chan.call.open_holds.pop(chan.uniqueid, None)
        if hold is not None:
            hold.end = ts
        return chan.call

    def _moh_start(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        call = chan.call
        if chan is call.origin and not call.in_queue:
            call.moh.append((ts, None))
        return call

    def _moh_stop(self, e: Event, ts: float) -> Optional[LiveCall]:
        chan = self._chan(e)
        if chan is None:
            return None
        call = chan.call
        if call.moh and call.moh[-1][1] is None:
            call.moh[-1] = (call.moh[-1][0], ts)
        return call

    # -- transfers ------------------------------------------------------------------
    def _blind_transfer(self, e: Event, ts: float) -> Optional[LiveCall]:
        if e.get("Result", "Success") != "Success":
            return None
        chan = self._chan(e, "TransfereeUniqueid") or self._chan(e, "TransfererUniqueid")
        if chan is None:
            return None
        by = self.channels.get(e.get("TransfererUniqueid", ""))
        last = chan.call.transfers[-1] if chan.call.transfers else None
        if last is not None and last.kind == "park" and last.target is None and abs(ts - last.at) < 1.0:
            # ParkedCall can arrive before the BlindTransfer that parked the caller: one transfer.
            last.by = by.extension if by else last.by
            last.to = e.get("Extension", "") or last.to
            return chan.call
        chan.call.transfers.append(Transfer("blind", by.extension if by else e.get("TransfererCallerIDNum", ""),
                                            e.get("Extension", ""), ts))
        return chan.call

    def _attended_transfer(self, e: Event, ts: float) -> Optional[LiveCall]:
        if e.get("Result", "Success") != "Success":
            return None
        transferee = self._chan(e, "TransfereeUniqueid")
        if transferee is None:
            return None
        call = transferee.call
        for key in ("SecondTransfererUniqueid", "TransferTargetUniqueid"):
            other = self.channels.get(e.get(key, ""))
            if other is not None and other.call is not call:
                self._merge(call, other.call)
        by = self.channels.get(e.get("OrigTransfererUniqueid", ""))
        target = self.channels.get(e.get("TransferTargetUniqueid", ""))
        if target is not None and target.offer is not None:
            target.offer.leg = LEG_TRANSFER   # dialled on a consultation leg (or a DTMF atxfer's Local channel)
        transfer = Transfer("attended", by.extension if by else e.get("OrigTransfererCallerIDNum", ""),
                            target.extension if target else e.get("TransferTargetCallerIDNum", ""), ts,
                            target.offer if target else None)
        call.transfers.append(transfer)
        return call

    def _merge(self, into: LiveCall, other: LiveCall) -> None:
        """Fold a consultation call into the caller's call; its offers become transfer legs."""
        for key in [k for k, c in self.calls.items() if c is other]:
            self.calls[key] = into
        for uid, chan in other.channels.items():
            chan.call = into
            into.channels[uid] = chan
        into.live |= other.live
        for offer in other.offers:
            offer.leg = LEG_TRANSFER
        into.offers.extend(other.offers)
        into.holds.extend(other.holds)
        into.open_holds.update(other.open_holds)
        into.last_ts = max(into.last_ts, other.last_ts)
