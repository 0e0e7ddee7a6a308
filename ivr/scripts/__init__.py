"""One module per AGI script; ``SCRIPTS`` maps the FastAGI path to the script's entry point."""

from __future__ import annotations

from ivr.scripts import fax, intake, queue_callback
from ivr.scripts.base import Script

SCRIPTS: dict[str, Script] = {
    "intake": intake.run,
    "fax": fax.run,
    "queue_callback": queue_callback.request,
    "queue_refused": queue_callback.refused,
    "callback_place": queue_callback.place,
}
