"""The month's calls as one flat row each: one range scan of ``call_facts`` by start time.

Why: the write path keeps a facts row per call (``storage/facts.py``): every verdict,
its printed value and evidence, the child scalars, the masked numbers. Reading a month
is then one ``started_at`` range scan with no join (the unmasked numbers, asked for
rarely, join ``calls`` by primary key). The previous flat query joined seven verdict
probes and four subqueries per call (15 s on a SQLite month of 1 M calls).

The row layout (``COLUMNS``) is made for the reader's hot loop: the call sheet's
verdict columns are one slice; every verdict fact the tallies count is one text
(``tally``), the evidence of the failed rules one JSON column (``why``). Fewer
columns matter: reading a column costs the driver a Python object, ~0.1 µs.

Also here: :class:`Clock`, a call's local date and time without building a datetime
per call (the same texts as ``datetime.fromtimestamp(ts, tz).strftime``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterator, NamedTuple, Optional

from sqlalchemy import select

from ..storage.facts import FACTS
from ..storage.models import CallRow
from ..storage.store import Store
from .period import Month

CHUNK = 5000   # rows per fetch

_F = FACTS.c


class FactsRow(NamedTuple):
    """One facts row as :func:`stream_rows` hands it over, read by column name (``row.started_at``).

    The fields are ``call_facts`` columns, in the order they are selected. A named tuple:
    made from the driver's tuple in C, no per-row dict (``Row._mapping`` cost ~1 µs a row).
    """

    linkedid: str
    started_at: float
    direction: str
    caller: str
    dialed: str
    outcome: str
    department: Optional[str]
    person: Optional[str]
    rang: Optional[str]
    ring_secs: Optional[float]
    longest_wait: Optional[float]
    transfers: int
    # Each rule's result and printed value, in CALL_RULES order (tests/test_report_fast.py checks it).
    r1: str
    r1_value: str
    r2: str
    r2_value: str
    r3: str
    r3_value: str
    r4: str
    r4_value: str
    r5: str
    r5_value: str
    r7: str
    r7_value: str
    r8: str
    r8_value: str
    fails: int
    r4_wait: Optional[float]
    lost: int
    tally: str
    why: Optional[str]


COLUMNS: tuple[str, ...] = FactsRow._fields
#: Where the call sheet's verdict columns are (each rule's result and printed value, ``CALL_RULES`` order):
#: ``row[VERDICTS_FROM:VERDICTS_TO]``.
VERDICTS_FROM, VERDICTS_TO = COLUMNS.index("r1"), COLUMNS.index("fails")


def month_query(since: float, until: float, department: Optional[str], unmasked: bool) -> Any:
    """The month's facts rows in ``COLUMNS`` order, by start time (and call id: the same order as
    ``Store.load_calls``, whose call ids the facts share)."""
    cols: list[Any] = [_F[name] for name in COLUMNS]
    frm: Any = FACTS
    if unmasked:
        calls = CallRow.__table__
        frm = FACTS.join(calls, calls.c.id == _F.call_id)
        cols[COLUMNS.index("caller")] = calls.c.caller
        cols[COLUMNS.index("dialed")] = calls.c.dialed
    query = (select(*cols).select_from(frm).where(_F.started_at >= since, _F.started_at < until)
             .order_by(_F.started_at, _F.call_id))
    if department is not None:
        query = query.where(_F.department == department)
    return query


def stream_rows(store: Store, since: float, until: float, department: Optional[str] = None,
                unmasked: bool = False) -> Iterator[list[FactsRow]]:
    """Chunks of the month's facts rows (:class:`FactsRow`), streamed.

    Read with the driver's own cursor (a named, server-side one on PostgreSQL): SQLAlchemy's
    result rows cost ~1 µs a row more (Row objects, per-column processors), a sixth of the
    whole month's reading. The statement is still built and compiled by SQLAlchemy; every
    column is a plain number or text (``r8_never`` comes back as 0/1 on SQLite, which is
    only ever tested for truth).
    """
    with store.engine.connect() as conn:
        compiled = month_query(since, until, department, unmasked).compile(dialect=conn.dialect)
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(params[name] for name in compiled.positiontup or ())
        raw: Any = conn.connection.dbapi_connection
        cursor = raw.cursor(name="telmon_month") if conn.dialect.name == "postgresql" else raw.cursor()
        make = FactsRow._make
        try:
            cursor.execute(compiled.string, params)
            while True:
                rows = cursor.fetchmany(CHUNK)
                if not rows:
                    return
                yield list(map(make, rows))
        finally:
            cursor.close()


class Clock:
    """Local date and time texts of epoch seconds, in a month's time zone.

    The UTC offset is looked up once per hour of epoch time (an hour whose two ends
    disagree, i.e. a daylight-saving change inside it, and a time that rounds up to the
    next second, take the exact ``datetime`` path). Texts come from caches: a date per
    day, a time per second of the day.
    """

    def __init__(self, month: Month) -> None:
        """A clock for ``month``'s time zone, its caches empty."""
        self.month = month
        self._offsets: dict[int, Optional[int]] = {}
        self._dates: dict[int, tuple[str, dt.date]] = {}
        self._times: list[Optional[str]] = [None] * 86400
        self._epoch = dt.date(1970, 1, 1)

    def _offset(self, hour: int) -> Optional[int]:
        local = self.month.local
        first, last = local(hour * 3600.0).utcoffset(), local(hour * 3600.0 + 3599).utcoffset()
        return int(first.total_seconds()) if first == last and first is not None else None

    def split(self, ts: float) -> tuple[int, str, str]:
        """(local day number, ``YYYY-MM-DD``, ``HH:MM:SS``) of an epoch time."""
        s = int(ts)
        hour = s // 3600
        off = self._offsets.get(hour, -1)
        if off == -1:
            off = self._offsets[hour] = self._offset(hour)
        if off is None or ts - s > 0.9999994:
            # datetime rounds to the microsecond, so a time this close to the next second is read as it.
            when = self.month.local(ts)
            local = int(dt.datetime(when.year, when.month, when.day, when.hour, when.minute, when.second,
                                    tzinfo=dt.timezone.utc).timestamp())
        else:
            local = s + off
        day, sec = divmod(local, 86400)
        date = self._dates.get(day)
        if date is None:
            d = self._epoch + dt.timedelta(days=day)
            date = self._dates[day] = (d.strftime("%Y-%m-%d"), d)
        text = self._times[sec]
        if text is None:
            h, rest = divmod(sec, 3600)
            text = self._times[sec] = f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return day, date[0], text

    def date_of(self, day: int) -> dt.date:
        """The local date of a day number :meth:`split` gave."""
        return self._dates[day][1]
