"""Identity verification: the one-time code by SMS, and the national e-services adapter."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from agent_api import create_app
from providers.build import identity_verifier
from providers.national_identity import NationalIdentityVerifier
from tawasul.models import IdentityVerification, OutboxKind


def claim(client, auth, rid):
    answer = client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    assert answer.status_code == 200


def last_code(requests, rid) -> str:
    rows = [
        r for r in requests.outbox(rid, OutboxKind.SMS) if r.payload["stage"] == "verification_code"
    ]
    return rows[-1].payload["params"]["code"]


def test_the_code_is_texted_and_only_its_hash_stored(client, auth, requests, database):
    rid = requests.file().id
    claim(client, auth, rid)
    started = client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    assert started.status_code == 201
    assert started.json["provider"] == "sms" and started.json["attempts_left"] == 3
    code = last_code(requests, rid)
    assert len(code) == 6 and code.isdigit()
    row = requests.outbox(rid, OutboxKind.SMS)[-1]
    assert row.payload["params"]["minutes"] == 5
    with database.sessions() as session:
        stored = session.scalars(select(IdentityVerification)).one()
    assert stored.secret_hash and code not in stored.secret_hash and len(stored.secret_hash) == 64


def test_wrong_codes_count_and_run_out(client, auth, requests):
    rid = requests.file().id
    claim(client, auth, rid)
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    code = last_code(requests, rid)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/requests/{rid}/verification/check"
    first = client.post(url, json={"code": wrong}, headers=auth["agent"])
    assert first.status_code == 422
    assert first.json["details"] == {"reason": "wrong", "attempts_left": 2}
    client.post(url, json={"code": wrong}, headers=auth["agent"])
    third = client.post(url, json={"code": wrong}, headers=auth["agent"])
    assert third.status_code == 429
    # Used up: even the right code no longer works; a new verification is needed.
    assert client.post(url, json={"code": code}, headers=auth["agent"]).status_code == 429
    assert requests.get(rid).status == "in_review"
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    fresh = last_code(requests, rid)
    assert client.post(url, json={"code": fresh}, headers=auth["agent"]).status_code == 200
    outcomes = [e.details.get("outcome") for e in requests.events(rid) if "outcome" in e.details]
    assert outcomes == ["wrong", "wrong", "exhausted", "exhausted", "verified"]


def test_an_expired_code_is_refused(client, auth, requests, database):
    rid = requests.file().id
    claim(client, auth, rid)
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    with database.sessions() as session:
        row = session.scalars(select(IdentityVerification)).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        session.commit()
    answer = client.post(
        f"/requests/{rid}/verification/check",
        json={"code": last_code(requests, rid)},
        headers=auth["agent"],
    )
    assert answer.status_code == 422 and answer.json["details"]["reason"] == "expired"


def test_verification_needs_a_request_in_review(client, auth, requests):
    rid = requests.file().id
    answer = client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    assert answer.status_code == 409
    assert answer.json["details"]["allowed"] == ["cancelled", "in_review"]


class FakeEServices(BaseHTTPRequestHandler):
    """The national identity API, as its integration agreement describes it."""

    state: dict = {}

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.state["started"] = json.loads(self.rfile.read(length))
        self._answer(201, {"id": "txn-42", "expires_in": 120})

    def do_GET(self):
        if self.path != "/api/verifications/txn-42":
            self._answer(404, {"error": "unknown"})
            return
        self._answer(200, {"status": self.state.get("status", "pending")})

    def _answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def eservices() -> Iterator[str]:
    FakeEServices.state = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEServices)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_the_national_eservices_adapter(api_settings, database, pii, auth, requests, eservices):
    import dataclasses

    from tests.api.support import valid_national_id

    settings = dataclasses.replace(
        api_settings, identity_provider="national", identity_api_url=eservices
    )
    client = create_app(
        settings, sessions=database.sessions, identity_verifier=identity_verifier(settings, pii)
    ).test_client()
    national_id = valid_national_id()
    from tawasul.intake import IntakeService, NewRequest
    from tawasul.models import Language

    with database.sessions() as session:
        filed = IntakeService(pii).file_request(
            session, NewRequest(national_id, Language.AR, "riyadh", callback_number="+966501234567")
        )
        rid = filed.id
    claim(client, auth, rid)
    started = client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    assert started.status_code == 201, started.json
    assert started.json["provider"] == "national"
    assert FakeEServices.state["started"] == {
        "national_id": national_id,
        "reference": filed.reference_number,
    }
    url = f"/requests/{rid}/verification/check"
    pending = client.post(url, headers=auth["agent"])
    assert pending.status_code == 422 and pending.json["details"]["reason"] == "pending"
    FakeEServices.state["status"] = "approved"
    done = client.post(url, headers=auth["agent"])
    assert done.status_code == 200 and done.json["status"] == "identity_verified"


def test_the_national_adapter_refusal_and_outage(pii, database, eservices):
    verifier = NationalIdentityVerifier("http://127.0.0.1:1/api", pii, timeout_s=2)
    from tawasul.ports import DeliveryError

    with database.sessions() as session:
        row = IdentityVerification(
            request_id=1,
            provider="national",
            external_id="txn-42",
            expires_at=_future(),
            started_by=1,
        )
        with pytest.raises(DeliveryError):
            verifier.check(session, row, "")
        FakeEServices.state["status"] = "rejected"
        reachable = NationalIdentityVerifier(eservices, pii)
        from tawasul.ports import VerificationOutcome

        assert reachable.check(session, row, "") == VerificationOutcome.REFUSED
        assert reachable.check(session, row, "") == VerificationOutcome.EXHAUSTED
    with pytest.raises(ValueError):
        NationalIdentityVerifier("file:///etc/passwd", pii)


def _future():
    from datetime import UTC, datetime

    return datetime.now(UTC) + timedelta(minutes=5)


def test_the_app_refuses_a_provider_its_composition_root_did_not_build(api_settings, database):
    import dataclasses

    from tawasul.errors import ConfigError

    settings = dataclasses.replace(
        api_settings, identity_provider="national", identity_api_url="https://id.test/api"
    )
    with pytest.raises(ConfigError):
        create_app(settings, sessions=database.sessions)


def test_a_code_typed_in_arabic_digits_or_pasted_is_the_code(client, auth, requests):
    rid = requests.file().id
    claim(client, auth, rid)
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    code = last_code(requests, rid)
    url = f"/requests/{rid}/verification/check"
    # Not a code even after normalisation: refused by name, and no attempt is burnt.
    for garbage in ("٦٣٨٧٨", "abcdef", "6387842", "٦٣٨٧٨٤²", ""):
        refused = client.post(url, json={"code": garbage}, headers=auth["agent"])
        assert refused.status_code == 422 and refused.json["details"]["field"] == "code"
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    typed = f"\u200f{arabic[:3]} {arabic[3:]}\u200e"
    answer = client.post(url, json={"code": typed}, headers=auth["agent"])
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "identity_verified"
    outcomes = [e.details.get("outcome") for e in requests.events(rid) if "outcome" in e.details]
    assert outcomes == ["verified"]


def test_a_code_in_persian_digits_is_the_code(client, auth, requests):
    rid = requests.file().id
    claim(client, auth, rid)
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    persian = last_code(requests, rid).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    answer = client.post(
        f"/requests/{rid}/verification/check", json={"code": persian}, headers=auth["agent"]
    )
    assert answer.status_code == 200, answer.json
