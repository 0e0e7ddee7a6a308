"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tawasul.migrate import alembic_config, upgrade
from tawasul.models import Base
from tests.helpers import Database


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_sms_parts_migration_counts_the_messages_already_sent(database: Database) -> None:
    engine = database.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")  # before sms_message.parts
    now = datetime(2026, 11, 30, tzinfo=UTC)
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("payload", sa.JSON),
        sa.column("status", sa.String),
        sa.column("available_at", sa.DateTime(timezone=True)),
        sa.column("attempts", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    sms = sa.table(
        "sms_message",
        *(sa.column(name, sa.String) for name in ("to_number", "template", "language", "body")),
        *(sa.column(name, sa.String) for name in ("provider", "status")),
        sa.column("id", sa.Integer),
        sa.column("outbox_id", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    bodies = {1: "ب" * 71, 2: "a" * 160}  # UCS-2 past 70: two parts; GSM-7 160: one
    with engine.begin() as connection:
        for number, body in bodies.items():
            connection.execute(
                outbox.insert().values(
                    id=number,
                    kind="sms",
                    payload={},
                    status="done",
                    available_at=now,
                    attempts=1,
                    created_at=now,
                )
            )
            connection.execute(
                sms.insert().values(
                    id=number,
                    outbox_id=number,
                    to_number="+966501234567",
                    template="rejected",
                    language="ar",
                    body=body,
                    provider="local",
                    status="sent",
                    created_at=now,
                )
            )
    upgrade(engine)
    with engine.connect() as connection:
        parts = dict(connection.execute(sa.text("SELECT id, parts FROM sms_message")).all())
    assert parts == {1: 2, 2: 1}


def test_the_takes_calls_migration_makes_agents_and_only_agents_take_calls(
    database: Database,
) -> None:
    engine = database.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")  # before app_user.takes_calls
    now = datetime(2026, 11, 30, tzinfo=UTC)
    users = sa.table(
        "app_user",
        *(sa.column(name, sa.String) for name in ("username", "password_hash", "role", "branch")),
        sa.column("id", sa.Integer),
        sa.column("is_active", sa.Boolean),
        sa.column("failed_logins", sa.Integer),
        sa.column("session_version", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    with engine.begin() as connection:
        for number, role in enumerate(("agent", "supervisor", "admin"), start=1):
            connection.execute(
                users.insert().values(
                    id=number,
                    username=role,
                    password_hash="x",
                    role=role,
                    branch="riyadh",
                    is_active=True,
                    failed_logins=0,
                    session_version=1,
                    created_at=now,
                )
            )
    upgrade(engine)
    with engine.connect() as connection:
        found = dict(connection.execute(sa.text("SELECT role, takes_calls FROM app_user")).all())
    assert {role: bool(value) for role, value in found.items()} == {
        "agent": True,
        "supervisor": False,
        "admin": False,
    }


def test_an_instance_with_accounts_and_tokens_upgrades(database: Database) -> None:
    """Rebuilding app_user on SQLite (batch mode) must not trip over the rows that refer to it.

    The demo's database of the last release failed here: ``DROP TABLE app_user`` with an API
    token pointing at a user, "FOREIGN KEY constraint failed".
    """
    engine = database.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")  # the schema the last release shipped
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO app_user (id, username, password_hash, role, branch, is_active,"
                " failed_logins, session_version, created_at)"
                " VALUES (1, 'agent', 'x', 'agent', 'riyadh', true, 0, 1, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO api_token (id, user_id, token_hash, name, created_at)"
                " VALUES (1, 1, :hash, 'console', :now)"
            ),
            {"hash": "a" * 64, "now": now},
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT user_id FROM api_token")).scalar_one() == 1
        if connection.dialect.name == "sqlite":  # enforcement is back on the pooled connection
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
