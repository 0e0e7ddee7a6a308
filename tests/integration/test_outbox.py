"""The outbox is written in the same transaction as the change that causes it."""

from __future__ import annotations

from sqlalchemy import func, select

from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language, OutboxKind, OutboxMessage, OutboxStatus, Request
from tawasul.notifications import SmsStage, notify
from tawasul.pii import PiiProtector
from tests.helpers import Database


def _file(database: Database, pii: PiiProtector, callback: str | None) -> Request:
    with database.sessions() as session:
        return IntakeService(pii).file_request(
            session,
            NewRequest("1000000008", Language.AR, "riyadh", callback_number=callback),
        )


def test_filing_a_request_owes_its_sms_and_forwarding(database: Database, pii: PiiProtector):
    request = _file(database, pii, "+966501234567")
    with database.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.kind, r.request_id, r.status) for r in rows] == [
            (OutboxKind.SMS, request.id, OutboxStatus.PENDING),
            (OutboxKind.FORWARD, request.id, OutboxStatus.PENDING),
        ]
        assert rows[0].payload == {
            "stage": "received",
            "params": {"reference": request.reference_number},
        }
        # Ids and template parameters only: Redis will see these, and writes them to disk.
        assert "+966501234567" not in str(rows[0].payload)


def test_no_callback_number_means_no_sms_but_still_forwarded(database: Database, pii: PiiProtector):
    _file(database, pii, None)
    with database.sessions() as session:
        kinds = session.scalars(select(OutboxMessage.kind)).all()
        assert kinds == [OutboxKind.FORWARD]


def test_rolled_back_change_leaves_no_outbox_row(database: Database, pii: PiiProtector):
    request = _file(database, pii, "+966501234567")
    with database.sessions() as session:
        before = session.scalar(select(func.count(OutboxMessage.id)))
        loaded = session.get(Request, request.id)
        assert loaded is not None
        notify(session, loaded, SmsStage.IN_REVIEW, {"reference": loaded.reference_number})
        assert session.scalar(select(func.count(OutboxMessage.id))) == before + 1
        session.rollback()
    with database.sessions() as session:
        assert session.scalar(select(func.count(OutboxMessage.id))) == before
