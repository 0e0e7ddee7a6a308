"""Composition root of ``tawasul-agi <script>``: classic process-per-call AGI (pyst2).

Asterisk starts it once per call; it builds the same call runner as the FastAGI server
(:func:`tawasul_cli.agi.build_runner`) once pyst2 has read the AGI environment.
"""

from __future__ import annotations

import logging
import sys

from ivr import classic
from tawasul.config import load_settings
from tawasul.masking import install_log_scrubbing
from tawasul_cli.agi import build_runner


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``tawasul-agi <script>``, started by Asterisk once per call."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    install_log_scrubbing()
    return classic.serve_one_call(
        lambda: build_runner(load_settings()), sys.argv[1:] if argv is None else argv
    )


if __name__ == "__main__":
    sys.exit(main())
