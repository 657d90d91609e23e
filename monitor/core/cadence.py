"""Ring cadence: turns measured ringing seconds into a count of rings.

The charter counts rings ("before the 3rd ring"), but a PBX reports only when a
phone started and stopped alerting. A ring is one on+off cycle of the country's
ring-back cadence (Asterisk ``indications.conf``); the first ring starts at once,
so ``rings = floor(seconds / cycle) + 1`` for any ringing at all, and 0 for none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Cadence:
    """A ring-back cadence: seconds of tone, then seconds of silence."""

    on: float = 1.0   # Korea (kr): 1 s on
    off: float = 2.0  # ... 2 s off

    def __post_init__(self) -> None:
        if self.on <= 0 or self.off < 0:
            raise ValueError(f"ring cadence needs on > 0 and off >= 0, got on={self.on} off={self.off}")

    @property
    def cycle(self) -> float:
        """Seconds of one full ring (tone plus pause)."""
        return self.on + self.off

    def rings(self, ring_seconds: float | None) -> int:
        """Number of rings heard in ``ring_seconds`` of alerting (0 when it never rang)."""
        if ring_seconds is None or ring_seconds <= 0:
            return 0
        # A tiny epsilon keeps 5.9999999 (float noise) from being read as 6.0 and vice versa
        # only where the clock really says so: timestamps are microseconds.
        return int(math.floor(ring_seconds / self.cycle + 1e-9)) + 1


KOREA = Cadence(1.0, 2.0)
NORTH_AMERICA = Cadence(2.0, 4.0)
