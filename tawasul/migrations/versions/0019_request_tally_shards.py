"""request tally shards: each (branch, channel, status) count kept over several rows

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_KEY = ["branch", "channel", "status"]


def _primary_key(columns: list[str]) -> None:
    """Make ``columns`` the table's primary key (SQLite: by copying the table)."""
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        name = (
            sa.inspect(connection).get_pk_constraint("request_tally")["name"]
            or "request_tally_pkey"
        )
        op.drop_constraint(name, "request_tally", type_="primary")
        op.create_primary_key(name, "request_tally", columns)
        return
    # SQLite's primary key has no name to drop it by: the table as it is, described with a
    # named key, lets the batch copy replace that key instead of adding a second one.
    key = _KEY if "shard" in columns else [*_KEY, "shard"]
    table = sa.Table(
        "request_tally",
        sa.MetaData(),
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(*key, name="pk_request_tally_old"),
    )
    with op.batch_alter_table("request_tally", copy_from=table, recreate="always") as batch_op:
        batch_op.drop_constraint("pk_request_tally_old", type_="primary")
        batch_op.create_primary_key("pk_request_tally", columns)


def upgrade() -> None:
    # Every filing of a branch added to one row, and concurrent filings queued for its lock
    # (tawasul.tally): each writer now adds to its own shard, and a count sums the shards.
    # The rows counted so far become shard 0: the column's server default, kept so that a
    # bulk load's INSERT naming no shard (bench.api_data) still writes one row a key.
    with op.batch_alter_table("request_tally", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")
        )
    _primary_key([*_KEY, "shard"])


def downgrade() -> None:
    # Back to one row a key: the shards summed into one row (shard 0), then the column dropped.
    connection = op.get_bind()
    counts = connection.execute(
        sa.text(
            "SELECT branch, channel, status, sum(requests) FROM request_tally "
            "GROUP BY branch, channel, status"
        )
    ).all()
    connection.execute(sa.text("DELETE FROM request_tally"))
    if counts:
        connection.execute(
            sa.text(
                "INSERT INTO request_tally (branch, channel, status, shard, requests) "
                "VALUES (:branch, :channel, :status, 0, :requests)"
            ),
            [{"branch": b, "channel": c, "status": s, "requests": int(n)} for b, c, s, n in counts],
        )
    _primary_key(_KEY)
    with op.batch_alter_table("request_tally", schema=None) as batch_op:
        batch_op.drop_column("shard")
