"""Does logging in stop the door? /healthz latency while a dozen staff log in at once.

    .venv/bin/python bench/logins.py [--logins 12] [--rounds 3]

A real ``sala serve`` (SQLite, one process, real argon2id) and a dozen parallel logins, each
as a browser does it (GET the form for its CSRF token, POST the password). Meanwhile a probe
asks ``/healthz`` every 10 ms on its own connection and records how long each answer took.
Before issue 14 the hashes ran on the event loop and 12 logins held /healthz for 2.7 s; with
the password threads it should stay within tens of milliseconds. A few requests only, so a
Python client is fine here: the figure is a latency, not a rate.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import ADMIN_EMAIL, ADMIN_PASSWORD, SalaServer


async def _login(base_url: str) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as browser:
        started = time.perf_counter()
        page = await browser.get("/staff/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the login page"
        answer = await browser.post(
            "/staff/login",
            data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token.group(1)},
        )
        return answer.status_code, time.perf_counter() - started


async def _probe(base_url: str, stop: asyncio.Event, samples: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as probe:
        while not stop.is_set():
            started = time.perf_counter()
            await probe.get("/healthz")
            samples.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)


async def _round(base_url: str, logins: int) -> dict[str, float]:
    stop = asyncio.Event()
    samples: list[float] = []
    probe = asyncio.create_task(_probe(base_url, stop, samples))
    await asyncio.sleep(0.2)
    quiet = list(samples)
    started = time.perf_counter()
    results = await asyncio.gather(*(_login(base_url) for _ in range(logins)))
    elapsed = time.perf_counter() - started
    stop.set()
    await probe
    during = samples[len(quiet) :]
    statuses = [status for status, _ in results]
    if statuses.count(303) != logins:
        print(f"warning: not every login succeeded: {statuses}")
    return {
        "logins_s": elapsed,
        "healthz_max_ms": max(during) * 1000,
        "healthz_p50_ms": statistics.median(during) * 1000,
        "healthz_samples": len(during),
        "quiet_p50_ms": statistics.median(quiet) * 1000 if quiet else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="sala-bench-logins-") as tmp,
        SalaServer(Path(tmp) / "data") as server,
    ):
        for number in range(1, args.rounds + 1):
            figures = asyncio.run(_round(server.base_url, args.logins))
            print(
                f"round {number}: {args.logins} logins in {figures['logins_s']:.2f} s; "
                f"/healthz meanwhile p50 {figures['healthz_p50_ms']:.1f} ms, "
                f"max {figures['healthz_max_ms']:.1f} ms "
                f"({figures['healthz_samples']:.0f} answers; quiet p50 "
                f"{figures['quiet_p50_ms']:.1f} ms)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
