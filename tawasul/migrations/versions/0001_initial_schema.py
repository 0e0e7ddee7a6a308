"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 02:14:55.674027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requester",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("national_id_hash", sa.String(length=64), nullable=False),
        sa.Column("national_id_encrypted", sa.Text(), nullable=False),
        sa.Column("national_id_last4_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("national_id_hash"),
    )
    op.create_table(
        "request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference_number", sa.String(length=10), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "fax",
                "telegram",
                "manual",
                "portal",
                name="channel",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "in_review",
                "identity_verified",
                "approved",
                "rejected",
                "scheduled",
                "completed",
                "no_show",
                "cancelled",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("is_partial", sa.Boolean(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "man", "woman", "company", name="requestercategory", native_enum=False, length=24
            ),
            nullable=True,
        ),
        sa.Column("target_official", sa.String(length=64), nullable=True),
        sa.Column(
            "meeting_mode",
            sa.Enum("in_person", "video", name="meetingmode", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("callback_number", sa.String(length=16), nullable=True),
        sa.Column(
            "language", sa.Enum("ar", "en", name="language", native_enum=False), nullable=False
        ),
        sa.Column("voice_message_path", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["requester.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference_number"),
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index("ix_request_branch_status", ["branch", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index("ix_request_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("caller_id", sa.String(length=32), nullable=True),
        sa.Column(
            "language", sa.Enum("ar", "en", name="language", native_enum=False), nullable=True
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("journey", sa.JSON(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "in_progress",
                "request_filed",
                "hung_up",
                "sent_to_agent",
                "failed",
                name="calloutcome",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uniqueid"),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_request_id"), ["request_id"], unique=False)

    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "received",
                "in_review",
                "identity_verified",
                "approved",
                "rejected",
                "scheduled",
                "completed",
                "no_show",
                "cancelled",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "received",
                "in_review",
                "identity_verified",
                "approved",
                "rejected",
                "scheduled",
                "completed",
                "no_show",
                "cancelled",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_event_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_event_request_id"))

    op.drop_table("request_event")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_request_id"))

    op.drop_table("call")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_status_created")
        batch_op.drop_index(batch_op.f("ix_request_requester_id"))
        batch_op.drop_index("ix_request_branch_status")

    op.drop_table("request")
    op.drop_table("requester")
