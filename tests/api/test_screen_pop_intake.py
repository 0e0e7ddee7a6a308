"""The screen-pop's new-request form: a caller the agent speaks with is filed as a phone request,
linked to their call, in the caller's language, with category, meeting mode and official."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from agent_api.services import CONSOLE_EXTENSION as EXTENSION
from tawasul.intake import IntakeService
from tawasul.models import Call, Language, Request
from tests.api.support import valid_national_id

UNIQUEID = "1764500000.42"


@pytest.fixture
def pop(app, auth, database, pii) -> str:
    """A caller who chose English in the phone menu, connected to the agent: the pop's id."""
    with database.sessions() as session:
        call = IntakeService(pii).open_call(session, UNIQUEID, "0501234567")
        call.language = Language.EN
        session.commit()
    hub = app.extensions[EXTENSION].hub
    hub.handle_ami_event(
        {
            "Event": "AgentConnect",
            "Queue": "tawasul-riyadh",
            "Interface": "PJSIP/1001",
            "CallerIDNum": "0501234567",
            "Uniqueid": UNIQUEID,
            "Linkedid": UNIQUEID,
        }
    )
    return next(p.id for p in hub._pops.values() if p.user_id == auth.users["agent"].id)


def test_a_caller_is_filed_as_a_phone_request_linked_to_the_call(client, auth, database, pop):
    shown = client.get(f"/agent/screen-pops/{pop}", headers=auth["agent"]).json
    assert shown["caller_language"] == "en"
    with database.sessions() as session:
        call_id = session.scalar(select(Call.id).where(Call.uniqueid == UNIQUEID))
    assert shown["call_id"] == call_id

    answer = client.post(
        "/requests",
        json={
            "channel": "phone",
            "screen_pop_id": pop,
            "national_id": valid_national_id(),
            "mobile": "0501234567",
            "category": "woman",
            "meeting_mode": "video",
            "target_official": "Governor",
        },
        headers=auth["agent"],
    )

    assert answer.status_code == 201, answer.json
    filed = answer.json
    assert filed["channel"] == "phone"
    assert filed["language"] == "en"  # the caller's, from the phone menu
    assert (filed["category"], filed["meeting_mode"], filed["target_official"]) == (
        "woman",
        "video",
        "Governor",
    )
    with database.sessions() as session:
        call = session.scalar(select(Call).where(Call.uniqueid == UNIQUEID))
        assert call is not None and call.request_id == filed["id"]
        assert call.outcome == "in_progress"  # reaching an agent is the call's own story
    created = client.get(f"/requests/{filed['id']}/events", headers=auth["agent"]).json["items"]
    assert created[0]["details"]["channel"] == "phone"
    assert created[0]["details"]["call"] == UNIQUEID


def test_the_form_names_the_callers_language_and_may_use_the_call_id(client, auth, pop, database):
    with database.sessions() as session:
        call_id = session.scalar(select(Call.id).where(Call.uniqueid == UNIQUEID))
    answer = client.post(
        "/requests",
        json={
            "channel": "phone",
            "call_id": call_id,
            "national_id": valid_national_id(),
            "language": "ar",
        },
        headers=auth["agent"],
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["language"] == "ar"
    assert answer.json["channel"] == "phone"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "phone"}, "screen_pop_id"),
        ({"channel": "phone", "screen_pop_id": "not-a-pop"}, "screen_pop_id"),
        ({"channel": "phone", "call_id": 99999}, "call_id"),
        ({"channel": "phone", "call_id": "x"}, "call_id"),
        ({"channel": "manual", "screen_pop_id": "POP"}, "channel"),
        ({"channel": "phone", "screen_pop_id": "POP", "category": "child"}, "category"),
        ({"channel": "phone", "screen_pop_id": "POP", "meeting_mode": "fax"}, "meeting_mode"),
        ({"channel": "phone", "screen_pop_id": "POP", "target_official": "  "}, "target_official"),
        (
            {"channel": "phone", "screen_pop_id": "POP", "target_official": "x" * 65},
            "target_official",
        ),
        ({"channel": "phone", "screen_pop_id": "POP", "language": "fr"}, "language"),
    ],
)
def test_each_field_is_refused_by_name(client, auth, pop, database, fields, field):
    body = {"national_id": valid_national_id(), **fields}
    if body.get("screen_pop_id") == "POP":
        body["screen_pop_id"] = pop
    answer = client.post("/requests", json=body, headers=auth["agent"])
    assert answer.status_code == 422, answer.json
    assert answer.json["details"]["field"] == field
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0


def test_another_agents_pop_links_nothing(client, auth, pop, staff):
    other = staff.add("agent-two", extension="PJSIP/1002")
    answer = client.post(
        "/requests",
        json={"channel": "phone", "screen_pop_id": pop, "national_id": valid_national_id()},
        headers=staff.headers(other),
    )
    assert answer.status_code == 422
    assert answer.json["details"]["field"] == "screen_pop_id"
