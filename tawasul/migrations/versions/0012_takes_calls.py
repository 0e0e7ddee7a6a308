"""staff who take calls (queue members) apart from those who do not

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 11:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_user = sa.table("app_user", sa.column("role", sa.String), sa.column("takes_calls", sa.Boolean))


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("takes_calls", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Agents answered the queue before the flag existed; supervisors and admins did not.
    op.get_bind().execute(_user.update().where(_user.c.role == "agent").values(takes_calls=True))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column("takes_calls", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("takes_calls")
