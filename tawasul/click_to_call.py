"""Click-to-call: ring the agent's softphone, then the requester's stored number."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from tawasul.accounts import check_endpoint
from tawasul.audit import record_event
from tawasul.casework import actor_of, load_request
from tawasul.errors import TelephonyUnavailable, ValidationError
from tawasul.models import AgentCall, User, utcnow
from tawasul.permissions import Action, require
from tawasul.ports import CallControl, DeliveryError

log = logging.getLogger(__name__)


class ClickToCall:
    """Connects an agent with a requester through the ``CallControl`` port."""

    def __init__(
        self,
        calls: CallControl,
        timeout_s: float = 45.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._calls = calls
        self._timeout_s = timeout_s
        self._clock = clock

    def call(
        self, session: Session, user: User, request_id: int, extension: str | None = None
    ) -> AgentCall:
        """Ring the agent, then the requester; the call is recorded against the request.

        The number dialled is the request's stored callback number: a caller of the API can
        choose which softphone rings, never whom it calls.

        Args:
            session: committed before the call is placed (so the attempt is on record even if
                the process dies while ringing) and again with the outcome.
            user: the agent.
            request_id: the request to call about.
            extension: the softphone to ring (default: the agent's profile extension).

        Returns:
            The recorded call with its outcome.

        Raises:
            NotFound: the request is not visible to the user.
            ValidationError: no or a malformed extension, no callback number, or a destination
                the telephony adapter refused.
            TelephonyUnavailable: the telephony system could not place the call.
        """
        request = load_request(session, user, request_id)
        require(user, Action.WORK_REQUEST)
        endpoint = extension if extension is not None else user.extension
        if not endpoint:
            raise ValidationError("extension", "no softphone extension in the profile or body")
        check_endpoint(endpoint)
        number = request.callback_number
        if not number:
            raise ValidationError("callback_number", "the request has no number to call")
        call = AgentCall(
            request_id=request.id,
            user_id=user.id,
            agent_endpoint=endpoint,
            started_at=self._clock(),
        )
        session.add(call)
        session.flush()
        self._event(session, user, request.id, "call_started", {"agent_call_id": call.id})
        session.commit()
        variables = {"TAWASUL_REQUEST_ID": str(request.id), "TAWASUL_AGENT_CALL_ID": str(call.id)}
        try:
            leg = self._calls.connect(endpoint, number, variables, self._timeout_s)
        except DeliveryError as exc:
            self._finish(session, user, call, False, "UNAVAILABLE")
            log.warning("click-to-call %s for request %s failed: %s", call.id, request.id, exc)
            raise TelephonyUnavailable("the telephony system cannot place calls now") from exc
        except ValueError as exc:
            # The adapter's own policy (e.g. destinations outside the allowed prefixes).
            self._finish(session, user, call, False, "REFUSED")
            raise ValidationError("destination", str(exc)) from exc
        self._finish(session, user, call, leg.connected, leg.reason[:64])
        return call

    def _finish(
        self, session: Session, user: User, call: AgentCall, connected: bool, result: str
    ) -> None:
        call.connected = connected
        call.result = result
        call.ended_at = self._clock()
        details = {"agent_call_id": call.id, "connected": connected, "result": result}
        self._event(session, user, call.request_id, "call_ended", details)
        session.commit()

    def _event(
        self, session: Session, user: User, request_id: int, kind: str, details: dict[str, object]
    ) -> None:
        record_event(
            session, request_id, kind, actor=actor_of(user), at=self._clock(), details=details
        )
