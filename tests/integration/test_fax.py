"""Faxes through the real Asterisk: SendFAX on one half of a Local channel, ReceiveFAX on the
other, the fax script filing the request with its PDF, or the failure with Asterisk's reason."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from ivr.simulator import send_fax
from providers.ami import AMIClient
from tawasul.models import (
    Attachment,
    AttachmentKind,
    Call,
    CallOutcome,
    Channel,
    FaxReception,
    FaxStatus,
    OutboxKind,
    OutboxMessage,
    Request,
    RequestEvent,
)
from tawasul.vault import MAGIC, vault_for
from tawasul.workflow import RequestStatus
from tawasul_cli.asterisk import Harness
from tests.helpers import Database
from tests.integration.support import IVR, wait_until

pytestmark = pytest.mark.asterisk

SPOOL = "/var/spool/asterisk/tawasul"


@dataclasses.dataclass
class FaxMachine:
    """Sends faxes into the IVR's fax extension through AMI."""

    ami: AMIClient
    asterisk: Harness

    def send(self, pages: int, caller_id: str, cut_after_s: int | None = None) -> str:
        """Fax a generated document; return the receiving channel's UNIQUEID."""
        return send_fax(self.ami, self.asterisk.root, pages, caller_id, cut_after_s).ivr_uniqueid


@pytest.fixture
def fax_ivr(ivr: IVR, asterisk: Harness) -> IVR:
    """The test's FastAGI server, seeing the chroot's spool where ReceiveFAX writes."""
    ivr.runner.settings = dataclasses.replace(ivr.runner.settings, asterisk_root=str(asterisk.root))
    ivr.settings = ivr.runner.settings
    return ivr


@pytest.fixture
def fax_machine(ami: AMIClient, asterisk: Harness) -> FaxMachine:
    """The scripted sending fax machine."""
    return FaxMachine(ami, asterisk)


def reception(database: Database, uniqueid: str, timeout_s: float = 120) -> FaxReception:
    """Wait for the fax script to record the fax received on ``uniqueid``."""

    def find() -> FaxReception | None:
        with database.sessions() as session:
            return session.scalar(select(FaxReception).where(FaxReception.uniqueid == uniqueid))

    wait_until(find, timeout_s, f"fax {uniqueid} to be recorded")
    found = find()
    assert found is not None
    return found


def test_a_fax_becomes_a_request_with_its_pdf(
    fax_ivr: IVR, fax_machine: FaxMachine, database: Database, asterisk: Harness
) -> None:
    uniqueid = fax_machine.send(pages=3, caller_id="0551234567")
    received = reception(database, uniqueid)

    assert received.status == FaxStatus.RECEIVED
    assert received.fax_status == "SUCCESS"
    assert received.pages == 3
    assert received.sender == "0551234567"
    with database.sessions() as session:
        request = session.get(Request, received.request_id)
        assert request is not None
        assert request.channel == Channel.FAX
        assert request.status == RequestStatus.RECEIVED
        assert request.is_partial is False
        assert request.requester_id is None  # an agent transcribes the ID from the document
        assert request.callback_number == "+966551234567"
        attachments = session.scalars(
            select(Attachment).where(Attachment.request_id == request.id)
        ).all()
        assert [(a.kind, a.content_type) for a in attachments] == [
            (AttachmentKind.FAX, "application/pdf")
        ]
        stored = fax_ivr.settings.var_dir / attachments[0].path
        assert stored.read_bytes().startswith(MAGIC)  # encrypted at rest
        pdf = io.BytesIO(vault_for(fax_ivr.settings).read(stored))
        assert not Path(attachments[0].path).is_absolute()
        assert len(pypdf.PdfReader(pdf).pages) == 3
        kinds = {
            row.kind
            for row in session.scalars(
                select(OutboxMessage).where(OutboxMessage.request_id == request.id)
            )
        }
        assert kinds == {OutboxKind.SMS, OutboxKind.FORWARD}
        call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        assert call is not None and call.request_id == request.id
        assert call.outcome == CallOutcome.REQUEST_FILED
    # The TIFF left the chroot's spool: the PDF under the var directory is the document now.
    assert not list((asterisk.root / SPOOL.lstrip("/")).glob(f"fax-{uniqueid}.tif"))


def test_a_fax_cut_off_mid_transfer_is_recorded_with_the_reason(
    fax_ivr: IVR, fax_machine: FaxMachine, database: Database
) -> None:
    uniqueid = fax_machine.send(pages=6, caller_id="0112345678", cut_after_s=9)
    received = reception(database, uniqueid)

    assert received.status in (FaxStatus.FAILED, FaxStatus.PARTIAL)
    assert received.fax_status == "FAILED"
    assert received.fax_error  # Asterisk's reason, e.g. HANGUP
    assert received.pages < 6
    with database.sessions() as session:
        request = session.get(Request, received.request_id)
        assert request is not None
        assert request.channel == Channel.FAX
        assert request.is_partial is True
        assert request.callback_number is None  # a landline: no SMS, an agent calls back
        created = session.scalar(
            select(RequestEvent).where(
                RequestEvent.request_id == request.id, RequestEvent.kind == "created"
            )
        )
        assert created is not None
        assert created.details["fax"] == received.status.value
        assert received.fax_error in created.details["reason"]
        attachments = session.scalars(
            select(Attachment).where(Attachment.request_id == request.id)
        ).all()
        if received.pages:
            stored = fax_ivr.settings.var_dir / attachments[0].path
            pdf = io.BytesIO(vault_for(fax_ivr.settings).read(stored))
            assert len(pypdf.PdfReader(pdf).pages) == received.pages
        else:
            assert attachments == []
