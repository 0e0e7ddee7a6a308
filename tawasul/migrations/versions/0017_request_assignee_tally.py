"""the request's assignee on the request, indexed for "mine"; a tally per assignee

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_assignee_tally",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "branch", "channel", "status"),
    )
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        # SQLite adds a nullable column with a reference in place; Alembic would copy the
        # whole table (batch mode) to add the constraint, a million rows for nothing.
        op.execute("ALTER TABLE request ADD COLUMN assigned_to INTEGER REFERENCES app_user (id)")
    else:
        op.add_column(
            "request",
            sa.Column("assigned_to", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        )
    # Who works each request now, from its assignment row; then counted once per assignee.
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text(
                "UPDATE request SET assigned_to = a.user_id FROM request_assignment a "
                "WHERE a.request_id = request.id"
            )
        )
    else:
        connection.execute(
            sa.text(
                "UPDATE request SET assigned_to = (SELECT a.user_id FROM request_assignment a "
                "WHERE a.request_id = request.id) "
                "WHERE id IN (SELECT request_id FROM request_assignment)"
            )
        )
    connection.execute(
        sa.text(
            "INSERT INTO request_assignee_tally (user_id, branch, channel, status, requests) "
            "SELECT assigned_to, branch, channel, status, count(*) FROM request "
            "WHERE assigned_to IS NOT NULL GROUP BY assigned_to, branch, channel, status"
        )
    )
    op.create_index(
        "ix_request_assigned_created_id", "request", ["assigned_to", "created_at", "id"]
    )
    op.create_index(
        "ix_request_assigned_status_created",
        "request",
        ["assigned_to", "status", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_request_assigned_status_created", table_name="request")
    op.drop_index("ix_request_assigned_created_id", table_name="request")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_column("assigned_to")
    op.drop_table("request_assignee_tally")
