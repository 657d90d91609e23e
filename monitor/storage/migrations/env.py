"""Alembic environment: migrations run on the connection the Store hands over.

telmon runs migrations from code (``Store.open``), never from an ``alembic.ini``
in the working directory, so they work from any directory and from an installed
package. The connection arrives in ``config.attributes["connection"]``.
"""
from __future__ import annotations

from alembic import context

from monitor.storage.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the Store's connection."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("telmon migrations run online only (telmon opens the database itself)")
run_migrations_online()
