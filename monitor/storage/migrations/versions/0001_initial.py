"""Initial schema: calls, offers, transfers, holds, wait stretches, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _child(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_call_id", name, ["call_id"])


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("linkedid", sa.String(64), nullable=False, unique=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("dialed", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=False),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("remote_number", sa.String(64), nullable=True),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("queue_joined_at", sa.Double(), nullable=True),
        sa.Column("queue_left_at", sa.Double(), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("incomplete_reason", sa.Text(), nullable=True),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("uniqueids", sa.Text(), nullable=False),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_index("ix_calls_department_started", "calls", ["department", "started_at"])
    op.create_index("ix_calls_outcome", "calls", ["outcome"])
    _child("offers",
           sa.Column("extension", sa.String(64), nullable=False),
           sa.Column("channel", sa.String(128), nullable=False),
           sa.Column("uniqueid", sa.String(64), nullable=False),
           sa.Column("leg", sa.String(16), nullable=False),
           sa.Column("dial_start", sa.Double(), nullable=False),
           sa.Column("ring_start", sa.Double(), nullable=True),
           sa.Column("ring_end", sa.Double(), nullable=True),
           sa.Column("answered_at", sa.Double(), nullable=True),
           sa.Column("status", sa.String(32), nullable=False),
           sa.Column("cause", sa.Integer(), nullable=True),
           sa.Column("to_trunk", sa.Boolean(), nullable=False))
    _child("transfers",
           sa.Column("kind", sa.String(16), nullable=False),
           sa.Column("by_party", sa.String(64), nullable=False),
           sa.Column("to_party", sa.String(64), nullable=False),
           sa.Column("at", sa.Double(), nullable=False),
           sa.Column("target_position", sa.Integer(), nullable=True))
    _child("holds",
           sa.Column("by_party", sa.String(64), nullable=False),
           sa.Column("started_at", sa.Double(), nullable=False),
           sa.Column("ended_at", sa.Double(), nullable=True))
    _child("wait_stretches",
           sa.Column("kind", sa.String(16), nullable=False),
           sa.Column("started_at", sa.Double(), nullable=False),
           sa.Column("ended_at", sa.Double(), nullable=False))
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.UniqueConstraint("call_id", "rule", name="uq_verdicts_call_rule"),
    )
    op.create_index("ix_verdicts_call_id", "verdicts", ["call_id"])
    op.create_index("ix_verdicts_rule_result", "verdicts", ["rule", "result"])


def downgrade() -> None:
    for table in ("verdicts", "wait_stretches", "holds", "transfers", "offers", "calls"):
        op.drop_table(table)
