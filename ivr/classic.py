"""Classic process-per-call AGI through pyst2: ``AGI(tawasul-agi,intake)`` in the dialplan.

The same scripts as the FastAGI server run here over pyst2's stdin/stdout transport. FastAGI is
the way to run in production (no Python start-up per call); this mode exists for sites that
cannot open a TCP port to the IVR host, and as the benchmark's process-per-call reference.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from asterisk import agi as pyst2

from ivr.agi import AGIHangup, AGIResponse, Channel, StreamChannel
from ivr.app import build_runner
from tawasul.config import load_settings
from tawasul.masking import install_log_scrubbing

log = logging.getLogger(__name__)


class Pyst2Channel(Channel):
    """A :class:`Channel` over pyst2's AGI object (stdin/stdout of an AGI process).

    pyst2 reads the environment and turns Asterisk's SIGHUP into a hang-up; the commands go
    through our own protocol layer on the same streams, because pyst2 quotes without escaping
    and its reply parser loses ``(timeout)`` when no digit was typed.
    """

    def __init__(self, agi: Any) -> None:
        self._agi = agi
        self.env = dict(agi.env)
        self._stream = StreamChannel(agi.stdin, agi.stdout, env=self.env)

    def transmit(self, command: str, *arguments: object) -> AGIResponse:
        """Send one command, unless Asterisk already signalled the hang-up."""
        try:
            self._agi.test_hangup()
        except pyst2.AGIHangup as exc:
            raise AGIHangup(str(exc)) from exc
        return self._stream.transmit(command, *arguments)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``tawasul-agi <script>``, started by Asterisk once per call."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    install_log_scrubbing()
    with open(os.devnull, "w", encoding="utf-8") as quiet:
        # pyst2 echoes the whole environment (caller ID included) to stderr: keep it quiet.
        agi = pyst2.AGI(stdin=sys.stdin, stdout=sys.stdout, stderr=quiet)
        channel = Pyst2Channel(agi)
        name = args[0] if args else channel.env.get("agi_arg_1", "")
        runner = build_runner(load_settings())
        runner.run(channel, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
