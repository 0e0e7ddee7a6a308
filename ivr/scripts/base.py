"""What every AGI script gets: the channel, the call's database session and the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ivr.agi import Channel
from tawasul.config import Settings
from tawasul.intake import IntakeService
from tawasul.models import Call


@dataclass
class CallContext:
    """The per-call state a script works with; built by the server for each connection."""

    settings: Settings
    session: Session
    intake: IntakeService
    call: Call | None = field(default=None)


Script = Callable[[Channel, CallContext], None]
