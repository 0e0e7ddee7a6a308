"""The call's journey: steps are noted as the caller goes and kept whatever ends the call."""

from __future__ import annotations

from sqlalchemy import func, select

from tawasul.intake import IntakeService
from tawasul.models import Call, CallOutcome, Language, Request
from tawasul.pii import PiiProtector
from tests.helpers import Database


def test_steps_noted_since_the_last_commit_survive_the_end_of_the_call(
    database: Database, pii: PiiProtector
) -> None:
    intake = IntakeService(pii)
    with database.sessions() as session:
        call = intake.open_call(session, "journey-1.2", "0551234567")
        intake.set_language(session, call, Language.EN)  # commits
        intake.note_step(call, "main_menu", "1")
        intake.note_step(call, "national_id_no_input")
        # A lookup after the last commit leaves a transaction open, as a script's query does;
        # the caller hangs up there and the call is closed.
        session.scalar(select(func.count(Request.id)))
        assert session.in_transaction()
        intake.close_call(session, call, CallOutcome.HUNG_UP)
    with database.sessions() as session:
        stored = session.scalars(select(Call).where(Call.uniqueid == "journey-1.2")).one()
        assert [entry["step"] for entry in stored.journey] == [
            "language",
            "main_menu",
            "national_id_no_input",
        ]
        assert stored.journey[1]["input"] == "1"
        assert stored.outcome == CallOutcome.HUNG_UP and stored.ended_at is not None


def test_a_change_left_half_done_is_rolled_back_at_the_end_of_the_call(
    database: Database, pii: PiiProtector
) -> None:
    intake = IntakeService(pii)
    with database.sessions() as session:
        call = intake.open_call(session, "journey-2.2", "0551234567")
        call.caller_id = "0000000000"  # not committed: the script failed before its commit
        intake.note_step(call, "main_menu", "1")
        session.flush()
        intake.close_call(session, call, CallOutcome.FAILED)
    with database.sessions() as session:
        stored = session.scalars(select(Call).where(Call.uniqueid == "journey-2.2")).one()
        assert stored.caller_id == "0551234567"
        assert [entry["step"] for entry in stored.journey] == ["main_menu"]
        assert stored.outcome == CallOutcome.FAILED
