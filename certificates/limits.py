"""Rate limits on checking a certificate holder's name at ``/verify``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from sala.ratelimit import RateLimiter, client_ip

# Guessing who holds a certificate. Counted per address and code, so one address cannot use
# up a code's checks for everyone else; per address, across codes; and per code, a ceiling
# (whoever asks, always on) against guessing spread over many addresses. Both codes of a
# certificate (its own and its neutral copy's) count as one.
NAME_CHECKS_PER_ADDRESS_AND_CODE = (5, 3600.0)
NAME_CHECKS_PER_ADDRESS = (30, 3600.0)
NAME_CHECKS_PER_CODE = (50, 3600.0)


@dataclass(frozen=True)
class NameCheckLimiters:
    per_address_and_code: RateLimiter
    per_address: RateLimiter
    per_code: RateLimiter


def name_check_limiters(*, enabled: bool) -> NameCheckLimiters:
    def limiter(limit: tuple[int, float], *, on: bool) -> RateLimiter:
        return RateLimiter(limit=limit[0], window_seconds=limit[1], enabled=on)

    return NameCheckLimiters(
        per_address_and_code=limiter(NAME_CHECKS_PER_ADDRESS_AND_CODE, on=enabled),
        per_address=limiter(NAME_CHECKS_PER_ADDRESS, on=enabled),
        per_code=limiter(NAME_CHECKS_PER_CODE, on=True),
    )


def name_check_allowed(request: Request, code: str) -> bool:
    """One name check on this certificate from this address. A check refused by the
    address's own limits is not counted against the code, so it costs nobody else."""
    limits: NameCheckLimiters = request.app.state.name_check_limiters
    address = client_ip(request)
    return (
        limits.per_address_and_code.hit(f"{address} {code}")
        and limits.per_address.hit(address)
        and limits.per_code.hit(code)
    )
