"""Helpers shared by the test layers (importable as ``tests.helpers``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Database:
    """A migrated, empty database for one test."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
