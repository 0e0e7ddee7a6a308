"""Alembic environment: runs the migrations against the connection handed in by tawasul.migrate."""

from __future__ import annotations

from alembic import context

from tawasul.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through tawasul.migrate (it hands over a connection)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
