"""``tawasul backup`` and ``tawasul restore``: the database, the keys and the stored files.

A backup is taken while the centre works: SQLite through its online backup API (a consistent
copy while the IVR keeps writing), PostgreSQL through ``pg_dump`` on a snapshot exported by a
repeatable-read transaction, which also lists the files that snapshot refers to. The
recordings and documents are copied as they are stored (encrypted); a file appears there
only when complete (the vault renames it into place), so none is copied half-written.

The archive holds the keys (the personal-data master key, the storage keys): without them the
files and national IDs cannot be read, so it is written mode 600 and must be kept like them.

``restore`` refuses an instance that holds anything (a table, a stored file); it puts the
keys, the database and the files back, migrates the schema to this version, and reads every
file the database refers to with the restored keys before it says it is done.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection, make_url

from tawasul.config import Settings
from tawasul.db import make_engine
from tawasul.errors import ConfigError
from tawasul.migrate import upgrade
from tawasul.models import Attachment, Request
from tawasul.vault import STORED_FOLDERS, VaultError, vault_for

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "MANIFEST.json"
SQLITE_COPY = "database/tawasul.db"
PG_DUMP = "database/tawasul.pgdump"
MASTER_KEY = "keys/secret.key"
STORAGE_KEYS = "keys/storage_keys"
FILES = "files"


class BackupError(ConfigError):
    """A backup or restore that cannot be done as asked (a restore checks the archive and the
    instance before it writes anything)."""


@dataclass
class BackupReport:
    """What a backup holds."""

    archive: Path
    backend: str
    revision: str
    requests: int
    files: int
    missing: list[str] = field(default_factory=list)
    """Files the database refers to that were gone when copied (removed by retention)."""

    def summary(self) -> str:
        """One paragraph for the operator."""
        lines = [
            f"backup written: {self.archive} (mode 600: it holds the keys)",
            f"  {self.backend} database at revision {self.revision}, {self.requests} requests",
            f"  {self.files} stored files (voice messages, documents), encrypted as stored",
        ]
        if self.missing:
            lines.append(f"  {len(self.missing)} referred files were already gone (retention)")
        return "\n".join(lines)


@dataclass
class RestoreReport:
    """What a restore put back, and what it read back."""

    backend: str
    requests: int
    files: int
    readable: int
    storage_keys_file: Path | None = None

    def summary(self) -> str:
        """One paragraph for the operator."""
        lines = [
            f"restored: {self.backend} database with {self.requests} requests, "
            f"{self.files} stored files",
            f"  {self.readable} files the requests refer to read back with the restored keys",
        ]
        if self.storage_keys_file:
            lines.append(
                f"  storage keys written to {self.storage_keys_file}: put them in storage_keys"
            )
        return "\n".join(lines)


# -- the database ---------------------------------------------------------------------------


def _backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backup: no method for a {name} database")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("backup: the SQLite database is not a file")
    return Path(database)


def _pg_environment(url: str) -> dict[str, str]:
    """libpq's variables for the URL: the password never appears on a command line."""
    parsed = make_url(url)
    env = dict(os.environ)
    host = parsed.host or parsed.query.get("host")
    for name, value in (
        ("PGHOST", host if isinstance(host, str) else None),
        ("PGPORT", str(parsed.port) if parsed.port else None),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value:
            env[name] = value
    return env


def _run_pg(command: list[str], url: str) -> None:
    try:
        done = subprocess.run(
            command, env=_pg_environment(url), capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BackupError(
            f"{command[0]} is not installed (apt-get install postgresql-client)"
        ) from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")


def _contents(connection: Connection) -> tuple[str, int, list[str]]:
    """The schema revision, the number of requests and the stored files referred to."""
    revision = str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())
    requests = int(connection.execute(select(func.count()).select_from(Request)).scalar() or 0)
    voice = connection.execute(
        select(Request.voice_message_path).where(Request.voice_message_path.is_not(None))
    ).scalars()
    attachments = connection.execute(select(Attachment.path)).scalars()
    return revision, requests, sorted({*map(str, voice), *map(str, attachments)})


def _dump_database(url: str, staging: Path) -> tuple[str, int, list[str]]:
    """Copy the database into ``staging``; what the copy holds."""
    if _backend(url) == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"backup: no database at {source_path}")
        target = staging / SQLITE_COPY
        target.parent.mkdir(parents=True)
        with contextlib.closing(sqlite3.connect(source_path, timeout=30)) as source:
            with contextlib.closing(sqlite3.connect(target)) as copy:
                # One step (pages=-1): a consistent copy; the writers wait a moment at most.
                source.backup(copy)
        engine = make_engine(f"sqlite:///{target}")
        try:
            with engine.connect() as connection:
                return _contents(connection)
        finally:
            engine.dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar())
            contents = _contents(connection)
            target = staging / PG_DUMP
            target.parent.mkdir(parents=True)
            # The dump sees exactly what this transaction sees (its exported snapshot).
            _run_pg(
                [
                    "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                    f"--snapshot={snapshot}", f"--file={target}",
                ],
                url,
            )  # fmt: skip
            connection.rollback()
        return contents
    finally:
        engine.dispose()


# -- the archive ----------------------------------------------------------------------------


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _stored_files(var_dir: Path) -> Iterator[Path]:
    for folder in STORED_FOLDERS:
        for path in sorted((var_dir / folder).rglob("*")):
            if path.is_file() and not path.name.endswith(".partial"):
                yield path


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return _sha256_of(handle)


def backup(settings: Settings, archive: Path) -> BackupReport:
    """Write a backup of the instance ``settings`` describe to ``archive`` (a new file, or a
    new ``tawasul-<UTC time>.tar`` in ``archive`` if it is a directory).

    Raises:
        BackupError: the archive exists, the database is not SQLite or PostgreSQL, or
            ``pg_dump`` failed.
        ConfigError: no personal-data key (nothing could be restored readable).
    """
    if archive.is_dir():
        # A directory (the daily timer's): a new archive named after the time.
        archive = archive / f"tawasul-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar"
    if archive.exists():
        raise BackupError(f"backup: {archive} exists; choose a new name")
    url = settings.resolved_database_url()
    backend = _backend(url)
    master = settings.resolved_secret_key()
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tawasul-backup-", dir=archive.parent) as staging:
        revision, requests, referred = _dump_database(url, Path(staging))
        partial = archive.with_name(archive.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        files: dict[str, str] = {}
        with os.fdopen(fd, "wb") as handle:
            compressed = archive.name.endswith(".gz")
            with tarfile.open(fileobj=handle, mode="w:gz" if compressed else "w:") as tar:
                database = Path(staging) / (SQLITE_COPY if backend == "sqlite" else PG_DUMP)
                tar.add(database, arcname=str(database.relative_to(staging)))
                _add_bytes(tar, MASTER_KEY, (master + "\n").encode("ascii"))
                if settings.storage_keys:
                    keys = "".join(f"{key}\n" for key in settings.storage_keys)
                    _add_bytes(tar, STORAGE_KEYS, keys.encode("ascii"))
                for path in _stored_files(settings.var_dir):
                    relative = path.relative_to(settings.var_dir).as_posix()
                    try:
                        files[relative] = _sha256(path)
                        tar.add(path, arcname=f"{FILES}/{relative}")
                    except FileNotFoundError:
                        files.pop(relative, None)  # removed meanwhile (retention)
                missing = [name for name in referred if name not in files]
                manifest = {
                    "format": FORMAT,
                    "created_at": datetime.now(UTC).isoformat(),
                    "backend": backend,
                    "revision": revision,
                    "requests": requests,
                    "files": files,
                    "referred": referred,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        partial.rename(archive)
    report = BackupReport(archive, backend, revision, requests, len(files), missing)
    if missing:
        log.warning("backup: %d referred files were gone when copied", len(missing))
    return report


# -- restoring ------------------------------------------------------------------------------


def _refuse_unless_empty(settings: Settings, url: str) -> None:
    if _backend(url) == "sqlite" and _sqlite_path(url).exists():
        engine = make_engine(url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise BackupError(f"restore: {_sqlite_path(url)} holds tables; restore needs none")
    elif _backend(url) == "postgresql":
        engine = make_engine(url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise BackupError(
                f"restore: the database {make_url(url).database} holds tables "
                f"({', '.join(sorted(tables)[:3])}...); restore needs an empty one"
            )
    stored = next(_stored_files(settings.var_dir), None)
    if stored is not None:
        raise BackupError(f"restore: {settings.var_dir} already holds stored files ({stored})")


def _read_manifest(tar: tarfile.TarFile) -> dict[str, object]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError as exc:
        raise BackupError("restore: not a tawasul backup (no MANIFEST.json)") from exc
    assert member is not None
    manifest = dict(json.loads(member.read()))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"restore: backup format {manifest.get('format')!r} is not {FORMAT}")
    return manifest


def _place_master_key(settings: Settings, key: str) -> Settings:
    """Put the backup's personal-data key where these settings read it; refuse a different
    configured one (the restored data would be unreadable under it)."""
    if settings.secret_key:
        if settings.secret_key != key:
            raise BackupError(
                "restore: secret_key is configured and is not the backup's key: remove it "
                "from the configuration (the backup's key is then written to the var directory)"
            )
        return settings
    path = Path(settings.secret_key_file) if settings.secret_key_file else None
    path = path or settings.var_dir / "secret.key"
    if path.exists() and path.read_text(encoding="ascii").strip() != key:
        # A fresh instance's own key (tawasul install made one): nothing is under it yet.
        kept = path.with_name(f"{path.name}.replaced-{datetime.now(UTC):%Y%m%d%H%M%S}")
        path.rename(kept)
        log.warning("restore: the instance's unused key kept as %s", kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return settings


def _member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise BackupError(f"restore: unsafe name in the archive: {name!r}")
    return path


def _check_members(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], manifest: dict[str, object]
) -> None:
    """Every name safe, every stored file in the manifest with its checksum.

    Raises:
        BackupError: an unsafe or unexpected name, or a file damaged since the backup.
    """
    checksums = manifest.get("files")
    if not isinstance(checksums, dict):
        raise BackupError("restore: the manifest lists no files")
    for name, member in members.items():
        path = _member_path(name)
        if not name.startswith(f"{FILES}/") or not member.isfile():
            continue
        relative = path.relative_to(FILES)
        if relative.parts[0] not in STORED_FOLDERS:
            raise BackupError(f"restore: unexpected file in the archive: {name!r}")
        content = tar.extractfile(member)
        assert content is not None
        if _sha256_of(content) != checksums.get(relative.as_posix()):
            raise BackupError(f"restore: {name} differs from the backup's checksum")


def restore(settings: Settings, archive: Path) -> RestoreReport:
    """Restore ``archive`` onto the empty instance ``settings`` describe.

    Raises:
        BackupError: the instance is not empty, the archive is not a tawasul backup, its
            database is of the other kind, a configured key differs from the backup's,
            or a file the database refers to does not read back.
    """
    url = settings.resolved_database_url()
    backend = _backend(url)
    _refuse_unless_empty(settings, url)
    with tarfile.open(archive) as tar:
        manifest = _read_manifest(tar)
        if manifest["backend"] != backend:
            raise BackupError(
                f"restore: the backup holds a {manifest['backend']} database; this instance "
                f"is configured for {backend} (database_url)"
            )
        members = {member.name: member for member in tar.getmembers()}
        _check_members(tar, members, manifest)  # before anything is written
        key_member = tar.extractfile(MASTER_KEY)
        assert key_member is not None
        settings = _place_master_key(settings, key_member.read().decode("ascii").strip())
        storage_keys_file = None
        if STORAGE_KEYS in members:
            extracted = tar.extractfile(STORAGE_KEYS)
            assert extracted is not None
            keys = [line for line in extracted.read().decode("ascii").splitlines() if line]
            if not set(keys) <= set(settings.storage_keys):
                storage_keys_file = settings.var_dir / "storage-keys.restored"
                fd = os.open(storage_keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.writelines(f"{key}\n" for key in keys)
                settings = replace(settings, storage_keys=(*keys, *settings.storage_keys))
        with tempfile.TemporaryDirectory(prefix=".tawasul-restore-", dir=settings.var_dir) as tmp:
            staging = Path(tmp)
            database = SQLITE_COPY if backend == "sqlite" else PG_DUMP
            tar.extract(members[database], staging, filter="data")
            if backend == "sqlite":
                target = _sqlite_path(url)
                target.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.closing(sqlite3.connect(staging / database)) as source:
                    with contextlib.closing(sqlite3.connect(target)) as copy:
                        source.backup(copy)
            else:
                _run_pg(
                    [
                        "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                        "--single-transaction", f"--dbname={make_url(url).database}",
                        str(staging / database),
                    ],
                    url,
                )  # fmt: skip
        files = 0
        for name, member in members.items():
            if not name.startswith(f"{FILES}/") or not member.isfile():
                continue
            target = settings.var_dir / _member_path(name).relative_to(FILES)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            content = tar.extractfile(member)
            assert content is not None
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(content, handle)
            files += 1
    engine = make_engine(url)
    try:
        upgrade(engine)  # a backup of an older version: brought to this version's schema
        with engine.connect() as connection:
            _, requests, referred = _contents(connection)
    finally:
        engine.dispose()
    restored = [name for name in referred if (settings.var_dir / name).is_file()]
    if len(restored) < len(referred):
        log.warning(
            "restore: %d referred files were not in the backup (gone when it was taken)",
            len(referred) - len(restored),
        )
    readable = _read_back(settings, restored)
    return RestoreReport(backend, requests, files, readable, storage_keys_file)


def _read_back(settings: Settings, relative_paths: list[str]) -> int:
    """Decrypt every restored file the database refers to, with the restored keys.

    Raises:
        BackupError: one does not decrypt (a key missing from the backup or configuration).
    """
    vault = vault_for(settings)
    unreadable = []
    for relative in relative_paths:
        try:
            vault.read_any(settings.var_dir / relative)
        except (OSError, VaultError) as exc:
            unreadable.append(f"{relative} ({exc})")
    if unreadable:
        raise BackupError(
            f"restore: {len(unreadable)} stored files do not read back: "
            + "; ".join(unreadable[:5])
        )
    return len(relative_paths)
