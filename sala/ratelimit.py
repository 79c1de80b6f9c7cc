"""Per-key sliding-window limits (login attempts, later registrations).

Counted in the memory of each process: with several app processes a client gets at most
``limit × processes`` tries. That is enough to stop password guessing; see ARCHITECTURE.md.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque

from starlette.requests import Request


class RateLimiter:
    def __init__(self, *, limit: int, window_seconds: float, enabled: bool = True) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit and window_seconds must be positive")
        self.limit = limit
        self.window = window_seconds
        self.enabled = enabled
        self._hits: dict[str, deque[float]] = {}

    def hit(self, *keys: str) -> bool:
        """Count one attempt for each key; False when any key is already over its limit."""
        if not self.enabled:
            return True
        now = time.monotonic()
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
