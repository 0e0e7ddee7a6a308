"""Scripted callers: real calls into the IVR over Local channels, with DTMF, placed through AMI.

Used by the demo, the integration tests and the benchmarks. The caller's half of each call runs
``[tawasul-simulator]`` in the dialplan, which plays the script: ``w1.5`` waits 1.5 s, ``h``
hangs up, ``sen`` / ``sar`` speaks the caller's voice message (synthesised speech, English or
Arabic), anything else is sent as DTMF. Steps are separated by ``/``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import uuid
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ivr.paths import SPOOL
from ivr.prompts import AUDIO_DIR, EspeakEngine

INBOUND = "Local/s@tawasul-inbound/n"
_STEP = re.compile(r"w\d+(\.\d+)?|h|s(ar|en)|[0-9*#A-D]+")

CALLER_SPEECH = {
    # Vocalised, as the catalogue's ``ar_speech``: espeak-ng cannot guess unwritten vowels.
    "ar": "أَرْغَبُ فِي مُقَابَلَةِ الْوَزِيرِ بِخُصُوصِ تَرْخِيصِ مَحَلِّيَ التِّجَارِيِّ.",
    "en": "I would like to meet the minister about my shop licence.",
}
"""What a scripted caller says as their voice message: spoken by espeak-ng, as the prompts are,
so that the message a newcomer opens in the console is heard, not silence."""
SPEECH_NAME = "sim-caller-{language}"
"""The spoken message's file (without extension) in Asterisk's spool, per language."""

Message = dict[str, str]


class Originator(Protocol):
    """What the simulator needs from an AMI client: ``providers.ami.AMIClient`` does it.

    Structural, so that the phone adapter does not import the providers adapter; the composition
    root (the demo, a test) hands it the real client.
    """

    def add_listener(self, listener: Callable[[Message], None]) -> Callable[[], None]:
        """Call ``listener(event)`` for every event; return a function that removes it."""
        ...

    def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, object] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
    ) -> Message:
        """Start a call asynchronously (AMI Originate)."""
        ...


@dataclass(frozen=True)
class PlacedCall:
    """A scripted call; its two Local halves get ids we chose, so we can find them again."""

    ivr_uniqueid: str
    """UNIQUEID of the IVR side (Local;2), which the ``Call`` row records."""
    caller_uniqueid: str


def check_script(script: str) -> str:
    """Return the script if every step is a wait, a hang-up or DTMF digits.

    Raises:
        ValueError: for any other step (it would reach the dialplan as data).
    """
    for step in script.split("/"):
        if not _STEP.fullmatch(step):
            raise ValueError(f"bad simulator step {step!r}")
    return script


def caller_speech(asterisk_root: Path, engine: EspeakEngine | None = None) -> Path:
    """Render the scripted callers' voice messages into Asterisk's spool (once), where
    ``[tawasul-simulator]`` plays them (``SIM_SPEECH`` set); return the spool as Asterisk sees
    it.

    Args:
        asterisk_root: the directory Asterisk runs in (its chroot; "/" on a plain install).
        engine: the speech engine (default: espeak-ng).

    Raises:
        subprocess.CalledProcessError: espeak-ng or sox failed.
    """
    engine = engine or EspeakEngine()
    spool = asterisk_root / str(SPOOL).lstrip("/")
    for language, text in CALLER_SPEECH.items():
        target = spool / f"{SPEECH_NAME.format(language=language)}.wav"
        if target.exists() and target.stat().st_size > 44:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            spoken = Path(tmp) / "spoken.wav"
            engine.render(language, text, spoken)
            partial = Path(tmp) / "asterisk.wav"
            # Asterisk's wav: 8 kHz, mono, 16-bit signed PCM.
            subprocess.run(
                [
                    "sox",
                    str(spoken),
                    "-r",
                    "8000",
                    "-c",
                    "1",
                    "-b",
                    "16",
                    "-e",
                    "signed",
                    str(partial),
                ],
                check=True,
                capture_output=True,
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(partial.read_bytes())
            target.chmod(0o644)
    return Path(str(SPOOL))


class Simulator:
    """Places scripted calls and tells when each has ended.

    With ``asterisk_root``, a script's ``sen`` / ``sar`` step speaks a voice message into the
    call (:func:`caller_speech`); without it, the step is 3 s of silence, which the phone menu
    does not keep as a message.
    """

    def __init__(self, ami: Originator, asterisk_root: Path | None = None) -> None:
        self.ami = ami
        self._speech = False
        if asterisk_root is not None:
            caller_speech(asterisk_root)
            self._speech = True
        self._ended: set[str] = set()
        self._changed = threading.Condition()
        self._remove = ami.add_listener(self._on_event)

    def _on_event(self, event: Message) -> None:
        if event.get("Event") == "Hangup":
            with self._changed:
                self._ended.add(event.get("Uniqueid", ""))
                self._changed.notify_all()

    def call(self, script: str, caller_id: str = "0501234567") -> PlacedCall:
        """Call the IVR; the caller's side plays ``script``."""
        return self.call_into(INBOUND, script, {}, caller_id)

    def call_into(
        self,
        destination: str,
        script: str,
        variables: dict[str, str],
        caller_id: str = "0501234567",
    ) -> PlacedCall:
        """Call a Local destination (the IVR, a queue...); the caller's side plays ``script``."""
        base = uuid.uuid4().hex
        placed = PlacedCall(ivr_uniqueid=f"{base}.2", caller_uniqueid=f"{base}.1")
        self.ami.originate(
            destination,
            context="tawasul-simulator",
            exten="s",
            caller_id=caller_id,
            variables={
                **variables,
                **({"SIM_SPEECH": "1"} if self._speech else {}),
                "SIM_SCRIPT": check_script(script),
            },
            # The ids must not be prefixes of each other: Asterisk matches uniqueids by prefix.
            channel_id=placed.caller_uniqueid,
            other_channel_id=placed.ivr_uniqueid,
        )
        return placed

    def wait_ended(self, placed: PlacedCall, timeout_s: float = 90) -> bool:
        """Wait until the IVR side of the call hung up; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: placed.ivr_uniqueid in self._ended, timeout_s)

    def close(self) -> None:
        """Stop listening for hang-ups."""
        self._remove()


def fax_tiff(path: Path, pages: int) -> None:
    """A fax-shaped multi-page TIFF: 1728 dots wide, 204 x 196 dpi, CCITT group 4."""
    from PIL import Image, ImageDraw

    images = []
    for number in range(1, pages + 1):
        page = Image.new("1", (1728, 900), 1)
        draw = ImageDraw.Draw(page)
        draw.rectangle((100, 100, 1600, 160), fill=0)
        for bar in range(number):
            draw.rectangle((100 + bar * 120, 300, 180 + bar * 120, 500), fill=0)
        images.append(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(
        path, save_all=True, append_images=images[1:], compression="group4", dpi=(204, 196)
    )
    path.chmod(0o644)


def send_fax(
    ami: Originator,
    asterisk_root: Path,
    pages: int,
    caller_id: str,
    cut_after_s: int | None = None,
) -> PlacedCall:
    """Fax a generated document into the IVR's fax extension (``[tawasul-fax-sender]``)."""
    name = f"send-{uuid.uuid4().hex}.tif"
    fax_tiff(asterisk_root / str(SPOOL).lstrip("/") / name, pages)
    base = uuid.uuid4().hex
    placed = PlacedCall(ivr_uniqueid=f"{base}.2", caller_uniqueid=f"{base}.1")
    variables = {"SIM_FAX_FILE": f"{SPOOL}/{name}"}
    if cut_after_s is not None:
        variables["SIM_FAX_CUT"] = str(cut_after_s)
    ami.originate(
        "Local/fax@tawasul-inbound/n",
        context="tawasul-fax-sender",
        exten="s",
        caller_id=caller_id,
        variables=variables,
        channel_id=placed.caller_uniqueid,
        other_channel_id=placed.ivr_uniqueid,
    )
    return placed


MESSAGE_S = 3.0
"""How long a scripted caller's voice message lasts (at least: the spoken message's length)."""


def message_wait(language: str, message_s: float = MESSAGE_S) -> str:
    """The script steps from the answer before the record notice to the end of the message:
    wait out the notice, speak the message (``s<language>``), and wait for the rest of
    ``message_s`` if the speech was shorter.

    The notice cannot be interrupted and its length depends on the language (7 s in Arabic,
    4 s in English, from the built prompt): a fixed wait that ends during the notice or its
    beep sends the caller's # into nothing, and the menu then waits for a message that never
    ends. Allows a second for the beep and the server.
    """
    path = AUDIO_DIR / "build" / language / "tawasul" / "record_message.wav"
    with wave.open(str(path)) as notice:
        notice_s = notice.getnframes() / notice.getframerate()
    rest = message_s - MESSAGE_S
    return f"w{notice_s + 1:.1f}/s{language}" + (f"/w{rest:.1f}" if rest > 0 else "")


def empty_message_wait(language: str) -> str:
    """Like :func:`message_wait`, for a caller who presses # as soon as the beep has gone."""
    path = AUDIO_DIR / "build" / language / "tawasul" / "record_message.wav"
    with wave.open(str(path)) as notice:
        notice_s = notice.getnframes() / notice.getframerate()
    return f"w{notice_s + 1:.1f}"


def new_request_script(national_id: str, language: str = "en", mistyped: str | None = None) -> str:
    """A caller filing a new request through the whole menu (see ``[tawasul-simulator]``).

    Language during the recording notice; 1 new request; the ID (after one mistyped ID if
    given); 1 confirm; 1 man; 1 the minister; 2 video call; 1 the caller ID as callback number;
    a 3-second voice message ended by #; 3 save; then stays on the line.
    """
    choose = "w1/2/w2" if language == "en" else "w1/1/w3"
    typed = f"{mistyped}/w7/{national_id}" if mistyped else national_id
    message = message_wait(language)
    return f"{choose}/1/w2/{typed}/w3/1/w2/1/w2/1/w2/2/w3/1/{message}/#/w2/3/w60"
