"""Why a database write failed: the database is away for now, or it refuses this call for good.

*Transient*: the connection is gone, the file is locked, the disk is full. The
same write will succeed later: hold the calls, back off, try again (one log
line and one count per outage, not one per attempt).

*Permanent*: a constraint or a value the database will never accept (a NULL
where one is not allowed, a text too long, a number out of range). Retrying is
useless and, worse, blocks every call queued behind it: the batch is written
call by call, each refused call is fitted (core/limits.py) and tried once more,
then dead-lettered with the reason.

Messages never carry the driver's echo of the row (SQLAlchemy appends the
parameters, caller numbers included): only the driver's first line, scrubbed.
"""
from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from ..core.masking import scrub
from ..errors import TelmonError


class StorageUnavailable(TelmonError, RuntimeError):
    """The database cannot be written now (connection, lock, disk full); the calls are kept."""


# Words of OperationalError texts that name a refused row rather than an unavailable database.
_ROW_PROBLEMS = ("constraint", "datatype mismatch", "too long", "out of range", "invalid input")


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same write later can succeed."""
    if isinstance(exc, StorageUnavailable):
        return True
    if isinstance(exc, (IntegrityError, DataError)):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return not any(w in reason(exc).lower() for w in _ROW_PROBLEMS)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError):   # ENOSPC, EIO from the driver or the file system
        return True
    return False


def reason(exc: BaseException) -> str:
    """The driver's first line of complaint, with anything that looks like a phone number masked."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(orig).strip()
    line = text.splitlines()[0] if text else type(orig).__name__
    return scrub(line[:300])
