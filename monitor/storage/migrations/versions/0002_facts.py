"""Report facts: one ``call_facts`` row per call, built here for the calls already stored.

The table is kept by the write path from now on (``Store.save_calls``,
``Store.set_verdict``); ``monitor/storage/facts.py`` says what it holds and why.
The calls already stored get their facts here, derived by the application's own
builder (``rebuild.build_missing``) from the stored calls exactly as the report's
reference reader reads them. A later revision that changes ``call_facts`` must
rebuild the facts itself (delete them, then ``build_missing``); this fill only ever
runs on a database at 0001, right after the table is created, when it matches.

Revision ID: 0002_facts
Revises: 0001
Create Date: 2026-11-26
"""
import logging
import time

import sqlalchemy as sa
from alembic import op

revision = "0002_facts"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("telmon")


def upgrade() -> None:
    rule_columns = []
    for rule in ("r1", "r2", "r3", "r4", "r5", "r7", "r8"):
        rule_columns += [sa.Column(rule, sa.String(16), nullable=False),
                         sa.Column(f"{rule}_value", sa.Text(), nullable=False)]
    op.create_table(
        "call_facts",
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("dialed", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("person", sa.String(64), nullable=True),
        sa.Column("rang", sa.Text(), nullable=True),
        sa.Column("ring_secs", sa.Double(), nullable=True),
        sa.Column("longest_wait", sa.Double(), nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.Column("fails", sa.Integer(), nullable=False),
        sa.Column("r4_wait", sa.Double(), nullable=True),
        sa.Column("tally", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        *rule_columns,
    )
    op.create_index("ix_call_facts_started_at", "call_facts", ["started_at"])
    op.create_index("ix_call_facts_department_started", "call_facts", ["department", "started_at"])
    from monitor.storage.rebuild import build_missing
    started = time.monotonic()
    built = build_missing(op.get_bind())
    if built:
        log.warning("built the report facts of %d stored calls in %.0f s", built, time.monotonic() - started)


def downgrade() -> None:
    op.drop_table("call_facts")
