"""last-digits search in the list's order: the tail indexes end with (created_at, id)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 14:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Same leading columns, so the three-digit (prefix) search keeps its range; with the list's
    # order after them, a four-digit search reads its page in order and stops there.
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_branch_callback_tail")
        batch_op.drop_index("ix_request_callback_tail")
        batch_op.create_index(
            "ix_request_branch_callback_tail_created",
            ["branch", "callback_tail", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_request_callback_tail_created", ["callback_tail", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_callback_tail_created")
        batch_op.drop_index("ix_request_branch_callback_tail_created")
        batch_op.create_index(
            "ix_request_branch_callback_tail", ["branch", "callback_tail"], unique=False
        )
        batch_op.create_index("ix_request_callback_tail", ["callback_tail"], unique=False)
