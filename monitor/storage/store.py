"""The Store: saves finished calls with their verdicts, idempotently, and reads them back.

``Store.open(url)`` creates or migrates the schema (``schema.py``) on SQLite or
PostgreSQL. Saving a call whose ``linkedid`` is already stored replaces it whole
(children, report facts) in one transaction, unless the stored copy knows more
(core/keep.py), so replaying a stream twice (or a restart re-sending a call)
stores each call once. Every call row has its ``call_facts`` row (facts.py),
written and deleted with it, and ``set_verdict`` keeps the facts' verdict columns.
Reading streams chunks so a month of calls never sits in memory at once.

``Store`` is the public face; its methods live by concern: saving calls
(``writing.py``), verdicts that change later and pending R8 (``verdicts.py``),
reading back (``reading.py``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from ..core.judged import JudgedCall
from .failures import StorageUnavailable
from .reading import CallReader
from .schema import MIGRATIONS, HalfMigrated, migrate, sqlite_pragmas
from .verdicts import VerdictUpdates
from .writing import CallWriter
from ..errors import TelmonError

__all__ = ["MIGRATIONS", "StorageError", "Store", "StoredCall", "StorageUnavailable"]

log = logging.getLogger(__name__)


class StorageError(TelmonError, RuntimeError):
    """The database cannot be used; the message names it (password masked)."""


StoredCall = JudgedCall   # a call read back from the database: the same type as a finished one


class Store(CallWriter, VerdictUpdates, CallReader):
    """Calls and verdicts in a SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dead_letters = 0    # calls dead-lettered by this process (a metric)

    @staticmethod
    def display_url(url: str) -> str:
        """The URL as it may be shown: any password replaced by ***."""
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparseable database URL>"

    @classmethod
    def open(cls, url: str, **engine_kwargs: Any) -> "Store":
        """Connect, create or migrate the schema to the newest revision, and return the store."""
        shown = cls.display_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StorageError(f"not a database URL: {shown}") from None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            try:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o750)
            except OSError as exc:
                raise StorageError(f"cannot create the directory of database {shown}: {exc.strerror or exc}") from None
            _private(Path(parsed.database).expanduser())
        try:
            engine = create_engine(url, **engine_kwargs)
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise StorageError(f"cannot use database {shown}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", sqlite_pragmas)
        store = cls(engine)
        try:
            store.migrate()
        except HalfMigrated as exc:
            engine.dispose()
            raise StorageError(f"cannot open database {shown}: {exc}") from None
        except DBAPIError as exc:
            # Not only OperationalError (unreachable server, unknown database): a SQLite
            # file that is not a database raises DatabaseError, a role without CREATE
            # rights ProgrammingError. All of them mean "this URL cannot be used".
            engine.dispose()
            raise StorageError(f"cannot open database {shown}: {_reason(exc, parsed.password)}") from None
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``schema.migrate``: all or nothing, safe when
        several processes start at once; no Alembic import when the database is already there)."""
        migrate(self.engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def _private(db: Path) -> None:
    """A SQLite file (and its WAL) made by an older telmon readable by every local user: owner and group only."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        try:
            mode = path.stat().st_mode & 0o777
            if mode & 0o007:
                path.chmod(mode & 0o770)
                log.warning("%s was readable by every local user (mode %o): now %o", path, mode, mode & 0o770)
        except OSError:
            pass   # absent (a new database), or not ours to change: SQLite will say if it cannot open it


def _reason(exc: DBAPIError, password: Optional[str]) -> str:
    """The driver's first line of complaint, with the password blanked should it echo it."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return line.replace(password, "***") if password else line
