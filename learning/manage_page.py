"""What the learning package adds to a registration's manage page.

Three parts, each from the module that owns it: the tests (``learning/attempts.py``), the
feedback form (``learning/feedback.py``) and the materials (``learning/materials.py``); the
page includes ``templates/learning/_manage_tests.html``, ``_manage_feedback.html`` and
``_manage_materials.html``, each reading its part of ``learning``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from attendees.models import Registration
from learning.attempts import tests_for_manage_page
from learning.feedback import feedback_for_manage_page
from learning.materials import materials_for_manage_page
from sala.config import Settings


async def learning_on_manage_page(
    registration: Registration, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "tests": await tests_for_manage_page(registration, now),
        "feedback": await feedback_for_manage_page(registration, now),
        "materials": await materials_for_manage_page(registration, settings, now),
    }
