"""A supervisor on an agent's live call: listen, whisper (only the agent hears) or barge.

The supervisor's own phone is rung (their page or desk phone) and, once answered, joined to the
agent's call by Asterisk's ChanSpy (``dialplans/agents.conf``). Every use is a security event:
who listened to whom, how, when.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from tawasul.errors import Forbidden, NotFound, ValidationError
from tawasul.models import Role, User
from tawasul.permissions import Action, may
from tawasul.security_log import record
from tawasul.sip_accounts import sip_endpoint_of


class SpyMode(StrEnum):
    """How the supervisor joins the call (also the extension in ``tawasul-supervisor-spy``)."""

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class CallSpy(Protocol):
    """The telephony side: ring the supervisor's phone and join it to the agent's call."""

    def spy(self, supervisor_endpoint: str, agent_endpoint: str, mode: SpyMode) -> None:
        """Ring ``PJSIP/<supervisor_endpoint>``; answered, it spies on the agent's channel.

        Args:
            supervisor_endpoint: the supervisor's endpoint name (digits).
            agent_endpoint: the agent's endpoint name (digits).
            mode: listen, whisper or barge.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked, or refused.
        """


class Supervision:
    """Who may listen to whom: supervisors (and admins), in their branch unless all-branch."""

    def __init__(self, spy: CallSpy) -> None:
        self._spy = spy

    def spy(self, session: Session, supervisor: User, agent_id: int, mode: SpyMode) -> User:
        """Join the supervisor's phone to the agent's call, audited.

        Args:
            session: to read the agent (not written).
            supervisor: the signed-in user.
            agent_id: whose call.
            mode: listen, whisper or barge.

        Returns:
            The agent.

        Raises:
            Forbidden: not a supervisor, or the agent is of another branch.
            NotFound: no such active agent.
            ValidationError: the supervisor or the agent has no SIP extension.
            TelephonyUnavailable: Asterisk could not be asked.
        """
        if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN):
            record("permission_denied", f"user:{supervisor.id}", action=f"spy:{mode.value}")
            raise Forbidden("only a supervisor may listen to an agent's call")
        agent = session.get(User, agent_id)
        if agent is None or not agent.is_active:
            raise NotFound("no such agent")
        if agent.branch != supervisor.branch and not may(supervisor.role, Action.ALL_BRANCHES):
            record("permission_denied", f"user:{supervisor.id}", action=f"spy:{mode.value}")
            raise Forbidden("the agent is of another branch")
        mine = sip_endpoint_of(supervisor)
        theirs = sip_endpoint_of(agent)
        if mine is None:
            raise ValidationError("extension", "your account has no SIP extension to ring")
        if theirs is None:
            raise ValidationError("agent_id", "the agent has no SIP extension")
        record("call_spied", f"user:{supervisor.id}", agent=f"user:{agent.id}", mode=mode.value)
        self._spy.spy(mine, theirs, mode)
        return agent
