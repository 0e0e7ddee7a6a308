"""SIP endpoints from the accounts; wrap-up dispositions on calls

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The SIP identity stays the existing extension (PJSIP/<digits>): only the secret and the
    # kind of phone are new. A secret is generated on the first sync, so no row needs one now.
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sip_secret", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("sip_device", sa.String(length=8), nullable=False, server_default="webrtc")
        )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("disposition_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("disposition_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_call_disposition_by_app_user", "app_user", ["disposition_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_constraint("fk_call_disposition_by_app_user", type_="foreignkey")
        batch_op.drop_column("disposition_at")
        batch_op.drop_column("disposition_by")
        batch_op.drop_column("disposition")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("sip_device")
        batch_op.drop_column("sip_secret")
