"""Reading a report's period, breakdown and filters from a query string (page, API, export)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from events.models import Audience
from reports.services import Dimension, ReachQuery
from sala.errors import ValidationFailed
from sala.forms import parse_id
from sala.i18n import N_

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def parse_month(raw: str) -> date | None:
    """``YYYY-MM`` as the first day of that month; None if it is not one."""
    found = _MONTH.match(raw.strip())
    if found is None:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    if not (EARLIEST_YEAR <= year <= LATEST_YEAR and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_month(day: date) -> date:
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def month_text(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_reach_query(params: Mapping[str, str], *, default_by: str | None = None) -> ReachQuery:
    """``from``/``to`` (``YYYY-MM``, both included; either may be left out), ``by`` and the
    filters ``topic``, ``series``, ``facilitator``, ``audience``. Every mistake at once."""
    errors: dict[str, str] = {}
    start = end = None
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    if raw_from:
        start = parse_month(raw_from)
        if start is None:
            errors["from"] = N_("Give a month as YYYY-MM, e.g. 2026-01.")
    if raw_to:
        last = parse_month(raw_to)
        if last is None:
            errors["to"] = N_("Give a month as YYYY-MM, e.g. 2026-01.")
        else:
            end = next_month(last)
    if start is not None and end is not None and start >= end:
        errors["to"] = N_("The last month must not come before the first.")
    by = params.get("by", "") or default_by or ""
    if by not in tuple(Dimension):
        errors["by"] = N_("Choose one of the options.")
    topic = params.get("topic", "").strip() or None
    if topic is not None and not re.fullmatch(r"[a-z0-9_]{1,40}", topic):
        errors["topic"] = N_("Choose one of the options.")
    series_id = _optional_id(params, "series", errors)
    facilitator_id = _optional_id(params, "facilitator", errors)
    audience = params.get("audience", "").strip() or None
    if audience is not None and audience not in tuple(Audience):
        errors["audience"] = N_("Choose one of the options.")
    if errors:
        raise ValidationFailed(errors)
    return ReachQuery(
        start=start,
        end=end,
        by=Dimension(by),
        topic=topic,
        series_id=series_id,
        facilitator_id=facilitator_id,
        audience=audience,
    )


def _optional_id(params: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        errors[name] = N_("This is not a valid id.")
    return value
