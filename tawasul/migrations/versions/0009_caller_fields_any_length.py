"""caller-controlled fields of any length: caller IDs, uniqueids, fax station ids

A SIP caller ID can be 79 characters and Asterisk's uniqueids up to 149: a VARCHAR(32) or (64)
column refused such a call on PostgreSQL before the caller heard the menu.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WIDENED = {
    "call": {"uniqueid": 64, "caller_id": 32},
    "fax_reception": {"uniqueid": 64, "sender": 32, "remote_station_id": 32},
    "queue_event": {"uniqueid": 64},
    "queue_call": {"uniqueid": 64},
}
"""Table, column and the length it had."""


def upgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, length in columns.items():
                batch_op.alter_column(
                    column, existing_type=sa.String(length=length), type_=sa.Text()
                )


def downgrade() -> None:
    # Values longer than the old limits are cut: the old columns cannot hold them.
    for table, columns in WIDENED.items():
        for column, length in columns.items():
            value = sa.column(column, sa.Text())
            op.execute(
                sa.table(table, value)
                .update()
                .where(sa.func.length(value) > length)
                .values({column: sa.func.substr(value, 1, length)})
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, length in columns.items():
                batch_op.alter_column(
                    column, existing_type=sa.Text(), type_=sa.String(length=length)
                )
