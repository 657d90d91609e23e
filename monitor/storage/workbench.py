"""Tables of the workbench (``telmon web``): accounts, the audit trail, retained recordings, the cookie key.

Kept apart from ``models.py`` (the call tables) because they hold people's
accounts and what they looked at, not calls. Created by migration
``0003_workbench``. ``audit_log`` is append-only for the application: the
migration installs triggers (SQLite and PostgreSQL) that refuse UPDATE and
DELETE, so not even a bug in telmon can rewrite who saw what.
"""
from __future__ import annotations

from typing import Optional, cast

from sqlalchemy import BigInteger, Boolean, Double, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, CallRow

ROLES = ("admin", "compliance", "supervisor", "reviewer")


class UserRow(Base):
    """A person who may log in to the workbench."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    departments: Mapped[str] = mapped_column(Text, default="[]")   # JSON list: a supervisor's departments
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Double)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[float]] = mapped_column(Double)
    # Bumped on logout, password change and disabling: every cookie signed with an older value is void.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class AuditRow(Base):
    """Who did what, when, from where (and why, when a reason is required)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Double)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("ix_audit_log_at", "at"),)


class RecordingRow(Base):
    """A greeting recording kept for a review, and until when (``monitor/storage/recordings.py``)."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255), index=True)    # the file's name in the spool
    path: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    result: Mapped[str] = mapped_column(String(16))
    stored_at: Mapped[float] = mapped_column(Double)
    reviewed_at: Mapped[Optional[float]] = mapped_column(Double)
    deleted_at: Mapped[Optional[float]] = mapped_column(Double)
    __table_args__ = (UniqueConstraint("linkedid", "rule", name="uq_recordings_call_rule"),
                      Index("ix_recordings_live", "deleted_at", "result"))


class SecretRow(Base):
    """Keys telmon makes itself (the cookie signing key), so every ``telmon web`` process shares them."""

    __tablename__ = "web_secrets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# The call search of ``telmon web``: by person, and by direction, within a period (started_at).
Index("ix_calls_answered_by_started", CallRow.answered_by, CallRow.started_at)
Index("ix_calls_direction_started", CallRow.direction, CallRow.started_at)

# The tables as Core ``Table`` objects (typed: ``__table__`` is declared as a FromClause).
USERS = cast(Table, UserRow.__table__)
AUDIT = cast(Table, AuditRow.__table__)
RECORDINGS = cast(Table, RecordingRow.__table__)
SECRETS = cast(Table, SecretRow.__table__)
