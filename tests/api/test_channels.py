"""Every intake channel into one queue: telegram and walk-in entry by agents, the e-services
portal's signed submissions, a fax's requester transcribed, and duplicates flagged across them."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import time

import pytest
from sqlalchemy import func, select

from tawasul.config import Settings
from tawasul.models import (
    Attachment,
    AttachmentKind,
    Channel,
    IdentityVerification,
    OutboxKind,
    PortalSubmission,
    Request,
    VerificationStatus,
)
from tawasul.portal import sign
from tawasul.vault import MAGIC, vault_for
from tests.api.support import valid_national_id

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OLD_KEY = "k2026a:" + "a" * 40
NEW_KEY = "k2026b:" + "b" * 40


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    """Two portal keys (a rotation in progress) and a small document limit."""
    return dataclasses.replace(
        settings,
        video_meeting_base_url="https://meet.test/room",
        portal_keys=(OLD_KEY, NEW_KEY),
        portal_replay_window_s=300,
        document_max_bytes=4096,
    )


def enter(client, headers, document: bytes | None = None, **fields):
    data = {"channel": "manual", "national_id": valid_national_id(), **fields}
    if document is not None:
        data["document"] = (io.BytesIO(document), "scan.pdf")
    return client.post("/requests", data=data, headers=headers, content_type="multipart/form-data")


# -- telegram and walk-in -----------------------------------------------------------------


def test_a_telegram_is_filed_with_its_scan(client, auth, database, api_settings, requests):
    answer = enter(
        client, auth["agent"], PDF, channel="telegram", mobile="055 123 4567", language="en"
    )
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["channel"] == "telegram"
    assert body["status"] == "received"
    assert body["branch"] == "riyadh"
    assert body["callback_number"] == "+966******567"
    with database.sessions() as session:
        request = session.get(Request, body["id"])
        assert request.callback_number == "+966551234567"
        (attachment,) = session.scalars(
            select(Attachment).where(Attachment.request_id == request.id)
        ).all()
        assert attachment.kind == AttachmentKind.SCANNED_DOCUMENT
        assert attachment.content_type == "application/pdf"
        stored = api_settings.var_dir / attachment.path
        assert stored.read_bytes().startswith(MAGIC)  # encrypted at rest
        assert vault_for(api_settings).read(stored) == PDF
    assert requests.sms_stages(body["id"]) == ["received"]
    assert [row.kind for row in requests.outbox(body["id"], OutboxKind.FORWARD)] == [
        OutboxKind.FORWARD
    ]
    events = requests.events(body["id"])
    assert events[0].actor == f"user:{auth.users['agent'].id}"
    listed = client.get(f"/requests/{body['id']}/attachments", headers=auth["agent"]).json
    assert [item["kind"] for item in listed["items"]] == ["scanned_document"]


def test_a_walk_in_can_be_entered_as_json_without_a_document(client, auth):
    answer = client.post(
        "/requests",
        json={"channel": "manual", "national_id": valid_national_id(), "mobile": "0501234567"},
        headers=auth["agent"],
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["channel"] == "manual"


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"national_id": "1234567890"}, "national_id", "check digit does not match"),
        ({"national_id": "3000000001"}, "national_id", "must start with 1 (citizen) or 2"),
        ({"national_id": "12345"}, "national_id", "must be 10 digits long"),
        ({"mobile": "0112345678"}, "mobile", "must be a Saudi mobile number"),
        ({"channel": "fax"}, "channel", "one of telegram, manual"),
        ({"channel": "pigeon"}, "channel", "one of"),
        ({"language": "fr"}, "language", "one of"),
        ({"branch": "dammam"}, "branch", "not a branch"),
    ],
)
def test_manual_entry_errors_are_clear_422s(client, auth, database, fields, field, reason):
    answer = enter(client, auth["agent"], PDF, **fields)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "invalid-input"
    assert answer.json["details"]["field"] == field
    assert answer.json["details"]["reason"].startswith(reason)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0


def test_a_telegram_needs_its_scan_and_a_scan_must_be_a_document(client, auth, api_settings):
    answer = enter(client, auth["agent"], None, channel="telegram")
    assert answer.status_code == 422
    assert answer.json["details"] == {
        "field": "document",
        "reason": "a telegram is filed with its scan",
    }
    answer = enter(client, auth["agent"], b"MZ\x90\x00 not a scan", channel="telegram")
    assert answer.status_code == 422
    assert answer.json["details"]["field"] == "document"
    assert "application/pdf" in answer.json["details"]["reason"]
    answer = enter(client, auth["agent"], b"", channel="telegram")
    assert answer.status_code == 422
    assert answer.json["details"]["reason"] == "the file is empty"
    assert not (api_settings.var_dir / "documents").exists() or not any(
        path.is_file() for path in (api_settings.var_dir / "documents").rglob("*")
    )


def test_a_scan_over_the_size_limit_is_refused(client, auth):
    answer = enter(client, auth["agent"], PDF + b"0" * 5000, channel="telegram")
    assert answer.status_code == 422
    assert answer.json["details"] == {"field": "document", "reason": "at most 4096 bytes"}
    huge = enter(client, auth["agent"], PDF + b"0" * 200_000, channel="telegram")
    assert huge.status_code == 413


def test_agents_enter_requests_for_their_own_branch_only(client, auth):
    answer = enter(client, auth["agent"], PDF, branch="jeddah")
    assert answer.status_code == 403
    answer = enter(client, auth["admin"], PDF, branch="jeddah")
    assert answer.status_code == 201
    assert answer.json["branch"] == "jeddah"


def test_unknown_form_fields_are_refused(client, auth):
    answer = enter(client, auth["agent"], PDF, status="approved")
    assert answer.status_code == 422
    assert answer.json["details"]["fields"] == ["status"]


# -- duplicates across channels -----------------------------------------------------------


def test_the_same_requester_open_on_two_channels_is_flagged(client, auth, requests, pii):
    national_id = valid_national_id()
    phoned = requests.file()  # another requester, not a duplicate
    with requests._database.sessions() as session:  # the phone request of our requester
        from tawasul.intake import IntakeService, NewRequest
        from tawasul.models import Language

        by_phone = IntakeService(pii).file_request(
            session, NewRequest(national_id, Language.AR, "riyadh")
        )
        by_phone_id = by_phone.id
    walked_in = enter(client, auth["agent"], PDF, national_id=national_id).json
    assert [d["id"] for d in walked_in["open_duplicates"]] == [by_phone_id]
    assert walked_in["open_duplicates"][0]["channel"] == "phone"

    detail = client.get(f"/requests/{by_phone_id}", headers=auth["agent"]).json
    assert [(d["id"], d["channel"]) for d in detail["open_duplicates"]] == [
        (walked_in["id"], "manual")
    ]
    listed = {
        item["id"]: item for item in client.get("/requests", headers=auth["agent"]).json["items"]
    }
    assert [d["id"] for d in listed[walked_in["id"]]["open_duplicates"]] == [by_phone_id]
    assert listed[phoned.id]["open_duplicates"] == []

    # Closed requests are not duplicates any more.
    cancelled = client.post(f"/requests/{by_phone_id}/cancel", json={}, headers=auth["agent"])
    assert cancelled.status_code == 200
    again = client.get(f"/requests/{walked_in['id']}", headers=auth["agent"]).json
    assert again["open_duplicates"] == []


def test_a_duplicate_in_another_branch_is_flagged_without_its_id(client, auth):
    national_id = valid_national_id()
    jeddah = enter(client, auth["jeddah_agent"], PDF, national_id=national_id).json
    riyadh = enter(client, auth["agent"], PDF, national_id=national_id).json
    assert riyadh["open_duplicates"] == [
        {
            "id": None,
            "reference_number": None,
            "channel": "manual",
            "branch": "jeddah",
            "status": "received",
        }
    ]
    seen_by_admin = client.get(f"/requests/{riyadh['id']}", headers=auth["admin"]).json
    assert seen_by_admin["open_duplicates"][0]["id"] == jeddah["id"]


def test_a_fax_requester_is_transcribed_then_duplicates_show(client, auth, database, pii):
    from tawasul.faxes import FaxIntake, ReceivedFax
    from tawasul.intake import IntakeService

    national_id = valid_national_id()
    walked_in = enter(client, auth["agent"], PDF, national_id=national_id).json
    with database.sessions() as session:
        reception = FaxIntake(IntakeService(pii)).record(
            session,
            ReceivedFax("1.1", "0112345678", "SUCCESS", "NO_ERROR", "OK", "", None, 0),
            "riyadh",
            None,
        )
        fax_request_id = reception.request_id
    fax = client.get(f"/requests/{fax_request_id}", headers=auth["agent"]).json
    assert fax["channel"] == "fax" and fax["is_partial"] is True
    assert fax["open_duplicates"] == []

    bad = client.post(
        f"/requests/{fax_request_id}/requester",
        json={"national_id": "1234567890"},
        headers=auth["agent"],
    )
    assert bad.status_code == 422
    assert bad.json["details"]["field"] == "national_id"
    done = client.post(
        f"/requests/{fax_request_id}/requester",
        json={"national_id": national_id, "mobile": "0501112223"},
        headers=auth["agent"],
    )
    assert done.status_code == 200, done.json
    assert [d["id"] for d in done.json["open_duplicates"]] == [walked_in["id"]]
    assert done.json["callback_number"] == "+966******223"
    twice = client.post(
        f"/requests/{fax_request_id}/requester",
        json={"national_id": valid_national_id()},
        headers=auth["agent"],
    )
    assert twice.status_code == 409


# -- the e-services portal ----------------------------------------------------------------


def portal_call(
    client,
    payload: dict,
    key: str = NEW_KEY,
    timestamp: int | None = None,
    signature: str | None = None,
    body: bytes | None = None,
):
    key_id, _, secret = key.partition(":")
    raw = body if body is not None else json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-Portal-Key-Id": key_id,
        "X-Portal-Timestamp": stamp,
        "X-Portal-Signature": signature or sign(secret.encode(), stamp, raw),
    }
    return client.post("/portal/requests", data=raw, headers=headers), raw, headers


def portal_payload(**fields) -> dict:
    return {
        "portal_request_id": f"EP-{time.monotonic_ns()}",
        "national_id": valid_national_id(),
        "mobile": "0551234567",
        "language": "en",
        "meeting_mode": "video",
        **fields,
    }


def test_a_signed_portal_submission_is_filed_identity_verified(client, auth, database):
    payload = portal_payload(branch="jeddah")
    answer, _, _ = portal_call(client, payload)
    assert answer.status_code == 201, answer.json
    assert answer.json["created"] is True
    filed = answer.json["request"]
    assert filed["channel"] == "portal" and filed["status"] == "received"
    with database.sessions() as session:
        request = session.get(Request, filed["id"])
        assert request.channel == Channel.PORTAL
        assert request.branch == "jeddah"
        assert request.callback_number == "+966551234567"
        assert request.meeting_mode.value == "video"
        (verification,) = session.scalars(
            select(IdentityVerification).where(IdentityVerification.request_id == request.id)
        ).all()
        assert verification.provider == "portal"
        assert verification.status == VerificationStatus.VERIFIED
        assert verification.external_id == payload["portal_request_id"]
        assert verification.started_by is None
    # The agent's workflow takes it as verified: claim, then the check passes at once.
    agent = auth["jeddah_agent"]
    assert (
        client.post(
            f"/requests/{filed['id']}/claim", json={"category": "man"}, headers=agent
        ).status_code
        == 200
    )
    checked = client.post(f"/requests/{filed['id']}/verification/check", json={}, headers=agent)
    assert checked.status_code == 200, checked.json
    assert checked.json["status"] == "identity_verified"


def test_the_old_key_still_works_during_a_rotation(client):
    answer, _, _ = portal_call(client, portal_payload(), key=OLD_KEY)
    assert answer.status_code == 201


def test_the_same_portal_id_twice_files_one_request(client, database):
    payload = portal_payload()
    first, _, _ = portal_call(client, payload)
    second, _, _ = portal_call(client, payload, timestamp=int(time.time()) + 1)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["created"] is False
    assert second.json["request"]["id"] == first.json["request"]["id"]
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 1
        assert session.scalar(select(func.count()).select_from(PortalSubmission)) == 1
    other, _, _ = portal_call(
        client, {**payload, "national_id": valid_national_id()}, timestamp=int(time.time()) + 2
    )
    assert other.status_code == 409
    assert other.json["error"] == "conflict"


def test_a_replayed_call_is_refused(client, database):
    answer, raw, headers = portal_call(client, portal_payload())
    assert answer.status_code == 201
    replay = client.post("/portal/requests", data=raw, headers=headers)
    assert replay.status_code == 409
    assert replay.json["error"] == "replayed"


def test_a_bad_signature_is_refused_and_logged_masked(client, database, caplog):
    payload = portal_payload()
    caplog.set_level(logging.WARNING, logger="tawasul.security")
    answer, raw, headers = portal_call(client, payload, signature="0" * 64)
    assert answer.status_code == 401
    assert answer.json["error"] == "bad-signature"
    tampered = raw.replace(b'"en"', b'"ar"')
    headers["X-Portal-Signature"] = sign(b"b" * 40, headers["X-Portal-Timestamp"], raw)
    assert client.post("/portal/requests", data=tampered, headers=headers).status_code == 401
    unknown, _, _ = portal_call(client, payload, key="nobody:" + "c" * 40)
    assert unknown.status_code == 401
    missing = client.post("/portal/requests", json=payload)
    assert missing.status_code == 401
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0
    refused = [r for r in caplog.records if r.name == "tawasul.security"]
    assert len(refused) == 4
    assert "signature mismatch" in refused[0].getMessage()
    assert "unknown key id" in refused[2].getMessage()
    for record in refused:
        assert payload["national_id"] not in record.getMessage()
        assert "0551234567" not in record.getMessage()


def test_an_old_or_future_timestamp_is_refused(client, database):
    stale, _, _ = portal_call(client, portal_payload(), timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    assert "replay window" in stale.json["message"]
    future, _, _ = portal_call(client, portal_payload(), timestamp=int(time.time()) + 301)
    assert future.status_code == 401


def test_portal_submissions_are_validated(client):
    answer, _, _ = portal_call(client, portal_payload(national_id="1234567890"))
    assert answer.status_code == 422
    assert answer.json["details"]["field"] == "national_id"
    answer, _, _ = portal_call(client, portal_payload(role="admin"))
    assert answer.status_code == 422
    assert answer.json["details"]["fields"] == ["role"]


def test_a_portal_and_a_phone_request_of_one_requester_are_duplicates(client, auth, pii, requests):
    from tawasul.intake import IntakeService, NewRequest
    from tawasul.models import Language

    national_id = valid_national_id()
    with requests._database.sessions() as session:
        phoned = IntakeService(pii).file_request(
            session, NewRequest(national_id, Language.AR, "riyadh")
        )
        phoned_id = phoned.id
    answer, _, _ = portal_call(client, portal_payload(national_id=national_id))
    portal_id = answer.json["request"]["id"]
    seen = client.get(f"/requests/{portal_id}", headers=auth["agent"]).json
    assert [(d["id"], d["channel"]) for d in seen["open_duplicates"]] == [(phoned_id, "phone")]


def test_the_portal_and_a_fax_transcription_take_any_digits(client, auth, database, pii):
    from tawasul.faxes import FaxIntake, ReceivedFax
    from tawasul.intake import IntakeService

    national_id = valid_national_id()
    arabic = national_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    answer, _, _ = portal_call(
        client, portal_payload(national_id=arabic, mobile="\u200f+٩٦٦ ٥٥ ١٢٣ ٤٥٦٧\u200e")
    )
    assert answer.status_code == 201, answer.json
    with database.sessions() as session:
        filed = session.get(Request, answer.json["request"]["id"])
        assert filed is not None and filed.requester is not None
        assert filed.callback_number == "+966551234567"
        assert filed.requester.national_id_hash == pii.fingerprint(national_id)
    refused, _, _ = portal_call(client, portal_payload(mobile="٠١١٢٣٤٥٦٧٨"))
    assert refused.status_code == 422 and refused.json["details"]["field"] == "mobile"

    with database.sessions() as session:
        reception = FaxIntake(IntakeService(pii)).record(
            session,
            ReceivedFax("1.2", "0112345678", "SUCCESS", "NO_ERROR", "OK", "", None, 0),
            "riyadh",
            None,
        )
        fax_request_id = reception.request_id
    persian = national_id.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    done = client.post(
        f"/requests/{fax_request_id}/requester",
        json={"national_id": f" {persian[:4]}-{persian[4:]} ", "mobile": "۰۵۵۱۲۳۴۵۶۷"},
        headers=auth["agent"],
    )
    assert done.status_code == 200, done.json
    # The same requester as the portal's: the two requests are duplicates of each other.
    assert [d["id"] for d in done.json["open_duplicates"]] == [answer.json["request"]["id"]]
    assert done.json["callback_number"] == "+966******567"
