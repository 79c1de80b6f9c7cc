"""(being written)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attendees.models import Registration


async def tests_for_manage_page(registration: Registration, now: datetime) -> dict[str, Any]:
    return {}
