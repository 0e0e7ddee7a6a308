"""The AGI and AMI parsers under random and mutated input: only our own errors, never slow."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.agi import AGIError, StreamChannel, parse_environment, parse_response
from providers.ami import parse_message

VALID_REPLIES = [
    "200 result=1",
    "200 result=0 (timeout)",
    "200 result=0123 (timeout) endpos=8000",
    "200 result=1 (a (nested) value) endpos=12",
    "510 Invalid or unknown command",
    "511 Command Not Permitted on a dead channel or intercept routine",
]
VALID_EVENT = "Event: QueueCallerJoin\r\nQueue: tawasul-riyadh\r\nUniqueid: 1732.1\r\nPosition: 1"


def mutate(sample: str, data: st.DataObject) -> str:
    """Insert, delete or replace a few characters of a valid sample."""
    text = list(sample)
    for _ in range(data.draw(st.integers(0, 6))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        char = data.draw(st.characters(blacklist_categories=("Cs",)))
        if action == "insert":
            text.insert(position, char)
        elif text and position < len(text):
            if action == "delete":
                del text[position]
            else:
                text[position] = char
    return "".join(text)


def quick(call: object) -> None:
    started = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except AGIError:
        pass
    assert time.monotonic() - started < 1.0


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_replies_give_a_parse_or_an_agi_error(text: str) -> None:
    quick(lambda: parse_response(text))
    quick(lambda: parse_environment(text.split("\n")))
    parse_message(text)


@settings(max_examples=400)
@given(st.data())
def test_mutated_replies_give_a_parse_or_an_agi_error(data: st.DataObject) -> None:
    reply = mutate(data.draw(st.sampled_from(VALID_REPLIES)), data)
    quick(lambda: parse_response(reply))
    channel_input = io.StringIO("agi_request: fuzz\n\n" + reply + "\n")
    quick(lambda: StreamChannel(channel_input, io.StringIO()).execute("ANSWER"))
    event = parse_message(mutate(VALID_EVENT, data))
    assert isinstance(event, dict)


@pytest.mark.parametrize(
    "reply",
    [
        "²00 result=1",  # found by the fuzzer: str.isdigit() takes a superscript two
        "200 result=١",  # Arabic-Indic digit in the result
        "٢٠٠ result=1",
    ],
)
def test_regressions_found_by_fuzzing(reply: str) -> None:
    quick(lambda: parse_response(reply))


def test_a_huge_line_is_refused_quickly() -> None:
    reader = io.StringIO("agi_request: x\n\n" + "2" * 10_000_000 + "\n")
    quick(lambda: StreamChannel(reader, io.StringIO()).execute("ANSWER"))


def test_atheris_finds_no_crash() -> None:
    pytest.importorskip("atheris")
    harness = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz_parsers.py"
    done = subprocess.run(
        [sys.executable, str(harness), "-runs=20000", "-max_total_time=60", "-timeout=1"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Done 20000 runs" in done.stderr
