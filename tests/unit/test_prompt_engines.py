"""gTTS with a timeout, and the fall-back to espeak-ng when its service fails or hangs.

No internet here: a stand-in server on 127.0.0.1 plays Google's part. gTTS builds its URL as
``https://translate.google.<tld>/...``; a tld of ``com@127.0.0.1:<port>`` reaches the stand-in.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.prompts import (
    AutoEngine,
    EspeakEngine,
    GttsEngine,
    Prompt,
    PromptBuilder,
    SpeechUnavailable,
    select_engine,
)


class StandIn:
    """A TCP server that either closes each connection at once or never answers."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.mode == "fail":
                conn.close()
            else:
                self.held.append(conn)  # hang: accept, never answer

    @property
    def tld(self) -> str:
        return f"com@127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(params=["fail", "hang"])
def stand_in(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    server = StandIn(request.param)
    yield server
    server.close()


def test_gtts_reaches_the_stand_in_and_gives_up_within_its_timeout(
    stand_in: StandIn, tmp_path: Path
) -> None:
    engine = GttsEngine(timeout_s=1.0, tld=stand_in.tld)
    started = time.monotonic()
    with pytest.raises(SpeechUnavailable):
        engine.render("en", "hello", tmp_path / "x.wav")
    assert time.monotonic() - started < 10
    assert stand_in.connections >= 1  # it really asked the stand-in, not the internet


def test_build_falls_back_to_espeak_when_gtts_fails_or_hangs(
    stand_in: StandIn, tmp_path: Path
) -> None:
    engine = select_engine("auto", 1.0, tld=stand_in.tld)
    assert isinstance(engine, AutoEngine)
    assert engine.name == "espeak-ng"
    builder = PromptBuilder(tmp_path / "build", tmp_path / "recorded", engine=engine)
    prompt = Prompt("hello", "en", "Hello", (("en", "Hello"),))
    report = builder.build([prompt])
    assert report.rendered == 1
    out = tmp_path / "build" / "en" / "tawasul" / "hello.wav"
    assert out.read_bytes()[:4] == b"RIFF"
    # Cached: a second build with the same engine renders nothing.
    assert (
        PromptBuilder(tmp_path / "build", tmp_path / "recorded", engine=engine)
        .build([prompt])
        .unchanged
        == 1
    )


def test_gtts_only_mode_refuses_to_build_without_gtts(stand_in: StandIn) -> None:
    with pytest.raises(SpeechUnavailable):
        select_engine("gtts", 1.0, tld=stand_in.tld)


def test_a_gtts_failure_mid_build_switches_to_espeak(tmp_path: Path) -> None:
    class Flaky(GttsEngine):
        def render(self, language: str, text: str, out: Path) -> None:
            raise SpeechUnavailable("gone")

    engine = AutoEngine(Flaky(), EspeakEngine())
    assert engine.name == "gtts"
    engine.render("ar", "مرحبا", tmp_path / "x.wav")
    assert engine.name == "espeak-ng"
    assert (tmp_path / "x.wav").read_bytes()[:4] == b"RIFF"


def test_a_human_recording_wins(tmp_path: Path) -> None:
    recorded = tmp_path / "recorded" / "en"
    recorded.mkdir(parents=True)
    EspeakEngine().render("en", "recorded by a person", recorded / "hello.wav")
    builder = PromptBuilder(tmp_path / "build", tmp_path / "recorded", engine=EspeakEngine())
    report = builder.build([Prompt("hello", "en", "Hello", (("en", "Hello"),))])
    assert report.recorded == 1 and report.rendered == 0
