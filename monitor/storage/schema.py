"""The database schema's migrations, run from code (``Store.open``): all or nothing, raced, and cheap at head.

A database already at the newest revision is recognised without Alembic: the newest
revision is read from the scripts' text and compared with ``alembic_version`` (one
select), so the commands that only read (``telmon report``, ``telmon calls``) do not
pay for importing Alembic (~0.3 s of a 100 k-call report's 2 s).

Otherwise Alembic runs the revisions on one connection in one transaction.
PostgreSQL's DDL is transactional; SQLite's is too, but pysqlite used to run each
CREATE in autocommit, so ``kill -9`` during the first migration left some tables and
no ``alembic_version``, and every later start failed with "table calls already
exists". Here SQLite's migration runs inside ``BEGIN IMMEDIATE`` (one writer, the
others wait), so a killed migration leaves the file as it was.

A database left half-created by an older telmon (telmon's tables, no version) is
repaired when those tables are empty, with a log line; when they hold rows the error
says what to do. Several processes starting at once (``telmon run`` creating a fresh
database while ``telmon calls`` opens it) take turns: PostgreSQL with an advisory
lock, SQLite with the write lock; one that lost the race ("already exists", "database
is locked") is retried until the winner's revision is there.
"""
from __future__ import annotations

import ast
import logging
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..errors import TelmonError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE_ATTEMPTS = 20        # a racing migration is retried for up to ~20 s (0.1 s, 0.2 s, ...)
MIGRATE_LOCK = 0x74656C6D    # "telm": the PostgreSQL advisory lock key migrations take turns on
# Every table the migrations create, those that point at others first (the order a repair drops them).
TABLES = ("call_facts", "wait_stretches", "holds", "transfers", "offers", "verdicts", "recordings",
          "audit_log", "users", "web_secrets", "dead_letters", "calls")


class HalfMigrated(TelmonError, RuntimeError):
    """telmon's tables exist with rows in them but no schema version: not repaired automatically."""


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings (they are not stored in the file, except WAL)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")   # readers (telmon calls, reports) don't block the monitor
    cur.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (see the module docstring)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(MIGRATE_ATTEMPTS):
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")   # the DDL below commits together or not at all
                else:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
                _repair(conn)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            return
        except DBAPIError as exc:
            # "database is locked": another process holds the write lock beyond the busy timeout.
            lost_race = any(m in str(exc.orig) for m in ("already exists", "database is locked"))
            if not lost_race or attempt == MIGRATE_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def _repair(conn: Connection) -> None:
    """Drop the empty tables of a half-created schema (an older telmon killed mid-migration)."""
    names = set(inspect(conn).get_table_names())
    if "alembic_version" in names or "calls" not in names:
        return
    present = [t for t in TABLES if t in names]
    held = sum(int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() or 0) for t in present)
    if held:
        raise HalfMigrated(f"the database has telmon's tables with {held} rows but no schema version "
                           "(alembic_version): it was not created by this telmon; move it aside or restore a backup")
    log.warning("the database was left half-created (tables %s, no schema version): creating it again",
                ", ".join(present))
    for t in present:
        conn.execute(text(f'DROP TABLE "{t}"'))


def at_head(engine: Engine) -> bool:
    """True when the database's Alembic revision is the newest migration script's."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            current = list(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except DBAPIError:
        return False   # no schema yet
    return current == [head]


@lru_cache(maxsize=1)
def head_revision() -> Optional[str]:
    """The newest revision among the migration scripts (read as text); None unless there is one clear head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(re.findall(r"^(revision|down_revision)\s*=\s*(.+?)\s*$", script.read_text(encoding="utf-8"),
                                re.MULTILINE))
        try:
            rev, down = ast.literal_eval(found["revision"]), ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        revisions.add(rev)
        parents.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None
