"""Schema migrations: ``upgrade`` brings any database to the models' schema through Alembic."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration bound to the engine (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration up to ``revision`` (default: all heads).

    Features developed side by side add migrations on separate branches from the same parent;
    "heads" applies them all, in either order, until a merge revision joins them.
    """
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the difference between the models and the database."""
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def _sqlite_foreign_keys(connection: Connection, enforced: bool) -> None:
    # On the DB-API connection itself: SQLite ignores the pragma inside a transaction, and
    # SQLAlchemy would open one (BEGIN IMMEDIATE, tawasul.db) before any statement it sends.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")
    cursor.close()


@contextlib.contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the migrations; on SQLite with foreign keys checked at its end.

    SQLite cannot alter most columns in place, so Alembic's batch mode rebuilds the table:
    copy, drop, rename. With foreign keys enforced, dropping a table that other rows refer to
    fails (``FOREIGN KEY constraint failed`` on ``DROP TABLE app_user`` once an API token
    exists), so enforcement is off while the migrations run, as SQLite's documentation on
    ALTER TABLE prescribes, and ``PRAGMA foreign_key_check`` must find nothing before commit.

    Raises:
        RuntimeError: a migration left rows whose foreign key points nowhere (rolled back).
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, enforced=False)
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migrations left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, enforced=True)
