"""The console's live updates across API processes, through Redis.

Every API process behind the same address publishes its live events to one Redis channel and
delivers what the channel carries to its own open streams, so an agent's stream sees a change
whichever process made it. What only one process may do is arbitrated here too:

- one process at a time reads the audit trail for new and changed requests (a lease, renewed
  while it reads), and keeps its place in Redis so the next reader goes on where it stopped;
- an Asterisk event reaches every process (each has its AMI connection): the first to claim it
  publishes it, the others only learn from it;
- a screen-pop is kept in Redis for its half hour, so any process can open it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "tawasul:console:live"
LEASE_KEY = "tawasul:console:watcher"
CURSOR_KEY = "tawasul:console:audit-cursor"
SEEN_KEY = "tawasul:console:ami-seen:{digest}"
POP_KEY = "tawasul:console:pop:{pop_id}"
LEASE_S = 5.0
"""A reader of the audit trail that stops renewing is replaced after this long."""
SEEN_S = 10
"""How long an Asterisk event is remembered as published (every process gets it within ms)."""

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

Envelope = dict[str, Any]


class RedisLiveBus:
    """Redis pub/sub and the few keys that let several API processes share the live updates."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self.subscribed = threading.Event()
        """Set while this process is subscribed to the channel."""

    @classmethod
    def from_url(cls, url: str) -> RedisLiveBus:
        """A bus on its own Redis client (a subscription holds a connection for itself)."""
        return cls(Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5))

    # -- the channel ------------------------------------------------------------------------

    def publish(self, envelope: Envelope) -> None:
        """Send one event to every API process (this one included).

        Raises:
            RedisError: Redis is unreachable (the caller delivers locally instead).
        """
        self._redis.publish(CHANNEL, json.dumps(envelope, separators=(",", ":")))

    def listen(self, deliver: Callable[[Envelope], None], wait_s: float = 2.0) -> None:
        """Deliver every event of the channel to ``deliver``, on a thread of its own (started
        once); wait up to ``wait_s`` for the subscription, so a stream opened now misses
        nothing published after."""
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(
                    target=self._listen, args=(deliver,), name="console-bus", daemon=True
                )
                self._listener.start()
        self.subscribed.wait(wait_s)

    def _listen(self, deliver: Callable[[Envelope], None]) -> None:
        backoff = 0.5
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                self.subscribed.set()
                backoff = 0.5
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        deliver(json.loads(message["data"]))
                    except Exception:
                        log.exception("console live updates: an event from Redis failed")
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("console live updates: Redis subscription lost (%s)", exc)
            finally:
                try:
                    pubsub.close()
                except (RedisError, OSError):
                    log.debug("closing a dead subscription")
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    # -- the audit trail's single reader ----------------------------------------------------

    def lead(self) -> bool:
        """Take or keep the lease of the audit trail's reader; True while this process has it.

        When Redis is unreachable every process reads for its own streams (False would leave
        them all silent).
        """
        try:
            ttl_ms = int(LEASE_S * 1000)
            if self._redis.set(LEASE_KEY, self._token, nx=True, px=ttl_ms):
                return True
            return bool(self._redis.eval(_RENEW, 1, LEASE_KEY, self._token, ttl_ms))
        except RedisError as exc:
            log.warning("console live updates: no lease without Redis (%s)", exc)
            return True

    def resign(self) -> None:
        """Give the lease up (the last stream of this process closed)."""
        try:
            self._redis.eval(_RELEASE, 1, LEASE_KEY, self._token)
        except RedisError:
            log.debug("the lease expires by itself")

    def cursor(self) -> int | None:
        """The last audit event id published, or None (never read, or Redis unreachable)."""
        try:
            raw = self._redis.get(CURSOR_KEY)
        except RedisError:
            return None
        return int(raw) if raw is not None else None

    def set_cursor(self, event_id: int) -> None:
        """Record the last audit event id published."""
        try:
            self._redis.set(CURSOR_KEY, event_id)
        except RedisError as exc:
            log.warning("console live updates: cursor not kept (%s)", exc)

    # -- Asterisk's events and screen-pops ----------------------------------------------------

    def first(self, event: dict[str, str]) -> bool:
        """True for the one process that claims this Asterisk event (each process hears it)."""
        digest = hashlib.sha256(json.dumps(sorted(event.items())).encode("utf-8")).hexdigest()
        try:
            return bool(self._redis.set(SEEN_KEY.format(digest=digest), "1", nx=True, ex=SEEN_S))
        except RedisError:
            return True

    def keep_pop(self, pop_id: str, pop: dict[str, Any], ttl_s: int) -> None:
        """Keep a screen-pop where every process can open it, for ``ttl_s``.

        Raises:
            RedisError: Redis is unreachable.
        """
        self._redis.set(POP_KEY.format(pop_id=pop_id), json.dumps(pop), ex=ttl_s)

    def pop(self, pop_id: str) -> dict[str, Any] | None:
        """A kept screen-pop, or None (expired, unknown, or Redis unreachable)."""
        try:
            raw = self._redis.get(POP_KEY.format(pop_id=pop_id))
        except RedisError:
            return None
        if raw is None:
            return None
        found = json.loads(raw)
        return found if isinstance(found, dict) else None
