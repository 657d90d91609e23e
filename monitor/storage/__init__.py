"""Storage adapter: SQLAlchemy models, Alembic migrations and the :class:`Store`."""
