"""A fresh store on either backend, for tests: a SQLite file, or a new PostgreSQL schema dropped after."""
from __future__ import annotations

import contextlib
import os
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from monitor.storage.store import Store

PG_URL = os.environ.get("TELMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A new schema on the real PostgreSQL, dropped afterwards; yields its name.

    No skip when the server is unreachable (CI always has it); only ``TELMON_SKIP_PG=1``
    (a user switching the PostgreSQL tests off) skips.
    """
    if os.environ.get("TELMON_SKIP_PG") == "1":
        pytest.skip("TELMON_SKIP_PG=1: PostgreSQL tests switched off by the user")
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pg_schema_url(schema: str) -> str:
    """The test database's URL with ``schema`` as its search path."""
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def add_site_rule(store: Store, backend: str) -> None:
    """A rule of a site's own database that telmon cannot know: a call dialling 'refuse' is refused."""
    with store.engine.begin() as conn:
        if backend == "sqlite":
            conn.exec_driver_sql("CREATE TRIGGER no_x BEFORE INSERT ON calls WHEN NEW.dialed = 'refuse' "
                                 "BEGIN SELECT RAISE(ABORT, 'refused by site rule'); END")
        else:
            conn.exec_driver_sql("ALTER TABLE calls ADD CONSTRAINT no_x CHECK (dialed <> 'refuse')")


@contextlib.contextmanager
def fresh_store(backend: str, tmp_path) -> Iterator[tuple[Store, str, dict]]:
    """``(store, url, engine kwargs)`` on ``backend`` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'calls.db'}"
        s = Store.open(url)
        try:
            yield s, url, {}
        finally:
            s.close()
        return
    with pg_schema("telmon_test") as schema:
        kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}}
        s = Store.open(PG_URL, **kwargs)
        try:
            yield s, PG_URL, kwargs
        finally:
            s.close()
