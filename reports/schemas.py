"""The JSON shape of a reach report, and its OpenAPI description."""

from __future__ import annotations

from typing import Any

from reports.forms import month_text, previous_month
from reports.services import Dimension, Figures, ReachReport


def _figures_json(figures: Figures | None) -> dict[str, int | None]:
    if figures is None:
        return {"registrations": None, "attendances": None, "people": None}
    return {
        "registrations": figures.registrations,
        "attendances": figures.attendances,
        "people": figures.people,
    }


def reach_json(report: ReachReport) -> dict[str, Any]:
    """A suppressed row has ``null`` figures and ``"suppressed": true``."""
    query = report.query
    last = month_text(previous_month(query.end)) if query.end is not None else None
    rows = []
    for row in report.rows:
        item: dict[str, Any] = {"key": row.key, "label": row.label, **_figures_json(row.figures)}
        if row.suppressed:
            item["suppressed"] = True
        rows.append(item)
    return {
        "from": month_text(query.start) if query.start else None,
        "to": last,
        "by": query.by.value,
        "total": _figures_json(report.total),
        "rows": rows,
        "min_cell": report.min_cell,
        "people_add_up": False,
    }


_COUNT = {"type": ["integer", "null"], "minimum": 0}
_FIGURES = {
    "registrations": {**_COUNT, "description": "not cancelled: confirmed or waitlisted"},
    "attendances": {**_COUNT, "description": "checked in at the door"},
    "people": {**_COUNT, "description": "different people among the attendances"},
}

REACH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["from", "to", "by", "total", "rows"],
    "properties": {
        "from": {"type": ["string", "null"], "example": "2026-01"},
        "to": {"type": ["string", "null"], "example": "2026-12"},
        "by": {"type": "string", "enum": [d.value for d in Dimension]},
        "total": {"type": "object", "properties": _FIGURES},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "label", "registrations", "attendances", "people"],
                "properties": {
                    "key": {"type": "string", "description": "empty: not given"},
                    "label": {"type": "string", "description": "in the request's language"},
                    **_FIGURES,
                    "suppressed": {
                        "type": "boolean",
                        "description": "the figures are null: fewer than min_cell people, "
                        "or hidden so that the total does not give such a row away",
                    },
                },
            },
        },
        "min_cell": {"type": "integer", "description": "SALA_REPORT_MIN_CELL"},
        "people_add_up": {
            "type": "boolean",
            "description": "always false: a person counts once in every row and in the total",
        },
    },
}

SCHEMAS: dict[str, Any] = {"ReachReport": REACH_SCHEMA}
