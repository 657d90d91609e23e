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
    if os.environ.get("TELMON_SKIP_PG") == "1":
        pytest.skip("TELMON_SKIP_PG=1: PostgreSQL tests switched off by the user")
    schema = f"telmon_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}}
    try:
        s = Store.open(PG_URL, **kwargs)
        try:
            yield s, PG_URL, kwargs
        finally:
            s.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
