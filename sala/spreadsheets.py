"""CSV downloads for staff, the one way: formulas neutralised, a BOM for Khmer, private."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from starlette.responses import Response

from sala.responses import PRIVATE_HEADERS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Digits, spaces, "+", "-" and parentheses only: a phone number ("+855 12 345 678"). A
# spreadsheet may read it as a sum, but it can call no function and reach nothing.
_PHONE_LIKE = re.compile(r"[0-9 ()+\-]*[0-9][0-9 ()+\-]*")


def csv_safe(value: str) -> str:
    """Neutralise a spreadsheet formula typed into a field (CSV injection): a cell that
    starts with a formula character gets a leading ``'``, unless it is only a phone number,
    which is written as it is."""
    if value[:1] not in FORMULA_STARTS or _PHONE_LIKE.fullmatch(value):
        return value
    return "'" + value


def csv_response(rows: Iterable[Sequence[object]], *, filename: str) -> Response:
    """The rows as a CSV attachment. Text cells are made safe here; callers pass values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return Response(
        "\ufeff" + buffer.getvalue(),  # a BOM, so spreadsheet apps read Khmer as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE_HEADERS, "content-disposition": f'attachment; filename="{filename}"'},
    )
