"""Helpers shared by the test layers (importable as ``tests.helpers``)."""

from __future__ import annotations

import struct
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


def unfinished_wav(samples: bytes) -> bytes:
    """A canonical 8 kHz mono 16-bit WAV of ``samples`` whose header sizes are still zero, as
    Asterisk leaves the file until it closes it (or when its writer dies)."""
    header = (
        b"RIFF"
        + struct.pack("<I", 0)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data"
        + struct.pack("<I", 0)
    )
    return header + samples
