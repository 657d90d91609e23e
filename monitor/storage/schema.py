"""The database schema's migrations, run from code (``Store.open``): Alembic, made safe for racing starts.

``telmon run`` creating a fresh database while ``telmon calls`` (or a second monitor)
opens it would otherwise race: both see no schema, both create it, one fails with
"table calls already exists". On PostgreSQL an advisory lock makes them take turns;
SQLite runs DDL outside transactions (pysqlite), so a migration that lost the race
("already exists", "database is locked") is retried until the winner's revision is there.

A database already at the newest revision is recognised without Alembic: the newest
revision is read from the scripts' text and compared with ``alembic_version`` (one
select), so the commands that only read (``telmon report``, ``telmon calls``) do not
pay for importing Alembic (~0.3 s of a 100 k-call report's 2 s).
"""
from __future__ import annotations

import ast
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Optional

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE_ATTEMPTS = 20        # a racing migration is retried for up to ~20 s (0.1 s, 0.2 s, ...)
MIGRATE_LOCK = 0x74656C6D    # "telm": the PostgreSQL advisory lock key migrations take turns on


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision, safely when several processes start at once."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(MIGRATE_ATTEMPTS):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return
        except DBAPIError as exc:
            # SQLite: "database is locked" too (switching a new file to WAL, or two
            # writers upgrading their locks at once, fails at once rather than waiting).
            lost_race = any(m in str(exc.orig) for m in ("already exists", "database is locked"))
            if not lost_race or attempt == MIGRATE_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


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
