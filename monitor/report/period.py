"""The report's month: ``2026-11`` in the foundation's local time, as epoch-second bounds."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import TelmonError

DEFAULT_TZ = "Asia/Seoul"


class ReportError(TelmonError, ValueError):
    """A report cannot be made as asked (bad month, unknown department, missing tool); the message says why."""


@dataclass(frozen=True)
class Month:
    """One calendar month in a time zone."""

    year: int
    month: int
    tz: ZoneInfo

    @property
    def label(self) -> str:
        """``2026-11``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> dt.datetime:
        """Midnight of the 1st, local time."""
        return dt.datetime(self.year, self.month, 1, tzinfo=self.tz)

    @property
    def end(self) -> dt.datetime:
        """Midnight of the 1st of the next month, local time (exclusive)."""
        y, m = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return dt.datetime(y, m, 1, tzinfo=self.tz)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(since, until)`` epoch seconds, until exclusive, as ``Store.load_calls`` takes them."""
        return self.start.timestamp(), self.end.timestamp()

    def days(self) -> list[dt.date]:
        """Every day of the month."""
        first = self.start.date()
        return [first + dt.timedelta(days=i) for i in range((self.end.date() - first).days)]

    def local(self, ts: float) -> dt.datetime:
        """An epoch time as local wall-clock time."""
        return dt.datetime.fromtimestamp(ts, self.tz)


def parse_month(text: str, tz_name: str = DEFAULT_TZ) -> Month:
    """``YYYY-MM`` (month 01-12) in the named IANA time zone; anything else is a :class:`ReportError`."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (text or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ReportError(f"--month {text!r}: give a month as YYYY-MM, e.g. 2026-11")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(f"--timezone {tz_name!r}: not an IANA time zone (e.g. Asia/Seoul)") from None
    return Month(int(m.group(1)), int(m.group(2)), tz)
