"""Storage adapter: SQLAlchemy models, Alembic migrations and the :class:`Store`; the workbench's tables."""
from . import workbench  # noqa: F401  (its tables join Base.metadata, which the migrations are checked against)
