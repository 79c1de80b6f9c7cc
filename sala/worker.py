"""The background worker: sends due mail and runs the periodic jobs (e.g. reminders).

It runs inside each app process by default (started by the app's lifespan) and alone with
``sala worker``. Several can run at once: claims are exclusive (see ``sala.mail``), and each
periodic job is written to be safe when two workers run it together. What it runs is handed
to it (``sala/app.py:BACKGROUND``), never collected from modules as they are imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sala.config import Settings
from sala.errorlog import log_error
from sala.mail import Composers, deliver_due, transport_for

log = logging.getLogger("sala.worker")

PeriodicJob = Callable[[Settings], Awaitable[object]]

POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Background:
    """Everything the worker does: compose the outbox's mail, and run the periodic jobs."""

    composers: Composers
    periodic_jobs: tuple[PeriodicJob, ...]


async def run_once(settings: Settings, background: Background) -> int:
    """One round: the periodic jobs, then the due mail. Returns the number of mails sent."""
    for job in background.periodic_jobs:
        await job(settings)
    transport = transport_for(settings)
    if transport is None:
        return 0
    return await deliver_due(background.composers, transport, settings)


async def run_forever(settings: Settings, background: Background, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            sent = await run_once(settings, background)
        except Exception as exc:  # one bad round must not stop the worker
            log_error(log, exc, "worker round failed")
            sent = 0
        if sent:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
