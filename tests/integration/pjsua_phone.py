"""Desk phones for the tests: pjsua2 (PyPI ``pjsua2-python``) user agents that register.

One pjsua2 library per process (it allows no second one), polled by a thread of ours; each
:class:`DeskPhone` is one account on its own loopback address (127.0.0.x), so a test that gets
an address blocked blocks no other phone. Audio goes to pjsua's null device.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pjsua2 as pj

_LOCK = threading.Lock()
_LIBRARY: _Library | None = None


class _Library:
    def __init__(self) -> None:
        self.endpoint = pj.Endpoint()
        self.endpoint.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.mainThreadOnly = False
        # Calls of every phone of the process share the library's slots (pjsua's default is
        # 4): a slot still held by an earlier test's call would answer a new INVITE "busy".
        config.uaConfig.maxCalls = 32
        config.logConfig.level = 1
        config.logConfig.consoleLevel = 0
        config.medConfig.noVad = True
        self.endpoint.libInit(config)
        self.transports: dict[str, int] = {}
        self.endpoint.libStart()
        self.endpoint.audDevManager().setNullDev()
        self._thread = threading.Thread(target=self._poll, name="pjsua", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        self.endpoint.libRegisterThread("pjsua-poll")
        while True:
            self.endpoint.libHandleEvents(20)

    def transport(self, address: str) -> int:
        with _LOCK:
            if address not in self.transports:
                config = pj.TransportConfig()
                config.port = 0
                config.boundAddress = address
                config.publicAddress = address
                self.transports[address] = self.endpoint.transportCreate(
                    pj.PJSIP_TRANSPORT_UDP, config
                )
            return self.transports[address]


def library() -> _Library:
    """The process's pjsua2 library, started on first use."""
    global _LIBRARY
    with _LOCK:
        if _LIBRARY is None:
            _LIBRARY = _Library()
        return _LIBRARY


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, phone: DeskPhone, account: pj.Account, call_id: int) -> None:
        super().__init__(account, call_id)
        self.phone = phone
        self.state = "incoming"
        self.confirmed = False
        self.player: Any = None
        self.transfer_status: list[int] = []
        """Status codes of this call's transfers (REFER's answer, then its NOTIFYs)."""

    def onCallMediaState(self, _prm: Any) -> None:  # noqa: N802 (pjsua2's name)
        if self.phone.tone is None or self.player is not None:
            return
        self._play()

    def _play(self) -> None:
        info = self.getInfo()  # kept: its media vector dies with it
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.player = pj.AudioMediaPlayer()
                self.player.createPlayer(str(self.phone.tone))
                self.player.startTransmit(self.getAudioMedia(index))
                return

    def onCallTransferRequest(self, prm: Any) -> None:  # noqa: N802 (pjsua2's name)
        pass

    def onCallTransferStatus(self, prm: Any) -> None:  # noqa: N802 (pjsua2's name)
        self.transfer_status.append(int(prm.statusCode))

    def onCallState(self, _prm: Any) -> None:  # noqa: N802 (pjsua2's name)
        info = self.getInfo()
        self.state = info.stateText.lower()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed = True
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.phone.calls_ended += 1


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, phone: DeskPhone) -> None:
        super().__init__()
        self.phone = phone

    def onRegState(self, prm: Any) -> None:  # noqa: N802 (pjsua2's name)
        self.phone.last_status = int(prm.code)
        self.phone.registered = bool(self.getInfo().regIsActive)
        self.phone.registrations += 1

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 (pjsua2's name)
        call = _Call(self.phone, self, prm.callId)
        self.phone.invites.append(str(prm.rdata.wholeMsg))
        self.phone.calls.append(call)
        answer = pj.CallOpParam()
        answer.statusCode = 200 if self.phone.auto_answer else 180
        call.answer(answer)


class DeskPhone:
    """A SIP phone registered (or trying to be) as one account."""

    def __init__(
        self,
        user: str,
        password: str,
        sip_port: int,
        address: str = "127.0.0.1",
        auto_answer: bool = True,
        realm: str = "*",
        tone: Path | None = None,
    ) -> None:
        self.user = user
        self.tone = tone
        """A WAV the phone plays into every call (looped), as if its user spoke."""
        self.auto_answer = auto_answer
        self.registered = False
        self.last_status = 0
        self.registrations = 0
        self.calls: list[_Call] = []
        self.invites: list[str] = []
        """Each incoming INVITE as received (headers and SDP)."""
        self.calls_ended = 0
        lib = library()
        lib.endpoint.libRegisterThread(threading.current_thread().name)
        config = pj.AccountConfig()
        config.idUri = f"sip:{user}@127.0.0.1"
        config.regConfig.registrarUri = f"sip:127.0.0.1:{sip_port}"
        config.regConfig.timeoutSec = 300
        config.regConfig.retryIntervalSec = 0  # a refused registration is not retried
        config.sipConfig.transportId = lib.transport(address)
        credential = pj.AuthCredInfo("digest", realm, user, 0, password)
        config.sipConfig.authCreds.append(credential)
        self._account = _Account(self)
        self._account.create(config)

    def wait(self, condition: Any, timeout_s: float, what: str) -> None:
        """Poll until ``condition()``; AssertionError naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.user}: timed out waiting for {what}")
            time.sleep(0.05)

    def call(self, uri: str) -> None:
        """Call ``uri`` from this phone."""
        call = _Call(self, self._account, pj.PJSUA_INVALID_ID)
        self.calls.append(call)
        call.makeCall(uri, pj.CallOpParam(True))

    def register_again(self) -> None:
        """Send a new REGISTER now."""
        self._account.setRegistration(True)

    def hang_up(self) -> None:
        """End every call of the phone."""
        for call in self.calls:
            try:
                call.hangup(pj.CallOpParam())
            except Exception:  # noqa: BLE001, S110 (pjsua2 raises its own: already ended)
                pass

    def close(self) -> None:
        """Hang up and unregister; the account is destroyed."""
        self.hang_up()
        try:
            if self.registered:
                self._account.setRegistration(False)
        except Exception:  # noqa: BLE001, S110 (not registered any more)
            pass
        self._account.shutdown()
