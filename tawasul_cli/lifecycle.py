"""Process lifecycle shared by the long-running commands."""

from __future__ import annotations

import signal
import threading
from typing import Any


def wait_for_termination() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM; call from the main thread."""
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
