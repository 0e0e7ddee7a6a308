"""SMS part count per message

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tawasul.sms_parts import sms_parts

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_sms = sa.table(
    "sms_message", sa.column("id", sa.Integer), sa.column("body", sa.Text), sa.column("parts")
)


def upgrade() -> None:
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parts", sa.Integer(), nullable=True))
    # Messages already sent are counted from their stored body (the count is the same rule).
    connection = op.get_bind()
    rows = connection.execute(sa.select(_sms.c.id, _sms.c.body)).all()
    for row in rows:
        connection.execute(
            _sms.update().where(_sms.c.id == row.id).values(parts=sms_parts(row.body or ""))
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.drop_column("parts")
