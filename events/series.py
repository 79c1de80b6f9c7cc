"""Monthly series: an RFC 5545 RRULE turned into the start times of its sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from dateutil.rrule import MONTHLY, WEEKLY, rrulestr

from events.forms import MAX_SERIES_SESSIONS, SeriesInput
from sala.errors import ValidationFailed
from sala.i18n import N_

# Finer frequencies let an impossible rule (e.g. 31 February, daily) search for seconds.
ALLOWED_FREQUENCIES = (WEEKLY, MONTHLY)


def occurrences(rrule: str, first_start: datetime, months: int) -> list[datetime]:
    """Start times (aware, in ``first_start``'s zone) from ``first_start`` through ``months``
    calendar months, counting the first session's month as the first.

    The rule runs on wall-clock time, so "09:00 every first Saturday" stays 09:00 across
    daylight-saving changes in zones that have them.
    """
    zone = first_start.tzinfo
    local_start = first_start.replace(tzinfo=None)
    month_start = local_start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = month_start + relativedelta(months=months)
    try:
        rule = rrulestr(rrule, dtstart=local_start, forceset=False, ignoretz=True)
        freq = rule._freq  # type: ignore[union-attr]
        if freq not in ALLOWED_FREQUENCIES:
            raise ValidationFailed(
                {"rrule": N_("Use a weekly or monthly rule, e.g. FREQ=MONTHLY;BYDAY=1SA.")}
            )
        if rule._count is None:  # type: ignore[union-attr]
            rule = rule.replace(until=end)  # type: ignore[union-attr]
        starts: list[datetime] = []
        for moment in rule:
            if moment >= end:
                break
            starts.append(moment)
            if len(starts) > MAX_SERIES_SESSIONS:
                raise ValidationFailed(
                    {"rrule": N_("This rule makes more than 36 sessions. Shorten the period.")}
                )
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise ValidationFailed(
            {"rrule": N_("This is not a valid repeat rule (RRULE), e.g. FREQ=MONTHLY;BYDAY=1SA.")}
        ) from exc
    if not starts:
        raise ValidationFailed({"rrule": N_("This rule makes no session in this period.")})
    return [moment.replace(tzinfo=zone) for moment in starts]


@dataclass(frozen=True)
class SeriesPreview:
    """The start times a series would get, before anything is created."""

    starts: list[datetime]
    typed_start: datetime

    @property
    def first_start_differs(self) -> bool:
        """The rule does not fall on the typed start, so the series begins on another day."""
        return self.starts[0] != self.typed_start


def preview_series(data: SeriesInput) -> SeriesPreview:
    first = data.template.starts_at
    starts = occurrences(data.rrule, first, data.months)
    return SeriesPreview(starts=starts, typed_start=first)
