"""(being written)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attendees.models import Registration
from sala.config import Settings


async def materials_for_manage_page(
    registration: Registration, settings: Settings, now: datetime
) -> dict[str, Any]:
    return {}
