"""Whether ``tawasul smpp`` holds its SMS centre bind, as ``/health`` reports it.

The bind lives in its own process; the API's workers cannot ask it. That process writes a small
status file in the instance's var directory (:data:`STATUS_FILE`) when the bind comes up or goes
and every :data:`HEARTBEAT_S` seconds in between; ``/health`` reads it. A file no longer written
(the process died, or hangs) is as good as a dropped bind: after :data:`STALE_AFTER_S` it reads
``down``. One box: the API and ``tawasul smpp`` share the var directory.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

STATUS_FILE = "smpp-bind.json"
"""Written by ``tawasul smpp`` in ``Settings.var_dir``."""
HEARTBEAT_S = 5.0
"""How often ``tawasul smpp`` rewrites the file while it runs (seconds)."""
STALE_AFTER_S = 20.0
"""A file older than this (seconds) means nobody holds the bind: four heartbeats missed."""


def write_bind_status(
    var_dir: Path, bound: bool, binds: int, clock: Callable[[], float] = time.time
) -> None:
    """Record the bind's state now, atomically (a reader never sees half a file).

    Args:
        var_dir: the instance's var directory (created if missing).
        bound: the transceiver bind is up.
        binds: how many times this process has bound (a rebind after a drop counts).
        clock: seconds since the epoch.

    Raises:
        OSError: the directory cannot be written.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"bound": bound, "binds": binds, "written_at": clock()})
    handle, temporary = tempfile.mkstemp(dir=var_dir, prefix=".smpp-bind.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(body)
        os.replace(temporary, var_dir / STATUS_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_bind_status(var_dir: Path, clock: Callable[[], float] = time.time) -> str:
    """``ok`` while the bind is up and its file fresh, else ``down`` (never raises).

    Args:
        var_dir: the instance's var directory.
        clock: seconds since the epoch.

    Returns:
        ``ok`` or ``down``: down when the file is missing, unreadable, says unbound, or is older
        than :data:`STALE_AFTER_S`.
    """
    try:
        status = json.loads((var_dir / STATUS_FILE).read_text())
        fresh = clock() - float(status["written_at"]) <= STALE_AFTER_S
        return "ok" if status["bound"] is True and fresh else "down"
    except (OSError, ValueError, KeyError, TypeError):
        return "down"
