"""SMS through an SMS centre over SMPP 3.4 (``smpplib`` encodes and decodes every PDU).

Two halves, in two processes:

- :class:`SmppHandover` is the ``SmsSender`` of the job worker: it records the message's parts
  as owed to the centre (``tawasul.sms_centre``) and returns; it never waits on the network.
- :class:`SmppBind` runs in ``tawasul smpp``, the one process that holds the transceiver bind:
  it submits the owed parts in priority order within a window of outstanding submit_sm, keeps
  the bind alive with enquire_link, rebinds with a growing back-off when it drops, and records
  the submit_sm_resp message_ids and the delivery receipts.

One bind for the whole centre (not one per worker) because SMS centres allow an account few
binds and count its throughput across them; and because the bind must be read all the time
(receipts, enquire_link) while a worker's thread is busy for minutes with a callback.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tawasul.masking import mask_phone
from tawasul.models import utcnow
from tawasul.ports import DeliveryError, SmsReceipt
from tawasul.sms_centre import CentreReceipt, PartToSubmit, SmsCentreQueue
from tawasul.sms_parts import SmsEncoding

log = logging.getLogger(__name__)
PDU_LOGGER = "providers.smpp.pdu"
# smpplib logs every PDU in hex at DEBUG: numbers and texts that the log scrubbing cannot see.
logging.getLogger(PDU_LOGGER).setLevel(logging.INFO)

DATA_CODING_GSM7 = smpplib.consts.SMPP_ENCODING_DEFAULT
"""0: the centre's default alphabet (GSM 03.38), one octet per septet on the bind."""
DATA_CODING_UCS2 = smpplib.consts.SMPP_ENCODING_ISO10646
"""8: UCS-2 (UTF-16 big-endian), for Arabic."""
ESM_CLASS_UDHI = smpplib.consts.SMPP_GSMFEAT_UDHI
"""0x40: the short message starts with a user data header (concatenation)."""
ESM_CLASS_RECEIPT = 0x04
"""Message type bits xx0001xx of a deliver_sm: an SMSC delivery receipt."""
REGISTERED_DELIVERY_FINAL = 1
"""Ask for a receipt on the final outcome, delivered or not."""

TRANSIENT_STATUSES = frozenset(
    {
        smpplib.consts.SMPP_ESME_RSYSERR,
        smpplib.consts.SMPP_ESME_RMSGQFUL,
        smpplib.consts.SMPP_ESME_RSUBMITFAIL,
        smpplib.consts.SMPP_ESME_RTHROTTLED,
        smpplib.consts.SMPP_ESME_RX_T_APPN,
    }
)
"""submit_sm_resp statuses that say "not now": the part is submitted again later."""
RETRY_AFTER = timedelta(seconds=5)

MESSAGE_STATES = {
    2: ("DELIVRD", True),
    3: ("EXPIRED", False),
    4: ("DELETED", False),
    5: ("UNDELIV", False),
    7: ("UNKNOWN", False),
    8: ("REJECTD", False),
}
"""SMPP 3.4 message_state values that are final, with their receipt text and outcome."""
FINAL_STATS = {name: delivered for name, delivered in MESSAGE_STATES.values()}
_RECEIPT_FIELD = re.compile(r"\b(id|stat|err):\s*([^\s]*)", re.IGNORECASE)


@dataclass(frozen=True)
class SmppAccount:
    """Where the SMS centre listens and how this centre binds to it."""

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    sender_id: str = "TAWASUL"
    window: int = 10
    """Most submit_sm outstanding (sent, no submit_sm_resp yet) at once."""
    max_per_second: float = 0.0
    """Most submit_sm a second the account is allowed (0: only the window limits)."""
    enquire_link_s: float = 30.0
    response_timeout_s: float = 10.0
    """A PDU the centre does not answer within this: the bind is dead."""
    reconnect_max_s: float = 60.0


def encode_part(part: PartToSubmit, reference: int) -> tuple[int, int, bytes]:
    """The data_coding, esm_class and short_message of one part.

    Args:
        part: the part, cut where ``tawasul.sms_parts`` cuts.
        reference: the concatenation reference (0-255), the same for every part of a message
            and every resubmit of it, so the handset joins the right pieces.

    Returns:
        ``(data_coding, esm_class, short_message)``.
    """
    if part.encoding == SmsEncoding.GSM7:
        data_coding, payload = DATA_CODING_GSM7, smpplib.gsm.gsm_encode(part.text)
    else:
        data_coding, payload = DATA_CODING_UCS2, part.text.encode("utf-16-be")
    if part.total == 1:
        return data_coding, smpplib.consts.SMPP_MSGTYPE_DEFAULT, payload
    # IEI 0x00: concatenated short message, 8-bit reference.
    header = bytes((0x05, 0x00, 0x03, reference & 0xFF, part.total, part.seq))
    return data_coding, ESM_CLASS_UDHI, header + payload


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1").rstrip("\x00")
    return str(value)


def parse_receipt(pdu: Any) -> CentreReceipt | None:
    """The delivery receipt a deliver_sm carries, or None for a message from a handset.

    The receipted_message_id and message_state parameters win over the receipt text
    (``id:... stat:... err:...``) when the centre sends both.
    """
    if not (int(pdu.esm_class or 0) & ESM_CLASS_RECEIPT):
        return None
    fields = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(_text(pdu.short_message))}
    message_id = _text(getattr(pdu, "receipted_message_id", None)) or fields.get("id", "")
    state = getattr(pdu, "message_state", None)
    stat = fields.get("stat", "").upper()
    if state in MESSAGE_STATES:
        stat = MESSAGE_STATES[state][0]
    err = fields.get("err", "")
    if not message_id:
        return None
    final = stat in FINAL_STATS
    return CentreReceipt(
        message_id, final, FINAL_STATS.get(stat, False), f"stat:{stat or '?'} err:{err or '?'}"
    )


class SmppHandover:
    """The worker's ``SmsSender`` for an SMS centre: record the parts owed, return at once."""

    name = "smpp"

    def __init__(self, sessions: sessionmaker[Session], queue: SmsCentreQueue) -> None:
        self._sessions = sessions
        self._queue = queue

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        """Owe the bind the message's parts (once per key); ``tawasul smpp`` submits them.

        Raises:
            DeliveryError: (not permanent) the parts could not be recorded.
        """
        try:
            with self._sessions() as session:
                parts = self._queue.hand_over(session, idempotency_key)
        except (LookupError, SQLAlchemyError) as exc:
            raise DeliveryError(f"not handed to the SMS centre: {exc}", permanent=False) from exc
        log.info(
            "SMS %s to %s: %d parts for the SMS centre",
            idempotency_key,
            mask_phone(to_number),
            parts,
        )
        return SmsReceipt(idempotency_key)


class LinkDown(Exception):
    """The bind is gone (closed, silent, refused): drop it and bind again."""


@dataclass
class _InFlight:
    part_id: int
    sent_at: float


class SmppBind:
    """The long-lived transceiver bind of ``tawasul smpp``: submits, answers, receipts."""

    def __init__(
        self,
        account: SmppAccount,
        sessions: sessionmaker[Session],
        queue: SmsCentreQueue,
        poll_s: float = 0.25,
        settle_every_s: float = 2.0,
        retry_after: timedelta = RETRY_AFTER,
        client_factory: Callable[..., Any] = smpplib.client.Client,
    ) -> None:
        self._account = account
        self._sessions = sessions
        self._queue = queue
        self._poll_s = poll_s
        self._settle_every_s = settle_every_s
        self._retry_after = retry_after
        self._client_factory = client_factory
        self._client: Any = None
        self._in_flight: dict[int, _InFlight] = {}
        self._last_heard = 0.0
        self._enquiry_sent: float | None = None
        self._next_submit = 0.0
        self._last_settle = 0.0
        self.bound = threading.Event()
        """Set while the bind is up (tests and ``/health`` read it)."""
        self.binds = 0
        """How many times it has bound (a rebind after a drop counts)."""

    def run(self, stop: threading.Event) -> None:
        """Bind, serve and rebind until ``stop`` is set; unbind on the way out."""
        backoff = 1.0
        while not stop.is_set():
            try:
                self._bind()
                backoff = 1.0
                self._serve(stop)
            except (LinkDown, smpplib.exceptions.ConnectionError, OSError) as exc:
                log.warning(
                    "SMPP bind to %s:%s lost: %s", self._account.host, self._account.port, exc
                )
            except smpplib.exceptions.PDUError as exc:
                log.error(
                    "SMPP bind to %s:%s refused: %s", self._account.host, self._account.port, exc
                )
            except (SQLAlchemyError, smpplib.exceptions.UnknownCommandError):
                # The database went away, or the centre sent what SMPP 3.4 does not know:
                # drop the bind and start again rather than die with it.
                log.exception("SMPP bind to %s:%s dropped", self._account.host, self._account.port)
            finally:
                self._drop(unbind=stop.is_set())
            if not stop.is_set():
                stop.wait(backoff)
                backoff = min(backoff * 2, self._account.reconnect_max_s)

    # -- the bind --------------------------------------------------------------------------

    def _bind(self) -> None:
        account = self._account
        client = self._client_factory(
            account.host,
            account.port,
            timeout=account.response_timeout_s,
            allow_unknown_opt_params=True,
            logger_name=PDU_LOGGER,
        )
        self._client = client
        client.connect()
        client.bind_transceiver(
            system_id=account.system_id,
            password=account.password,
            system_type=account.system_type,
        )
        self._last_heard = time.monotonic()
        self._enquiry_sent = None
        # Only this process binds (tawasul smpp's lock): a part still submitting now was sent
        # on an earlier bind, or by a process that died, and never answered.
        with self._sessions() as session:
            self._queue.requeue_unanswered(session)
        self.binds += 1
        self.bound.set()
        log.info(
            "SMPP bound to %s:%s as %s (transceiver)", account.host, account.port, account.system_id
        )

    def _drop(self, unbind: bool) -> None:
        self.bound.clear()
        self._drain()
        client, self._client = self._client, None
        if client is not None:
            if unbind:
                with contextlib.suppress(Exception):
                    client.unbind()
            with contextlib.suppress(Exception):
                client.disconnect()
        unanswered = [flight.part_id for flight in self._in_flight.values()]
        self._in_flight.clear()
        if unanswered:
            try:
                with self._sessions() as session:
                    self._queue.requeue_unanswered(session, unanswered)
            except SQLAlchemyError as exc:
                log.warning("SMPP: unanswered parts go back to pending at the next bind (%s)", exc)

    def _drain(self) -> None:
        """Read what the centre sent before the bind went: an answer read here is a part
        that is not submitted twice."""
        client = self._client
        if client is None or client._socket is None:  # noqa: SLF001
            return
        try:
            while select.select([client._socket], [], [], 0)[0]:  # noqa: SLF001
                self._handle(client.read_pdu())
        except Exception:  # noqa: BLE001 (the bind is gone; what could be read was read)
            log.debug("SMPP: drained what the centre sent before the drop")

    def _serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._submit_due()
            readable, _, _ = select.select([self._client._socket], [], [], self._poll_s)  # noqa: SLF001
            if readable:
                self._handle(self._client.read_pdu())
            self._keep_alive()
            now = time.monotonic()
            if now - self._last_settle >= self._settle_every_s:
                self._last_settle = now
                with self._sessions() as session:
                    self._queue.settle_all(session)

    def _keep_alive(self) -> None:
        now = time.monotonic()
        timeout = self._account.response_timeout_s
        if any(now - flight.sent_at > timeout for flight in self._in_flight.values()):
            raise LinkDown(f"no submit_sm_resp within {timeout:g} s")
        if self._enquiry_sent is not None:
            if now - self._enquiry_sent > timeout:
                raise LinkDown(f"no enquire_link_resp within {timeout:g} s")
        elif now - self._last_heard >= self._account.enquire_link_s:
            self._client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=self._client))
            self._enquiry_sent = now

    # -- submitting ------------------------------------------------------------------------

    def _submit_due(self) -> None:
        room = self._account.window - len(self._in_flight)
        if room <= 0 or time.monotonic() < self._next_submit:
            return
        if self._account.max_per_second > 0:
            room = 1  # paced one at a time; the next waits 1/max_per_second
        with self._sessions() as session:
            parts = self._queue.claim(session, room)
        for part in parts:
            self._submit(part)

    def _submit(self, part: PartToSubmit) -> None:
        account = self._account
        data_coding, esm_class, short_message = encode_part(part, part.sms_message_id % 256)
        pdu = smpplib.smpp.make_pdu(
            "submit_sm",
            client=self._client,
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr_npi=smpplib.consts.SMPP_NPI_UNK,
            source_addr=account.sender_id,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr=part.to_number.removeprefix("+"),
            esm_class=esm_class,
            data_coding=data_coding,
            registered_delivery=REGISTERED_DELIVERY_FINAL,
            short_message=short_message,
        )
        # In flight before it leaves: if the send itself fails, the drop puts it back.
        self._in_flight[pdu.sequence] = _InFlight(part.part_id, time.monotonic())
        self._client.send_pdu(pdu)
        if account.max_per_second > 0:
            self._next_submit = time.monotonic() + 1 / account.max_per_second

    # -- what the centre sends -------------------------------------------------------------

    def _handle(self, pdu: Any) -> None:
        self._last_heard = time.monotonic()
        command = pdu.command
        if command == "submit_sm_resp" or (command == "generic_nack" and pdu.is_error()):
            self._answered(pdu)
        elif command == "deliver_sm":
            self._delivered(pdu)
        elif command == "enquire_link":
            answer = smpplib.smpp.make_pdu("enquire_link_resp", client=self._client)
            answer.sequence = pdu.sequence
            self._client.send_pdu(answer)
        elif command == "enquire_link_resp":
            self._enquiry_sent = None
        elif command == "unbind":
            answer = smpplib.smpp.make_pdu("unbind_resp", client=self._client)
            answer.sequence = pdu.sequence
            with contextlib.suppress(Exception):
                self._client.send_pdu(answer)
            raise LinkDown("the centre unbound")
        else:
            log.warning("SMPP: %s not handled", command)

    def _answered(self, pdu: Any) -> None:
        flight = self._in_flight.pop(pdu.sequence, None)
        if flight is None:
            log.warning("SMPP: answer to an unknown submit (sequence %s)", pdu.sequence)
            return
        with self._sessions() as session:
            if pdu.command == "submit_sm_resp" and not pdu.is_error():
                self._queue.accepted(session, flight.part_id, _text(pdu.message_id))
                return
            reason = f"{pdu.command} {pdu.status:#x}: {pdu.get_status_desc()}"
            if pdu.status in TRANSIENT_STATUSES:
                # "Not now": the part waits, and the bind pauses before its next submit.
                self._next_submit = time.monotonic() + self._retry_after.total_seconds()
                self._queue.refused(session, flight.part_id, reason, utcnow() + self._retry_after)
            else:
                log.warning("SMPP: the centre refused a part: %s", reason)
                self._queue.refused(session, flight.part_id, reason)

    def _delivered(self, pdu: Any) -> None:
        status = smpplib.consts.SMPP_ESME_ROK
        receipt = parse_receipt(pdu)
        if receipt is None:
            log.info("SMPP: a message from a handset, not handled (acknowledged)")
        else:
            try:
                with self._sessions() as session:
                    if not self._queue.receipt(session, receipt):
                        log.warning(
                            "SMPP: receipt for unknown message_id %s", receipt.centre_message_id
                        )
            except SQLAlchemyError:
                # Not acknowledged as received: the centre sends the receipt again.
                log.exception("SMPP: could not record a delivery receipt")
                status = smpplib.consts.SMPP_ESME_RX_T_APPN
        answer = smpplib.smpp.make_pdu("deliver_sm_resp", client=self._client, status=status)
        answer.sequence = pdu.sequence
        self._client.send_pdu(answer)
