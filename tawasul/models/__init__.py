"""The database models (SQLAlchemy 2), one module per aggregate; schema changes go through
Alembic migrations.

``base`` holds what every model shares (the declarative base, the UTC timestamp type, enum
columns); ``requests`` the request, its requester, audit trail, assignment, notes, identity checks
and portal submissions; ``calls`` IVR calls, callbacks and click-to-calls; ``outbox`` the outbox
and the SMS; ``staff`` accounts and API tokens; ``appointments`` slots and appointments;
``documents`` attachments and fax receptions; ``security`` the security-event log and the portal's
replay guard; ``metrics`` queue events, queue visits and generated reports.

Every model is re-exported here: import from ``tawasul.models``. Importing this package registers
every table on ``Base.metadata``.
"""

from __future__ import annotations

from tawasul.models.appointments import Appointment, AppointmentSlot, AppointmentStatus
from tawasul.models.base import Base, UTCDateTime, utcnow
from tawasul.models.calls import AgentCall, Call, Callback, CallbackStatus, CallOutcome
from tawasul.models.documents import Attachment, AttachmentKind, FaxReception, FaxStatus
from tawasul.models.metrics import QueueCall, QueueEvent, Report
from tawasul.models.outbox import (
    OutboxKind,
    OutboxMessage,
    OutboxPriority,
    OutboxStatus,
    SmsMessage,
    SmsPart,
    SmsPartStatus,
    SmsStatus,
)
from tawasul.models.requests import (
    Channel,
    IdentityVerification,
    Language,
    MeetingMode,
    PortalSubmission,
    Request,
    RequestAssigneeTally,
    RequestAssignment,
    Requester,
    RequesterCategory,
    RequestEvent,
    RequestNote,
    RequestTally,
    VerificationStatus,
)
from tawasul.models.security import PortalNonce, SecurityEvent
from tawasul.models.staff import ApiToken, Role, User
from tawasul.workflow import RequestStatus

__all__ = [
    "AgentCall",
    "ApiToken",
    "Appointment",
    "AppointmentSlot",
    "AppointmentStatus",
    "Attachment",
    "AttachmentKind",
    "Base",
    "Call",
    "CallOutcome",
    "Callback",
    "CallbackStatus",
    "Channel",
    "FaxReception",
    "FaxStatus",
    "IdentityVerification",
    "Language",
    "MeetingMode",
    "OutboxKind",
    "OutboxMessage",
    "OutboxPriority",
    "OutboxStatus",
    "PortalNonce",
    "PortalSubmission",
    "QueueCall",
    "QueueEvent",
    "Report",
    "Request",
    "RequestAssigneeTally",
    "RequestAssignment",
    "RequestEvent",
    "RequestNote",
    "RequestTally",
    "RequestStatus",
    "Requester",
    "RequesterCategory",
    "Role",
    "SecurityEvent",
    "SmsMessage",
    "SmsPart",
    "SmsPartStatus",
    "SmsStatus",
    "UTCDateTime",
    "User",
    "VerificationStatus",
    "utcnow",
]
