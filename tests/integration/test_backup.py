"""``tawasul backup`` while scripted callers file requests, ``tawasul restore`` onto a fresh
instance: every request, voice message and document is there and reads back with the restored
keys. On SQLite (online backup API) and PostgreSQL (pg_dump on an exported snapshot)."""

from __future__ import annotations

import dataclasses
import io
import secrets
import tarfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ivr.simulator import new_request_script
from tawasul.config import Settings
from tawasul.db import empty_postgres_database, make_engine, make_session_factory
from tawasul.documents import DocumentStore, attach
from tawasul.models import (
    Attachment,
    AttachmentKind,
    Call,
    CallOutcome,
    Channel,
    Request,
    Requester,
)
from tawasul.pii import PiiProtector, generate_key
from tawasul.vault import MAGIC, vault_for
from tawasul_cli.backup import MASTER_KEY, BackupError, _pg_environment, backup, restore
from tawasul_cli.demo import demo_national_id
from tests.helpers import Database
from tests.integration.support import IVR, Phone, finished_call, wait_until


def _fresh_instance(database: Database, var_dir: Path) -> Settings:
    """An instance with nothing in it: its own var directory and an empty database of the
    same kind, and no key configured (the backup brings it)."""
    url = ""
    if database.url.startswith("postgresql"):
        parsed = make_url(database.url)
        url = parsed.set(database=f"{parsed.database}_restore").render_as_string(False)
        empty_postgres_database(url)
    return Settings(var_dir=var_dir, database_url=url)


def _scan(marker: str) -> bytes:
    return b"%PDF-1.4\n% scanned telegram " + marker.encode() + b"\n%%EOF\n"


@pytest.mark.asterisk
def test_a_backup_taken_while_calls_file_requests_restores_every_request_readable(
    ivr: IVR, phone: Phone, database: Database, tmp_path: Path
) -> None:
    source = ivr.runner.settings
    store = DocumentStore(source.var_dir, vault_for(source))
    documents: dict[str, bytes] = {}

    def scan_into(request_id: int) -> None:
        # As the agent API files a scanned telegram: the file first, then its row.
        content = _scan(secrets.token_hex(8))
        stored = store.save("scans", content)
        with database.sessions() as session:
            request = session.get(Request, request_id)
            assert request is not None
            attach(
                session,
                request,
                AttachmentKind.SCANNED_DOCUMENT,
                stored.relative_path,
                stored.content_type,
            )
            session.commit()
        documents[stored.relative_path] = content

    first = phone.call(new_request_script(demo_national_id()), caller_id="0501110001")
    phone.wait_hangup(first, timeout_s=150)
    filed = finished_call(ivr.database, first.ivr_uniqueid)
    assert filed.outcome == CallOutcome.REQUEST_FILED, filed.journey
    assert filed.request_id is not None
    scan_into(filed.request_id)

    # Two more callers are in the menu, and an agent keeps scanning, while the backup runs.
    during = [
        phone.call(new_request_script(demo_national_id()), caller_id=f"050111000{index}")
        for index in (2, 3)
    ]

    def in_the_menu() -> bool:
        with database.sessions() as session:
            uniqueids = [placed.ivr_uniqueid for placed in during]
            return len(session.scalars(select(Call).where(Call.uniqueid.in_(uniqueids))).all()) == 2

    wait_until(in_the_menu, 60, "the two callers to reach the IVR")
    with database.sessions() as session:
        before = set(session.scalars(select(Request.id)))
    scans_before = set(documents)
    stop = threading.Event()

    def keep_scanning() -> None:
        while not stop.is_set():
            scan_into(filed.request_id)  # type: ignore[arg-type]
            time.sleep(0.02)

    scanner = threading.Thread(target=keep_scanning)
    scanner.start()
    try:
        report = backup(source, tmp_path / "backups" / "centre.tar")
    finally:
        stop.set()
        scanner.join()
    assert not any(phone.wait_ended(placed, 0) for placed in during), "calls ended before"
    for placed in during:
        phone.wait_hangup(placed, timeout_s=150)
        assert finished_call(ivr.database, placed.ivr_uniqueid).outcome == (
            CallOutcome.REQUEST_FILED
        )
    archive = tmp_path / "backups" / "centre.tar"
    assert archive.stat().st_mode & 0o777 == 0o600
    assert report.backend == make_url(database.url).get_backend_name()
    assert report.missing == []

    target = _fresh_instance(database, tmp_path / "restored")
    restored = restore(target, archive)
    assert (target.var_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    engine = make_engine(target.resolved_database_url())
    sessions = make_session_factory(engine)
    pii = PiiProtector.from_master_key(target.resolved_secret_key())
    vault = vault_for(target)
    try:
        with sessions() as session:
            requests = session.scalars(select(Request)).all()
            assert before <= {request.id for request in requests}
            assert restored.requests == len(requests)
            voice = 0
            for request in requests:
                requester = session.get(Requester, request.requester_id)
                assert requester is not None
                national_id = pii.decrypt(requester.national_id_encrypted, "national_id")
                assert len(national_id) == 10 and national_id.isdigit()
                if request.voice_message_path:
                    stored = target.var_dir / request.voice_message_path
                    assert stored.read_bytes().startswith(MAGIC)
                    assert vault.read(stored).startswith(b"RIFF")
                    voice += 1
            assert voice >= 1  # the first caller's message, at least
            attachments = session.scalars(select(Attachment)).all()
            paths = {attachment.path for attachment in attachments}
            assert scans_before <= paths
            for attachment in attachments:
                content = vault.read(target.var_dir / attachment.path)
                if attachment.path in documents:
                    assert content == documents[attachment.path]
                else:
                    assert attachment.kind == AttachmentKind.VOICE_MESSAGE
                    assert content.startswith(b"RIFF")
    finally:
        engine.dispose()
    with pytest.raises(BackupError, match="holds tables|already holds"):
        restore(target, archive)  # no longer empty


def _small_instance(database: Database, settings: Settings) -> Settings:
    """A source instance with one request, its requester and one scanned document."""
    settings = dataclasses.replace(settings, database_url=database.url)
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    stored = DocumentStore(settings.var_dir, vault_for(settings)).save("scans", _scan("one"))
    with database.sessions() as session:
        requester = Requester(
            national_id_hash=pii.fingerprint("1234567890"),
            national_id_encrypted=pii.encrypt("1234567890", "national_id"),
            national_id_last4_hash=pii.fingerprint("7890"),
        )
        session.add(requester)
        session.flush()
        request = Request(
            requester_id=requester.id,
            reference_number="R-1",
            branch="riyadh",
            channel=Channel.MANUAL,
        )
        session.add(request)
        session.flush()
        attach(
            session,
            request,
            AttachmentKind.SCANNED_DOCUMENT,
            stored.relative_path,
            "application/pdf",
        )
        session.commit()
    return settings


def test_restore_refuses_an_instance_that_holds_data(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    source = _small_instance(database, settings)
    archive = tmp_path / "b.tar"
    backup(source, archive)
    with pytest.raises(BackupError, match="holds tables|already holds"):
        restore(source, archive)
    target = _fresh_instance(database, tmp_path / "with-files")
    DocumentStore(
        target.var_dir, vault_for(dataclasses.replace(target, secret_key=generate_key()))
    ).save("scans", _scan("left over"))
    with pytest.raises(BackupError, match="already holds stored files"):
        restore(target, archive)


def test_restore_keeps_no_other_key_and_refuses_a_configured_different_one(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    source = _small_instance(database, settings)
    archive = tmp_path / "b.tar"
    backup(source, archive)
    with tarfile.open(archive) as tar:
        member = tar.extractfile(MASTER_KEY)
        assert member is not None and member.read().decode().strip() == source.secret_key
    other = dataclasses.replace(
        _fresh_instance(database, tmp_path / "other"), secret_key=generate_key()
    )
    with pytest.raises(BackupError, match="not the backup's key"):
        restore(other, archive)
    # A freshly installed instance made its own key: nothing is under it, the backup's wins.
    target = _fresh_instance(database, tmp_path / "installed")
    target.var_dir.mkdir(parents=True)
    (target.var_dir / "secret.key").write_text(generate_key() + "\n")
    restore(target, archive)
    assert target.resolved_secret_key() == source.secret_key
    assert list(target.var_dir.glob("secret.key.replaced-*"))


def test_a_backup_never_overwrites_and_restore_refuses_a_foreign_archive(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    source = _small_instance(database, settings)
    archive = tmp_path / "b.tar"
    archive.write_bytes(b"")
    with pytest.raises(BackupError, match="exists"):
        backup(source, archive)
    into = tmp_path / "nightly"
    into.mkdir()
    written = backup(source, into).archive
    assert written.parent == into and written.name.startswith("tawasul-")
    assert written.stat().st_mode & 0o777 == 0o600
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as tar:
        tar.add(__file__, arcname="README")
    with pytest.raises(BackupError, match="not a tawasul backup"):
        restore(_fresh_instance(database, tmp_path / "t"), foreign)


def test_a_damaged_archive_is_refused(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    source = _small_instance(database, settings)
    archive = tmp_path / "b.tar"
    backup(source, archive)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as original, tarfile.open(damaged, "w") as copy:
        for member in original.getmembers():
            data = original.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name.startswith("files/"):
                content = content[:-1] + bytes([content[-1] ^ 1])
            copy.addfile(member, io.BytesIO(content))
    target = _fresh_instance(database, tmp_path / "t")
    with pytest.raises(BackupError, match="differs from the backup's checksum"):
        restore(target, damaged)
    # Refused before anything was written: the instance is still empty, the good one restores.
    assert not (target.var_dir / "secret.key").exists()
    restore(target, archive)


def test_postgres_over_its_unix_socket_needs_no_password_on_a_command_line() -> None:
    env = _pg_environment("postgresql+psycopg://tawasul@/tawasul?host=/var/run/postgresql")
    assert (env["PGHOST"], env["PGUSER"], env["PGDATABASE"]) == (
        "/var/run/postgresql",
        "tawasul",
        "tawasul",
    )
    env = _pg_environment("postgresql+psycopg://u:s3cret@db.example:6432/centre")
    assert (env["PGHOST"], env["PGPORT"], env["PGPASSWORD"]) == ("db.example", "6432", "s3cret")
