"""Atheris harness for the protocol parsers: ``python tests/fuzz/fuzz_parsers.py -runs=N``.

Every input must give a parse result or one of the project's own parse errors, in well under a
second; anything else (an IndexError, a hang) is a crash that libFuzzer reports and saves.
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from ivr.agi import AGIError, StreamChannel, parse_environment, parse_response
    from providers.ami import parse_message


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    which = fdp.ConsumeIntInRange(0, 3)
    text = fdp.ConsumeUnicodeNoSurrogates(4096)
    try:
        if which == 0:
            parse_response(text)
        elif which == 1:
            parse_environment(text.split("\n"))
        elif which == 2:
            parse_message(text)
        else:
            reader = io.StringIO("agi_request: fuzz\n\n" + text)
            channel = StreamChannel(reader, io.StringIO())
            channel.execute("ANSWER")
    except AGIError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
