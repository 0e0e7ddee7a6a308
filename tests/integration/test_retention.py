"""Retention with a shifted clock: what is past its time goes, the audit trail stays."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select

from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Call,
    Language,
    Request,
    Requester,
    RequestEvent,
    SmsMessage,
    SmsStatus,
    utcnow,
)
from tawasul.pii import PiiProtector
from tawasul.retention import PURGED, purge
from tawasul.vault import vault_for
from tawasul.workflow import RequestStatus
from tests.helpers import Database


def test_purge_with_a_shifted_clock(
    database: Database, settings: Settings, pii: PiiProtector
) -> None:
    settings = dataclasses.replace(
        settings,
        retention_recordings_days=90,
        retention_requests_days=730,
        retention_calls_days=365,
        retention_sms_days=90,
    )
    vault = vault_for(settings)
    recording = vault.write("voice/1.wav", b"RIFF....WAVE")
    intake = IntakeService(pii)
    with database.sessions() as session:
        call = intake.open_call(session, "1732761234.1", "0501234567")
        done = intake.file_request(
            session,
            NewRequest("1000000008", Language.AR, "riyadh", callback_number="+966501234567"),
            call=call,
        )
        still_open = intake.file_request(
            session,
            NewRequest("2000000006", Language.EN, "riyadh", callback_number="+966509876543"),
        )
        loaded = session.get(Request, done.id)
        assert loaded is not None
        loaded.status = RequestStatus.COMPLETED
        loaded.voice_message_path = "voice/1.wav"
        session.add(
            SmsMessage(
                outbox_id=1,
                request_id=done.id,
                to_number="+966501234567",
                template="received",
                language=Language.AR,
                body="ref 123",
                provider="local",
                status=SmsStatus.DELIVERED,
                created_at=utcnow(),
            )
        )
        session.commit()

    # A month on, nothing is due.
    with database.sessions() as session:
        report = purge(session, settings, utcnow() + timedelta(days=30))
    assert vars(report) == dict(recordings=0, documents=0, requests=0, requesters=0, calls=0, sms=0)
    assert recording.exists()

    # Three years on, everything past its time goes, open requests keep what they need.
    with database.sessions() as session:
        report = purge(session, settings, utcnow() + timedelta(days=3 * 365))
        assert (
            report.recordings,
            report.requests,
            report.requesters,
            report.calls,
            report.sms,
        ) == (
            2 - 1,
            1,
            1,
            1,
            1,
        )
        ended = session.get(Request, done.id)
        assert ended is not None
        assert (ended.voice_message_path, ended.callback_number, ended.requester_id) == (
            None,
            None,
            None,
        )
        assert ended.reference_number == done.reference_number  # the case itself is kept
        survivor = session.get(Request, still_open.id)
        assert survivor is not None and survivor.callback_number == "+966509876543"
        assert session.scalars(select(Requester)).all() == [
            session.get(Requester, survivor.requester_id)
        ]
        call_row = session.scalars(select(Call)).one()
        assert call_row.caller_id is None and call_row.journey == []
        sms = session.scalars(select(SmsMessage)).one()
        assert sms.body == PURGED and "501234567" not in sms.to_number
        purged = session.scalars(
            select(RequestEvent.details).where(RequestEvent.kind == "purged")
        ).all()
        assert purged == [{"what": "voice_message"}, {"what": "requester"}]
        created = session.scalars(select(RequestEvent).where(RequestEvent.kind == "created")).all()
        assert len(created) == 2  # who did what stays
    assert not recording.exists()

    # Running it again changes nothing.
    with database.sessions() as session:
        again = purge(session, settings, utcnow() + timedelta(days=3 * 365))
    assert not any(vars(again).values())
