"""(being written)"""

from __future__ import annotations

from datetime import datetime

from sala.config import Settings
from sala.mail import Composer

COMPOSERS: dict[str, Composer] = {}
NAMES: dict[str, str] = {}


async def enqueue_due_feedback_requests(settings: Settings, now: datetime | None = None) -> int:
    return 0
