"""The requester's SMS: display names in their language, parts recorded, reasons within budget.

On SQLite and PostgreSQL (the ``database`` fixture).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tawasul.models import Language, OutboxKind, OutboxMessage, SmsMessage
from tawasul.notifications import SmsTemplates
from tawasul.ports import SmsReceipt
from tawasul.sms import SmsDelivery
from tests.api.test_request_workflow import open_slot, verify


class Sender:
    """An SMS provider that accepts everything and keeps the bodies."""

    name = "test"

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        self.bodies.append(body)
        return SmsReceipt(f"id-{len(self.bodies)}", delivered=True)


def _deliver_all(database, request_id: int) -> tuple[list[str], list[SmsMessage]]:
    sender = Sender()
    delivery = SmsDelivery(sender, SmsTemplates.load(), ("+9665",), 100, timedelta(minutes=10))
    with database.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.request_id == request_id, OutboxMessage.kind == OutboxKind.SMS)
            .order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            delivery.deliver(session, row)
        messages = session.scalars(
            select(SmsMessage).where(SmsMessage.request_id == request_id).order_by(SmsMessage.id)
        ).all()
        session.expunge_all()
    return sender.bodies, list(messages)


def _ready(client, auth, requests, language: Language) -> int:
    rid = requests.file(language=language).id
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    verify(client, auth["agent"], requests, rid)
    return rid


def test_the_arabic_approval_sms_names_the_branch_in_arabic(client, auth, requests, database):
    rid = _ready(client, auth, requests, Language.AR)
    assert client.post(f"/requests/{rid}/approve", headers=auth["supervisor"]).status_code == 200
    slot = open_slot(client, auth["supervisor"])
    answer = client.post(f"/requests/{rid}/schedule", json={"slot_id": slot}, headers=auth["agent"])
    assert answer.status_code == 200, answer.json
    bodies, messages = _deliver_all(database, rid)
    approved = [m for m in messages if m.template == "approved"][0]
    assert approved.body.endswith("، فرع الرياض.")
    assert "riyadh" not in approved.body
    # Every message records the parts it went out in (Arabic: UCS-2, 70/67 a part).
    assert [m.parts for m in messages] == [2 if len(m.body) > 70 else 1 for m in messages]
    assert all(m.parts is not None for m in messages)


def test_the_english_approval_sms_names_the_branch_in_english(client, auth, requests, database):
    rid = _ready(client, auth, requests, Language.EN)
    client.post(f"/requests/{rid}/approve", headers=auth["supervisor"])
    slot = open_slot(client, auth["supervisor"])
    client.post(f"/requests/{rid}/schedule", json={"slot_id": slot}, headers=auth["agent"])
    _, messages = _deliver_all(database, rid)
    approved = [m for m in messages if m.template == "approved"][0]
    assert approved.body.endswith(", Riyadh branch.")
    assert approved.parts == 1


def test_a_reason_making_more_than_three_parts_is_refused_naming_the_field(client, auth, requests):
    rid = _ready(client, auth, requests, Language.AR)
    reason = "لا يدخل الطلب في اختصاص الجهة " * 16  # about 500 characters: 9 parts
    answer = client.post(
        f"/requests/{rid}/reject", json={"reason": reason[:500]}, headers=auth["supervisor"]
    )
    assert answer.status_code == 422, answer.json
    assert answer.json["details"]["field"] == "reason"
    assert "parts, at most 3" in answer.json["message"]
    assert requests.get(rid).status == "identity_verified"
    assert requests.sms_stages(rid)[-1] == "verification_code"
    fits = client.post(
        f"/requests/{rid}/reject", json={"reason": reason[:120]}, headers=auth["supervisor"]
    )
    assert fits.status_code == 200, fits.json


def test_the_console_previews_the_rejection_sms_with_its_parts(client, auth, requests):
    rid = _ready(client, auth, requests, Language.AR)
    short = client.post(
        f"/requests/{rid}/reject/preview", json={"reason": "خارج الاختصاص"}, headers=auth["agent"]
    )
    assert short.status_code == 200, short.json
    assert short.json["encoding"] == "ucs2"
    assert short.json["parts"] == 1
    assert short.json["budget"] == 3
    assert short.json["body"].endswith("السبب: خارج الاختصاص")
    long = client.post(
        f"/requests/{rid}/reject/preview", json={"reason": "ب" * 500}, headers=auth["agent"]
    )
    assert long.json["parts"] == 9
    # A preview changes nothing.
    assert requests.get(rid).status == "identity_verified"
    other_branch = client.post(
        f"/requests/{rid}/reject/preview", json={"reason": "x"}, headers=auth["jeddah_agent"]
    )
    assert other_branch.status_code == 404


def test_display_names_for_the_console(client, auth):
    answer = client.get("/display-names", headers=auth["agent"])
    assert answer.status_code == 200
    names = answer.json
    assert names["branch"]["medina"] == {"ar": "المدينة المنورة", "en": "Medina"}
    assert names["official"]["minister"]["ar"] == "معالي الوزير"
    assert names["status"]["in_review"]["en"] == "In review"
    assert names["meeting_mode"]["video"]["ar"] == "مكالمة فيديو"
    assert names["category"]["company"]["en"] == "Company"
    assert client.get("/display-names").status_code == 401
