"""SMS parts handed to an SMS centre over SMPP: message_id and delivery receipt per part

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sms_message_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "submitting",
                "accepted",
                "delivered",
                "failed",
                name="smspartstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("centre_message_id", sa.String(length=65), nullable=True),
        sa.Column("submits", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sms_message_id"], ["sms_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sms_message_id", "seq", name="uq_sms_part_message_seq"),
    )
    with op.batch_alter_table("sms_part", schema=None) as batch_op:
        batch_op.create_index("ix_sms_part_status", ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sms_part_centre_message_id"), ["centre_message_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("sms_part")
