"""An SMS centre on loopback for the SMPP tests, built on smpplib's PDU classes.

It answers bind_transceiver, submit_sm (with a message_id), enquire_link and unbind, sends a
delivery receipt (deliver_sm, esm_class 0x04) for every part it accepts, and can drop the bind
on the n-th submit_sm without answering it: a part it did not answer it did not take.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any

import smpplib.consts
import smpplib.gsm
import smpplib.smpp


@dataclass(frozen=True)
class Submitted:
    """One submit_sm the centre accepted."""

    message_id: str
    source_addr: str
    source_addr_ton: int
    destination_addr: str
    data_coding: int
    esm_class: int
    short_message: bytes

    @property
    def udh(self) -> tuple[int, int, int] | None:
        """(reference, total, seq) of a concatenated part, else None."""
        if not self.esm_class & 0x40:
            return None
        header = self.short_message[: self.short_message[0] + 1]
        assert header[1:3] == b"\x00\x03", header
        return header[3], header[4], header[5]

    @property
    def text(self) -> str:
        """The part's text, decoded by its data_coding."""
        payload = self.short_message
        if self.esm_class & 0x40:
            payload = payload[payload[0] + 1 :]
        if self.data_coding == 8:
            return payload.decode("utf-16-be")
        chars, escaped = [], False
        for byte in payload:
            if byte == 0x1B:
                escaped = True
                continue
            chars.append(GSM[byte + 0x80 if escaped else byte])
            escaped = False
        return "".join(chars)


GSM = smpplib.gsm.GSM_CHARACTER_TABLE
"""smpplib's GSM 03.38 table: one octet per septet, 0x1B escapes to the extension."""


class _Sequence:
    """The client-like object smpplib's PDU classes number their requests with."""

    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


class SmscStub:
    """A loopback SMS centre; ``port`` is where it listens."""

    def __init__(self, undeliverable: frozenset[str] = frozenset()) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self.port: int = self._server.getsockname()[1]
        self.undeliverable = undeliverable
        self.lock = threading.Lock()
        self.submitted: list[Submitted] = []
        self.received_submits = 0
        self.binds = 0
        self.drop_on_submit: int | None = None
        """Close the bind, unanswered, when this many submit_sm have come in (once)."""
        self.answer_delay_s = 0.0
        """Answer each submit_sm this long after it came in (on a timer thread)."""
        self.refuse: dict[str, int] = {}
        """Destination -> the error status its submit_sm_resp carries."""
        self.throttle_first = 0
        """Answer this many submits ESME_RTHROTTLED before taking any."""
        self.refused: list[tuple[str, int]] = []
        self.outstanding = 0
        self.most_outstanding = 0
        """The most submit_sm received and not yet answered at once."""
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1000)
        self._sequence = _Sequence()
        self._closing = False
        self._connections: list[socket.socket] = []
        self._unacknowledged: dict[int, bytes] = {}
        """Receipts sent without a deliver_sm_resp: sent again on the next bind."""
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening and drop every bind."""
        self._closing = True
        with contextlib.suppress(OSError):
            self._server.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> Any:
        head = self._exact(connection, 4)
        (length,) = struct.unpack(">L", head)
        raw = head + self._exact(connection, length - 4)
        return smpplib.smpp.parse_pdu(raw, client=_Sequence(), allow_unknown_opt_params=True)

    @staticmethod
    def _exact(connection: socket.socket, size: int) -> bytes:
        chunks = b""
        while len(chunks) < size:
            chunk = connection.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("closed")
            chunks += chunk
        return chunks

    def _answer(
        self, connection: socket.socket, command: str, sequence: int, **fields: Any
    ) -> None:
        pdu = smpplib.smpp.make_pdu(command, client=self._sequence, **fields)
        pdu.sequence = sequence
        connection.sendall(pdu.generate())

    def _serve(self, connection: socket.socket) -> None:
        try:
            while True:
                pdu = self._read(connection)
                if pdu.command == "bind_transceiver":
                    with self.lock:
                        self.binds += 1
                    self._answer(
                        connection, "bind_transceiver_resp", pdu.sequence, system_id="stub"
                    )
                    with self.lock:
                        again = list(self._unacknowledged.values())
                    for receipt in again:
                        with self._send_lock:
                            connection.sendall(receipt)
                elif pdu.command == "deliver_sm_resp":
                    with self.lock:
                        self._unacknowledged.pop(pdu.sequence, None)
                elif pdu.command == "submit_sm":
                    if not self._submit(connection, pdu):
                        self._drop(connection)
                        return
                elif pdu.command == "enquire_link":
                    self._answer(connection, "enquire_link_resp", pdu.sequence)
                elif pdu.command == "unbind":
                    self._answer(connection, "unbind_resp", pdu.sequence)
                    return
        except (ConnectionError, OSError):
            return
        finally:
            with contextlib.suppress(OSError):
                connection.close()

    def _drop(self, connection: socket.socket) -> None:
        """Close the bind: what was answered stays readable; what comes in is discarded."""
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(0.5)
        with contextlib.suppress(OSError):
            while connection.recv(65536):
                pass

    def _submit(self, connection: socket.socket, pdu: Any) -> bool:
        with self.lock:
            self.received_submits += 1
            if self.drop_on_submit is not None and self.received_submits >= self.drop_on_submit:
                self.drop_on_submit = None
                return False  # dropped mid-batch: this submit was never answered nor taken
            destination = pdu.destination_addr.decode()
            status = self.refuse.get(destination, 0)
            if not status and self.throttle_first > 0:
                self.throttle_first -= 1
                status = smpplib.consts.SMPP_ESME_RTHROTTLED
            self.outstanding += 1
            self.most_outstanding = max(self.most_outstanding, self.outstanding)
            message_id = f"{next(self._ids):x}"
            submitted = Submitted(
                message_id,
                pdu.source_addr.decode(),
                pdu.source_addr_ton,
                destination,
                pdu.data_coding,
                pdu.esm_class,
                pdu.short_message,
            )
        if self.answer_delay_s:
            # Answered later, from another thread: the client may have more in flight meanwhile.
            timer = threading.Timer(
                self.answer_delay_s, self._accept_or_refuse, (connection, pdu, submitted, status)
            )
            timer.daemon = True
            timer.start()
        else:
            self._accept_or_refuse(connection, pdu, submitted, status)
        return True

    def _accept_or_refuse(
        self, connection: socket.socket, pdu: Any, submitted: Submitted, status: int
    ) -> None:
        with self.lock:
            # No longer outstanding once its answer is on its way: the client may send the next
            # part the moment the answer arrives, before this thread would get the lock back.
            self.outstanding -= 1
        try:
            if status:
                self._answer(connection, "submit_sm_resp", pdu.sequence, status=status)
                with self.lock:
                    self.refused.append((submitted.destination_addr, status))
                return
            with self.lock:
                self.submitted.append(submitted)
            try:
                self._answer(
                    connection, "submit_sm_resp", pdu.sequence, message_id=submitted.message_id
                )
            except OSError:
                with self.lock:
                    # Taken only if the answer left: a part never answered was never taken.
                    self.submitted.remove(submitted)
                raise
            self._receipt(connection, submitted)
        except OSError:
            return

    def _receipt(self, connection: socket.socket, submitted: Submitted) -> None:
        message_id = submitted.message_id
        failed = submitted.destination_addr in self.undeliverable
        stat, err = ("UNDELIV", "001") if failed else ("DELIVRD", "000")
        receipt = (
            f"id:{message_id} sub:001 dlvrd:{'000' if failed else '001'} "
            f"submit date:2611301200 done date:2611301201 stat:{stat} err:{err} text:"
        )
        with self.lock:
            deliver = smpplib.smpp.make_pdu(
                "deliver_sm",
                client=self._sequence,
                source_addr=submitted.destination_addr,
                destination_addr=submitted.source_addr,
                esm_class=smpplib.consts.SMPP_MSGTYPE_DEFAULT | 0x04,
                data_coding=0,
                short_message=receipt.encode("ascii"),
            )
            raw = deliver.generate()
            self._unacknowledged[deliver.sequence] = raw
        with self._send_lock:
            connection.sendall(raw)
