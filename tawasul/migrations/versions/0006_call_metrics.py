"""call metrics: queue events and queue visits

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-28 03:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("uniqueid", sa.String(length=64), nullable=True),
        sa.Column("member", sa.String(length=128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("queue_event", schema=None) as batch_op:
        batch_op.create_index("ix_queue_event_member_at", ["member", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_event_uniqueid"), ["uniqueid"], unique=False)

    op.create_table(
        "queue_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("hold_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["call.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uniqueid", "queue", "joined_at", name="uq_queue_call_visit"),
    )
    with op.batch_alter_table("queue_call", schema=None) as batch_op:
        batch_op.create_index("ix_queue_call_queue_joined", ["queue", "joined_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_call_uniqueid"), ["uniqueid"], unique=False)


def downgrade() -> None:
    op.drop_table("queue_call")
    op.drop_table("queue_event")
