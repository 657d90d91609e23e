"""Database tables for finished calls and their verdicts (SQLAlchemy 2, SQLite and PostgreSQL).

One ``calls`` row per call (unique ``linkedid``: replaying a stream twice stores
each call once) with its children in order (``position``). Times are epoch
seconds in double precision: Asterisk timestamps carry microseconds, which a
single-precision float would round to minutes. Only portable column types are
used so the same schema runs on SQLite and PostgreSQL. Text lengths come from
``monitor/core/limits.py``, which fits every record to them before it is stored.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import Boolean, Double, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..core.limits import CHANNEL, ID, KIND, NAME, NUMBER, RESULT, RULE, SOURCE, STATUS


class Base(DeclarativeBase):
    """Declarative base of telmon's tables."""


class CallRow(Base):
    """A finished call."""

    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(ID), unique=True)
    direction: Mapped[str] = mapped_column(String(KIND))
    caller: Mapped[str] = mapped_column(String(NUMBER))
    dialed: Mapped[str] = mapped_column(String(NUMBER))
    outcome: Mapped[str] = mapped_column(String(KIND))
    started_at: Mapped[float] = mapped_column(Double)
    ended_at: Mapped[float] = mapped_column(Double)
    answered_by: Mapped[Optional[str]] = mapped_column(String(NUMBER))
    answered_at: Mapped[Optional[float]] = mapped_column(Double)
    remote_number: Mapped[Optional[str]] = mapped_column(String(NUMBER))
    queue: Mapped[Optional[str]] = mapped_column(String(NAME))
    queue_joined_at: Mapped[Optional[float]] = mapped_column(Double)
    queue_left_at: Mapped[Optional[float]] = mapped_column(Double)
    hangup_cause: Mapped[Optional[int]] = mapped_column(Integer)
    incomplete_reason: Mapped[Optional[str]] = mapped_column(Text)
    department: Mapped[Optional[str]] = mapped_column(String(NAME))
    uniqueids: Mapped[str] = mapped_column(Text, default="[]")   # JSON list
    source: Mapped[str] = mapped_column(String(SOURCE), default="ami")   # "ami" or "cel" (recovered)
    flags: Mapped[Optional[str]] = mapped_column(Text)   # JSON list: what was fitted or is not known

    offers: Mapped[list["OfferRow"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="OfferRow.position", passive_deletes=True)
    transfers: Mapped[list["TransferRow"]] = relationship(
        cascade="all, delete-orphan", order_by="TransferRow.position", passive_deletes=True)
    holds: Mapped[list["HoldRow"]] = relationship(
        cascade="all, delete-orphan", order_by="HoldRow.position", passive_deletes=True)
    waits: Mapped[list["WaitRow"]] = relationship(
        cascade="all, delete-orphan", order_by="WaitRow.position", passive_deletes=True)
    verdicts: Mapped[list["VerdictRow"]] = relationship(
        cascade="all, delete-orphan", order_by="VerdictRow.rule", passive_deletes=True)

    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_department_started", "department", "started_at"),
        Index("ix_calls_outcome", "outcome"),
    )


def _call_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)


class OfferRow(Base):
    """A phone or trunk dialled for the caller."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = _call_fk()
    position: Mapped[int] = mapped_column(Integer)
    extension: Mapped[str] = mapped_column(String(NUMBER))
    channel: Mapped[str] = mapped_column(String(CHANNEL))
    uniqueid: Mapped[str] = mapped_column(String(ID))
    leg: Mapped[str] = mapped_column(String(KIND))
    dial_start: Mapped[float] = mapped_column(Double)
    ring_start: Mapped[Optional[float]] = mapped_column(Double)
    ring_end: Mapped[Optional[float]] = mapped_column(Double)
    answered_at: Mapped[Optional[float]] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(STATUS), default="")
    cause: Mapped[Optional[int]] = mapped_column(Integer)
    to_trunk: Mapped[bool] = mapped_column(Boolean, default=False)
    call: Mapped[CallRow] = relationship(back_populates="offers")


class TransferRow(Base):
    """A blind or attended transfer; ``target_position`` points into the call's offers."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = _call_fk()
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(KIND))
    by_party: Mapped[str] = mapped_column(String(NUMBER))
    to_party: Mapped[str] = mapped_column(String(NUMBER))
    at: Mapped[float] = mapped_column(Double)
    target_position: Mapped[Optional[int]] = mapped_column(Integer)


class HoldRow(Base):
    """The caller on hold."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = _call_fk()
    position: Mapped[int] = mapped_column(Integer)
    by_party: Mapped[str] = mapped_column(String(NUMBER))
    started_at: Mapped[float] = mapped_column(Double)
    ended_at: Mapped[Optional[float]] = mapped_column(Double)


class WaitRow(Base):
    """A stretch in which the caller was not talking to a person."""

    __tablename__ = "wait_stretches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = _call_fk()
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(KIND))
    started_at: Mapped[float] = mapped_column(Double)
    ended_at: Mapped[float] = mapped_column(Double)


class VerdictRow(Base):
    """One rule's verdict on one call; ``value`` is JSON so int, float, text and null round-trip."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = _call_fk()
    rule: Mapped[str] = mapped_column(String(RULE))
    result: Mapped[str] = mapped_column(String(RESULT))
    value: Mapped[str] = mapped_column(Text, default="null")
    detail: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("call_id", "rule", name="uq_verdicts_call_rule"),
                      Index("ix_verdicts_rule_result", "rule", "result"))


class CallFactsRow(Base):
    """What the monthly report reads about one call, in one row (``facts.py``; kept by ``Store``).

    Derived from the call and its verdicts when they are written; never the source of
    truth (``rebuild.build_missing`` can rebuild any of it). ``r1`` .. ``r8`` hold each
    report rule's result ('' when the call has no such verdict), ``rN_value`` its value as
    the report prints it.
    """

    __tablename__ = "call_facts"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    started_at: Mapped[float] = mapped_column(Double)
    linkedid: Mapped[str] = mapped_column(String(ID))
    direction: Mapped[str] = mapped_column(String(KIND))
    caller: Mapped[str] = mapped_column(String(NUMBER))        # masked (mask_number)
    dialed: Mapped[str] = mapped_column(String(NUMBER))        # masked
    outcome: Mapped[str] = mapped_column(String(KIND))
    department: Mapped[Optional[str]] = mapped_column(String(NAME))
    person: Mapped[Optional[str]] = mapped_column(String(NUMBER))   # the caller (outbound) or who answered
    rang: Mapped[Optional[str]] = mapped_column(Text)     # JSON [[ext, seconds], ...] of unanswered calls
    ring_secs: Mapped[Optional[float]] = mapped_column(Double)
    longest_wait: Mapped[Optional[float]] = mapped_column(Double)   # seconds, rounded to 0.1 (as shown)
    transfers: Mapped[int] = mapped_column(Integer)
    lost: Mapped[int] = mapped_column(Integer)
    fails: Mapped[int] = mapped_column(Integer)           # fail verdicts of the report's rules
    r4_wait: Mapped[Optional[float]] = mapped_column(Double)   # a judged R4's numeric value
    tally: Mapped[str] = mapped_column(Text)              # facts.tally_text: what the tallies count
    why: Mapped[Optional[str]] = mapped_column(Text)      # JSON [[rule, value, evidence], ...] of failures
    r1: Mapped[str] = mapped_column(String(RESULT))
    r1_value: Mapped[str] = mapped_column(Text)
    r2: Mapped[str] = mapped_column(String(RESULT))
    r2_value: Mapped[str] = mapped_column(Text)
    r3: Mapped[str] = mapped_column(String(RESULT))
    r3_value: Mapped[str] = mapped_column(Text)
    r4: Mapped[str] = mapped_column(String(RESULT))
    r4_value: Mapped[str] = mapped_column(Text)
    r5: Mapped[str] = mapped_column(String(RESULT))
    r5_value: Mapped[str] = mapped_column(Text)
    r7: Mapped[str] = mapped_column(String(RESULT))
    r7_value: Mapped[str] = mapped_column(Text)
    r8: Mapped[str] = mapped_column(String(RESULT))
    r8_value: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_call_facts_started_at", "started_at"),
        Index("ix_call_facts_department_started", "department", "started_at"),
    )


class DeadLetterRow(Base):
    """A call the database refused even after fitting, kept with the reason instead of blocking the rest."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    linkedid: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)    # the call and its verdicts as JSON (monitor/storage/spill.py)
