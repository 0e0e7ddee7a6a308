"""security events; joins the phone-menu, channels and metrics branches

Revision ID: 0007
Revises: 0004, 0005, 0006
Create Date: 2026-11-28 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = ("0004", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("security_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_event_kind"), ["kind"], unique=False)


def downgrade() -> None:
    op.drop_table("security_event")
