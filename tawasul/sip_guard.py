"""Failed SIP registrations: counted per address, an address that keeps failing is refused.

Asterisk reports each failed digest (AMI security events, ``providers.sip_security``); after
``threshold`` failures from one address within ``window_s`` the address is blocked for
``block_s`` (a global PJSIP ACL published with the endpoints), then forgiven.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from tawasul.models import utcnow
from tawasul.security_log import record


class RegistrationGuard:
    """Sliding-window failure counts per address and the blocks they lead to."""

    def __init__(
        self,
        threshold: int,
        window_s: int,
        block_s: int,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._threshold = threshold
        self._window = timedelta(seconds=window_s)
        self._block = timedelta(seconds=block_s)
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[datetime]] = {}
        self._blocked: dict[str, datetime] = {}

    def notify(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` whenever the set of blocked addresses changes."""
        self._on_change = on_change

    def failed(self, address: str, masked_address: str) -> bool:
        """Count one failure from ``address``.

        Args:
            address: the remote IP address, as Asterisk saw it.
            masked_address: the same, masked for the security log.

        Returns:
            Whether this failure blocked the address.
        """
        now = self._clock()
        with self._lock:
            seen = self._failures.setdefault(address, deque())
            seen.append(now)
            while seen and now - seen[0] > self._window:
                seen.popleft()
            if len(seen) < self._threshold or address in self._blocked:
                return False
            self._blocked[address] = now + self._block
            seen.clear()
        record(
            "sip_address_blocked",
            f"sip:{masked_address}",
            seconds=int(self._block.total_seconds()),
        )
        self._on_change()
        return True

    def blocked(self) -> list[str]:
        """The addresses refused now (expired blocks are dropped)."""
        now = self._clock()
        with self._lock:
            for address in [a for a, until in self._blocked.items() if until <= now]:
                del self._blocked[address]
            return sorted(self._blocked)

    def next_expiry_s(self) -> float | None:
        """Seconds until the first block ends (None: nothing blocked)."""
        with self._lock:
            if not self._blocked:
                return None
            first = min(self._blocked.values())
        return max(0.0, (first - self._clock()).total_seconds())

    def forgive(self) -> None:
        """Drop every count and block (an administrator's reset; the tests' clean-up)."""
        with self._lock:
            self._failures.clear()
            self._blocked.clear()
        self._on_change()
