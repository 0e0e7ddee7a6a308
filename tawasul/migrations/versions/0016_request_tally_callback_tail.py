"""request tally per branch, channel and status; callback number tail for the last-digits search

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_tally",
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("branch", "channel", "status"),
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_tail", sa.String(length=4), nullable=True))
    connection = op.get_bind()
    # The requests filed so far: counted once, and their numbers' tails written in SQL (the
    # numbers are stored in clear, E.164, so the last four characters are digits).
    connection.execute(
        sa.text(
            "INSERT INTO request_tally (branch, channel, status, requests) "
            "SELECT branch, channel, status, count(*) FROM request "
            "GROUP BY branch, channel, status"
        )
    )
    if connection.dialect.name == "postgresql":
        tail = "reverse(right(callback_number, 4))"
    else:
        tail = " || ".join(f"substr(callback_number, -{n}, 1)" for n in range(1, 5))
    connection.execute(
        sa.text(
            f"UPDATE request SET callback_tail = {tail} "  # noqa: S608 (no input in it)
            "WHERE callback_number IS NOT NULL AND length(callback_number) >= 4"
        )
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_request_branch_callback_tail", ["branch", "callback_tail"], unique=False
        )
        batch_op.create_index("ix_request_callback_tail", ["callback_tail"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_callback_tail")
        batch_op.drop_index("ix_request_branch_callback_tail")
        batch_op.drop_column("callback_tail")
    op.drop_table("request_tally")
