"""Per-key limits: sliding windows (registrations, logins) and growing delays (logins).

Counted in the memory of each process: with several app processes a client gets at most
``limit × processes`` tries. That is enough to stop password guessing; see ARCHITECTURE.md.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable

from starlette.requests import Request


class RateLimiter:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit and window_seconds must be positive")
        self.limit = limit
        self.window = window_seconds
        self.enabled = enabled
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, *keys: str) -> bool:
        """Count one attempt for each key; False when any key is already over its limit."""
        if not self.enabled:
            return True
        now = self.clock()
        allowed = True
        for key in keys:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                allowed = False
            else:
                hits.append(now)
        if len(self._hits) > 50_000:
            self._forget_idle(now)
        return allowed

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


def client_ip(request: Request) -> str:
    """The caller's address as every limit counts it (uvicorn has already applied
    X-Forwarded-For from trusted proxies): an IPv4 address, or an IPv6 address's /64 — one
    subscriber's network, whose 2^64 addresses would otherwise each get fresh tries."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is that IPv4 address
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class GrowingDelay:
    """A wait that doubles with each failure in a row for a key, after ``free`` of them:
    ``first_seconds``, then twice that, … up to ``longest_seconds``. A success forgets the key.

    Unlike a lock it never refuses for long: whoever knows the password gets in within
    ``longest_seconds``, however many wrong tries others made.
    """

    def __init__(
        self,
        *,
        free: int,
        first_seconds: float,
        longest_seconds: float,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.first = first_seconds
        self.longest = longest_seconds
        self.enabled = enabled
        self.clock = clock
        # key → (failures in a row, the moment of the last one)
        self._failures: dict[str, tuple[int, float]] = {}

    def wait_seconds(self, key: str) -> float:
        """How long ``key`` must still wait before its next try (0: now)."""
        if not self.enabled:
            return 0.0
        failures, last = self._failures.get(key, (0, 0.0))
        if failures < self.free:
            return 0.0
        delay = min(self.first * 2 ** (failures - self.free), self.longest)
        return max(0.0, last + delay - self.clock())

    def failed(self, key: str) -> None:
        if not self.enabled:
            return
        now = self.clock()
        failures, _ = self._failures.get(key, (0, 0.0))
        self._failures[key] = (failures + 1, now)
        if len(self._failures) > 50_000:
            idle = now - 24 * 3600
            for stale in [k for k, (_, last) in self._failures.items() if last < idle]:
                del self._failures[stale]

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
