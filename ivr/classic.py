"""Classic process-per-call AGI through pyst2: ``AGI(tawasul-agi,intake)`` in the dialplan.

The same scripts as the FastAGI server run here over pyst2's stdin/stdout transport. FastAGI is
the way to run in production (no Python start-up per call); this mode exists for sites that
cannot open a TCP port to the IVR host, and as the benchmark's process-per-call reference. The
program ``tawasul-agi`` is composed in ``tawasul_cli.classic``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from asterisk import agi as pyst2

from ivr.agi import AGIHangup, AGIResponse, Channel, StreamChannel
from ivr.server import CallRunner

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


def serve_one_call(runner: Callable[[], CallRunner], argv: list[str]) -> int:
    """Run one call's script over stdin/stdout; ``runner`` builds the call runner (once).

    Args:
        runner: the composition root's factory, called once the AGI environment is read.
        argv: the program's arguments: the script's name (else ``agi_arg_1``).

    Returns:
        The process's exit status.
    """
    with open(os.devnull, "w", encoding="utf-8") as quiet:
        # pyst2 echoes the whole environment (caller ID included) to stderr: keep it quiet.
        agi = pyst2.AGI(stdin=sys.stdin, stdout=sys.stdout, stderr=quiet)
        channel = Pyst2Channel(agi)
        name = argv[0] if argv else channel.env.get("agi_arg_1", "")
        runner().run(channel, name)
    return 0
