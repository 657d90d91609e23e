"""Where a call came from (live AMI or recovered from CEL), what was fitted or is unknown, dead letters.

Revision ID: 0004_hardening
Revises: 0003_workbench
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_hardening"
down_revision = "0003_workbench"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="ami"))
        batch.add_column(sa.Column("flags", sa.Text(), nullable=True))
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("linkedid", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("flags")
        batch.drop_column("source")
