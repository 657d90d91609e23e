"""The stream's clock, guarded: one poisoned timestamp is a malformed event, never the new time.

The tracker's time is the ``Timestamp`` of the events. One flipped bit
(``1795…`` → ``9795…``) or an ``inf`` used to become the clock: every pending
R8 verdict failed at once, stale-call expiry stopped (``inf − inf``) and the
live waits showed ``+Inf``. :class:`ClockGuard` admits an event's time when it is

* a finite number within [1970, 2100), and
* within ``max_skew`` seconds of the stream's clock (or vouched for by a
  trusted wall clock: the live listener passes its own), or
* confirmed: a time far from the clock is held back with its event until
  ``confirm`` more events agree with it (a real jump: the first call after a
  quiet night, a recording that starts later). If instead an event near the
  clock comes first, the held ones were outliers and are rejected.

Held events are released in order, so a real jump loses nothing; it only waits
for the next events. Pure: no I/O, no clock of its own.
"""
from __future__ import annotations

import math
from typing import Any, Optional

EARLIEST = 0.0            # 1970 (tests and old recordings use small times; the skew check does the rest)
LATEST = 4102444800.0     # 2100-01-01
MAX_SKEW = 600.0          # seconds an event may lie from the clock without confirmation
CONFIRM = 2               # further agreeing events that confirm a jump


class ClockGuard:
    """Decides which event times may move the stream's clock (see the module docstring)."""

    def __init__(self, max_skew: float = MAX_SKEW, confirm: int = CONFIRM) -> None:
        self.max_skew = max_skew
        self.confirm = confirm
        self.held: list[tuple[Any, float]] = []

    def offer(self, event: Any, ts: float, clock: float, wall: Optional[float] = None
              ) -> tuple[list[tuple[Any, float]], list[tuple[Any, float, str]]]:
        """``(ready, rejected)``: events to apply now, in order, and events rejected with the reason."""
        if not math.isfinite(ts) or not EARLIEST <= ts < LATEST:
            return [], [(event, ts, f"timestamp {ts!r} is not a time of this century")]
        near_clock = clock == 0.0 or abs(ts - clock) <= self.max_skew
        vouched = wall is not None and abs(ts - wall) <= self.max_skew
        if not self.held:
            if near_clock or vouched:
                return [(event, ts)], []
            self.held.append((event, ts))
            return [], []
        first = self.held[0][1]
        if abs(ts - first) <= self.max_skew:       # agrees with what is held
            self.held.append((event, ts))
            if len(self.held) > self.confirm or vouched:
                ready, self.held = self.held, []
                return ready, []
            return [], []
        rejected = [(e, t, f"timestamp {t:.6f} is {t - clock:+.0f} s from the stream's clock and no later "
                           f"event agreed") for e, t in self.held]
        self.held = []
        if near_clock or vouched:
            return [(event, ts)], rejected
        self.held.append((event, ts))               # far from both: a new candidate
        return [], rejected


def duration_seconds(duration: Optional[str]) -> float:
    """``CoreShowChannel``'s ``Duration`` (``HH:MM:SS``, or plain seconds) in seconds; 0 when unreadable."""
    try:
        parts = [float(p) for p in (duration or "").split(":")]
    except ValueError:
        return 0.0
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total if math.isfinite(total) and total >= 0 else 0.0


def header_time(text: Optional[str]) -> float:
    """A ``Timestamp`` header as a finite time, else 0."""
    try:
        value = float(text or "")
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0
