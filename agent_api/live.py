"""What the console hears without asking: new and changed requests, presence, screen-pops.

One ``LiveHub`` per app fans events out to the open server-sent-event streams. Requests are
filed by other processes (the IVR, the fax and portal intake), so a watcher thread follows the
audit trail's ids in the database; Asterisk's events come from the API's own AMI connection.
The watcher runs only while someone listens.

With a bus (``agent_api.live_bus``, Redis), several API processes serve the same consoles:
every event goes through Redis to every process's streams, one process at a time watches the
audit trail, each Asterisk event is published once, and screen-pops are kept in Redis.
"""

from __future__ import annotations

import itertools
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tawasul.masking import mask_phone
from tawasul.models import Request, RequestEvent, User, utcnow
from tawasul.presence import INTERFACE, PresenceService, PresenceState

if TYPE_CHECKING:
    from agent_api.live_bus import Envelope, RedisLiveBus

log = logging.getLogger(__name__)

QUEUE_EVENTS = frozenset(
    {
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
    }
)
MEMBER_EVENTS = frozenset(
    {"QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus"}
)
MAX_POPS = 500
POP_TTL_S = 30 * 60
MAX_BACKLOG = 200
MAX_AMI_BACKLOG = 10_000
"""Events a slow listener may fall behind by before it is dropped (its browser reconnects)."""


@dataclass
class Listener:
    """One open event stream: whose it is and what it has not yet been sent."""

    user_id: int
    branch: str | None
    """None: every branch (admins)."""
    inbox: queue.Queue[tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: queue.Queue(MAX_BACKLOG)
    )
    dropped: bool = False


@dataclass(frozen=True)
class ScreenPop:
    """A queue call connected to an agent: who called, on which queue, when."""

    id: str
    user_id: int
    caller_id: str
    queue: str
    at: datetime
    uniqueid: str = ""
    """Asterisk's UNIQUEID of the caller's channel: the IVR's call row (``Call.uniqueid``), what
    the wrap-up disposition is stored on."""
    linkedid: str = ""
    """Asterisk's LINKEDID of the call, which links the request filed from the screen-pop."""


class LiveHub:
    """Fan-out of live events to the console's streams."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        presence: PresenceService | None = None,
        poll_s: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        after_call_work_s: int = 0,
        bus: RedisLiveBus | None = None,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._presence = presence
        self._after_call_work_s = after_call_work_s
        self._poll_s = poll_s
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: dict[int, Listener] = {}
        self._ids = itertools.count(1)
        self._pops: OrderedDict[str, ScreenPop] = OrderedDict()
        self._watcher: threading.Thread | None = None
        self._ami_events: queue.Queue[dict[str, str]] = queue.Queue(MAX_AMI_BACKLOG)
        self._ami_worker: threading.Thread | None = None

    # -- streams ----------------------------------------------------------------------------

    def subscribe(self, user: User, all_branches: bool) -> tuple[int, Listener]:
        """Open a stream for the user; starts the database watcher if it is not running."""
        if self._bus is not None:
            self._bus.listen(self._from_bus)
        listener = Listener(user.id, None if all_branches else user.branch)
        with self._lock:
            key = next(self._ids)
            self._listeners[key] = listener
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(
                    target=self._watch, name="console-live", daemon=True
                )
                self._watcher.start()
        return key, listener

    def unsubscribe(self, key: int) -> None:
        """Close a stream (the watcher stops when the last one closes)."""
        with self._lock:
            self._listeners.pop(key, None)

    def listening(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._listeners)

    def publish(
        self,
        event: str,
        data: dict[str, Any],
        *,
        branch: str | None = None,
        user_ids: frozenset[int] | None = None,
    ) -> int:
        """Send an event to the streams of a branch (and admins), or of some users.

        With a bus the event goes through Redis to every API process (this one included);
        without Redis it reaches this process's streams only.

        Returns:
            How many of this process's streams it was queued for (0 when it went to the bus:
            each process queues it for its own).
        """
        if self._bus is not None:
            envelope = {
                "event": event,
                "data": data,
                "branch": branch,
                "user_ids": sorted(user_ids) if user_ids is not None else None,
            }
            try:
                self._bus.publish(envelope)
                return 0
            except RedisError as exc:
                log.warning("console live updates: Redis unreachable, local only (%s)", exc)
        return self._deliver(event, data, branch, user_ids)

    def _from_bus(self, envelope: Envelope) -> None:
        user_ids = envelope.get("user_ids")
        self._deliver(
            str(envelope["event"]),
            dict(envelope["data"]),
            envelope.get("branch"),
            frozenset(int(u) for u in user_ids) if user_ids is not None else None,
        )

    def _deliver(
        self,
        event: str,
        data: dict[str, Any],
        branch: str | None,
        user_ids: frozenset[int] | None,
    ) -> int:
        sent = 0
        with self._lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            if user_ids is not None and listener.user_id not in user_ids:
                continue
            if branch is not None and listener.branch not in (None, branch):
                continue
            try:
                listener.inbox.put_nowait((event, data))
                sent += 1
            except queue.Full:
                listener.dropped = True
        return sent

    # -- the database watcher ----------------------------------------------------------------

    def _watch(self) -> None:
        last: int | None = None
        while True:
            with self._lock:
                if not self._listeners:
                    self._watcher = None
                    if self._bus is not None:
                        self._bus.resign()
                    return
            try:
                # One process reads for all (the lease holder); the others hear it on the bus.
                if self._bus is None or self._bus.lead():
                    last = self._poll(last)
                else:
                    last = None
            except Exception:
                log.exception("console live updates: reading new audit events failed")
            time.sleep(self._poll_s)

    def _poll(self, last: int | None) -> int:
        if self._bus is not None:
            # Where the last reader stopped, whichever process it was.
            kept = self._bus.cursor()
            last = kept if kept is not None else last
        with self._sessions() as session:
            if last is None:
                start = int(session.scalar(select(func.max(RequestEvent.id))) or 0)
                if self._bus is not None:
                    self._bus.set_cursor(start)
                return start
            rows = session.execute(
                select(
                    RequestEvent.id,
                    RequestEvent.request_id,
                    RequestEvent.kind,
                    Request.branch,
                    Request.status,
                )
                .join(Request, Request.id == RequestEvent.request_id)
                .where(RequestEvent.id > last)
                .order_by(RequestEvent.id)
                .limit(500)
            ).all()
        for event_id, request_id, kind, branch, status in rows:
            last = event_id
            name = "request_filed" if kind == "created" else "request_changed"
            self.publish(
                name,
                {"request_id": request_id, "kind": kind, "status": status.value},
                branch=branch,
            )
        if rows and self._bus is not None:
            self._bus.set_cursor(last)
        return last

    # -- Asterisk's events -------------------------------------------------------------------

    def on_ami_event(self, event: dict[str, str]) -> None:
        """An AMI listener: queue and member events are handled on the hub's own thread.

        The AMI client's thread also delivers action responses: it must never wait on the
        database (on SQLite a request holding the write lock would stall every response).
        """
        name = event.get("Event", "")
        if name not in QUEUE_EVENTS and name not in MEMBER_EVENTS:
            return
        with self._lock:
            if self._ami_worker is None or not self._ami_worker.is_alive():
                self._ami_worker = threading.Thread(
                    target=self._handle_ami_events, name="console-ami", daemon=True
                )
                self._ami_worker.start()
        try:
            self._ami_events.put_nowait(dict(event))
        except queue.Full:
            log.error("console live updates: %s dropped, the handler is behind", name)

    def _handle_ami_events(self) -> None:
        while True:
            event = self._ami_events.get()
            try:
                self.handle_ami_event(event)
            except Exception:
                log.exception("console live updates: %s failed", event.get("Event"))

    def handle_ami_event(self, event: dict[str, str]) -> None:
        """Turn one queue or member event into screen-pops, presence and queue updates."""
        name = event.get("Event", "")
        queue_name = event.get("Queue", "")
        branch = queue_name.removeprefix("tawasul-") if queue_name.startswith("tawasul-") else None
        if branch is None:
            return
        interface = event.get("Interface") or event.get("Location") or ""
        if name in MEMBER_EVENTS and self._presence is not None and interface:
            self._remember(name, event, queue_name, interface)
        if self._bus is not None and not self._bus.first(event):
            return  # another API process heard it too and published it
        if name == "AgentConnect":
            self._screen_pop(event, queue_name, interface)
        if name == "AgentRingNoAnswer" and self._presence is not None and interface:
            self._missed_call(queue_name, interface)
        if name == "AgentComplete":
            # Whatever the phone (the page or a desk phone), the agent's page opens the
            # wrap-up for this call and counts the after-call work down.
            self.publish(
                "wrap_up",
                {
                    "queue": queue_name,
                    "call": event.get("Uniqueid", ""),
                    "after_call_work_s": self._after_call_work_s,
                    "talk_s": int(event.get("TalkTime", "0") or 0),
                },
                user_ids=self._users_of(interface),
            )
        owners = self._users_of(interface) if name in MEMBER_EVENTS else frozenset()
        if owners:
            self.publish("presence", {"queue": queue_name}, user_ids=owners)
        self.publish("queue", {"queue": queue_name, "event": name}, branch=branch)

    def _remember(self, name: str, event: dict[str, str], queue_name: str, interface: str) -> None:
        assert self._presence is not None
        if name == "QueueMemberRemoved":
            state, reason = PresenceState.LOGGED_OUT, ""
        elif event.get("Paused") == "1":
            state, reason = PresenceState.PAUSED, event.get("PausedReason", "")
        else:
            state, reason = PresenceState.READY, ""
        self._presence.remember(queue_name, interface, state, reason)

    def _missed_call(self, queue_name: str, interface: str) -> None:
        assert self._presence is not None
        if not INTERFACE.fullmatch(interface):
            return
        self._presence.missed_call(queue_name, interface)
        log.info("%s paused on %s: a queue call rang out", interface, queue_name)
        # The agent's page says why it was paused (the member event that follows says paused).
        self.publish(
            "presence",
            {"queue": queue_name, "reason": "missed-call", "missed_call": True},
            user_ids=self._users_of(interface),
        )

    def _screen_pop(self, event: dict[str, str], queue_name: str, interface: str) -> None:
        owners = self._users_of(interface)
        caller = event.get("CallerIDNum", "")
        for user_id in owners:
            pop = ScreenPop(
                secrets.token_urlsafe(12),
                user_id,
                caller,
                queue_name,
                self._clock(),
                uniqueid=event.get("Uniqueid", ""),
                linkedid=event.get("Linkedid", ""),
            )
            self._keep(pop)
            self.publish(
                "screen_pop",
                {"pop_id": pop.id, "queue": queue_name, "call": pop.uniqueid},
                user_ids=frozenset({user_id}),
            )
            log.info(
                "screen-pop for user:%s on %s from %s", user_id, queue_name, mask_phone(caller)
            )

    def _keep(self, pop: ScreenPop) -> None:
        if self._bus is not None:
            kept = {
                "user_id": pop.user_id,
                "caller_id": pop.caller_id,
                "queue": pop.queue,
                "at": pop.at.isoformat(),
                "uniqueid": pop.uniqueid,
                "linkedid": pop.linkedid,
            }
            try:
                # Any API process may be asked for it: kept in Redis for its half hour.
                self._bus.keep_pop(pop.id, kept, POP_TTL_S)
                return
            except RedisError as exc:
                log.warning("screen-pop kept in this process only (%s)", exc)
        with self._lock:
            self._pops[pop.id] = pop
            while len(self._pops) > MAX_POPS:
                self._pops.popitem(last=False)

    def screen_pop(self, pop_id: str, user_id: int) -> ScreenPop | None:
        """A recent screen-pop of this user (another user's, or an old one: None)."""
        with self._lock:
            pop = self._pops.get(pop_id)
        if pop is None and self._bus is not None:
            kept = self._bus.pop(pop_id)
            if kept is not None:
                pop = ScreenPop(
                    pop_id,
                    int(kept["user_id"]),
                    str(kept["caller_id"]),
                    str(kept["queue"]),
                    datetime.fromisoformat(kept["at"]),
                    uniqueid=str(kept.get("uniqueid", "")),
                    linkedid=str(kept.get("linkedid", "")),
                )
        if pop is None or pop.user_id != user_id:
            return None
        if (self._clock() - pop.at).total_seconds() > POP_TTL_S:
            return None
        return pop

    def _users_of(self, interface: str) -> frozenset[int]:
        if not INTERFACE.fullmatch(interface):
            return frozenset()
        with self._sessions() as session:
            found = session.scalars(
                select(User.id).where(
                    User.extension == interface,
                    User.is_active.is_(True),
                    User.takes_calls.is_(True),
                )
            )
            return frozenset(found)
