"""Bar charts drawn on the server as SVG: no JavaScript, readable on a 360 px phone.

Each bar is a row of its own: the label above it (wrapped onto more lines when long, Khmer
included), then the bar with its value written after it. A hidden (suppressed) value draws
no bar, only the words "fewer than N", and the scale comes from the values shown, so no
bar's length gives a hidden one away.

To assistive technology the chart is one image (``role="img"``, named by its ``<title>``);
the table next to it holds the figures. Colours and sizes are SVG presentation attributes:
the page's Content-Security-Policy forbids ``style=`` attributes. The colours are those of
``static/css/sala.css`` (``--accent``, ``--ink``, ``--muted``), each at least 4.5:1 on white.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from datetime import date

from markupsafe import Markup

from reports.forms import month_text, next_month, parse_month
from reports.services import Dimension, ReachReport
from sala.i18n import N_, format_month, format_number, gettext

Bar = tuple[str, int | None]  # a label and its value; None: suppressed

FEWER_THAN = N_("Fewer than %(count)s")
NOTHING = N_("Nothing to show for this period.")

WIDTH = 320  # the viewBox is about as wide as a 360 px phone's page, so 1 unit ≈ 1 px there
FONT_SIZE = 15
LINE_HEIGHT = 23  # Khmer stacks vowels above and subscript consonants below: room for both
BAR_HEIGHT = 16
TOP = 4  # room above the first line for Khmer vowels written above the letters
ROW_GAP = 10
VALUE_ROOM = 64  # right of the longest bar, for its value ("100,000")
BAR_COLOUR = "#6b2fa0"  # --accent
TEXT_COLOUR = "#1d1b26"  # --ink
MUTED_COLOUR = "#55516a"  # --muted
_COENG = "\u17d2"  # Khmer sign that puts the next consonant below: never break after it
_SPACES = (" ", "\u200b")  # a space, and the zero-width space Khmer text marks words with


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    chart_id: str,
    min_cell: int,
) -> Markup:
    """One horizontal bar per ``(label, value)``, in the order given, as inline SVG; its
    ``<desc>`` says the same in words ("Student: 12; NGO: fewer than 5")."""
    longest = max((value for _, value in bars if value is not None), default=0)
    rows: list[Markup] = []
    y = TOP
    for label, value in bars:
        row, y = _row(label, value, top=y, longest=longest, min_cell=min_cell)
        rows.append(row)
    if not bars:
        rows.append(_text(gettext(NOTHING), x=0, y=y + LINE_HEIGHT - 6, fill=MUTED_COLOUR))
        y += LINE_HEIGHT + ROW_GAP
    height = y - ROW_GAP + TOP
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    fewer = gettext(FEWER_THAN, count=format_number(min_cell))
    words = "; ".join(
        f"{label}: {fewer if value is None else format_number(value)}" for label, value in bars
    )
    desc = Markup('<desc id="{}">{}</desc>').format(desc_id, words or gettext(NOTHING))
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}"'
        ' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        ' role="img" aria-labelledby="{title_id}" aria-describedby="{desc_id}"'
        ' focusable="false" font-size="{font}">'
        '<title id="{title_id}">{title}</title>{desc}{rows}</svg>'
    ).format(
        id=chart_id,
        width=WIDTH,
        height=height,
        desc_id=desc_id,
        font=FONT_SIZE,
        title_id=title_id,
        title=title,
        desc=desc,
        rows=Markup("").join(rows),
    )


def _row(
    label: str, value: int | None, *, top: int, longest: int, min_cell: int
) -> tuple[Markup, int]:
    """One bar's SVG group, and where the next one starts."""
    parts: list[Markup] = []
    y = top
    for line in wrap(label, width_em=WIDTH / FONT_SIZE):
        parts.append(_text(line, x=0, y=y + LINE_HEIGHT - 6, fill=TEXT_COLOUR))
        y += LINE_HEIGHT
    bar_top = y + 2
    baseline = bar_top + BAR_HEIGHT - 3
    if value is None:
        fewer = gettext(FEWER_THAN, count=format_number(min_cell))
        parts.append(_text(fewer, x=0, y=baseline, fill=MUTED_COLOUR, italic=True))
    else:
        length = round((WIDTH - VALUE_ROOM) * value / longest, 1) if longest else 0
        if length > 0:
            parts.append(
                Markup(
                    '<rect class="chart-bar" x="0" y="{}" width="{}" height="{}" rx="2" fill="{}"/>'
                ).format(bar_top, length, BAR_HEIGHT, BAR_COLOUR)
            )
        gap = 6 if length > 0 else 0
        parts.append(_text(format_number(value), x=length + gap, y=baseline, fill=TEXT_COLOUR))
    kind = "chart-row suppressed" if value is None else "chart-row"
    row = Markup('<g class="{}">{}</g>').format(kind, Markup("").join(parts))
    return row, bar_top + BAR_HEIGHT + ROW_GAP


def _text(words: str, *, x: float, y: float, fill: str, italic: bool = False) -> Markup:
    slant = Markup(' font-style="italic"') if italic else Markup("")
    return Markup('<text x="{}" y="{}" fill="{}"{}>{}</text>').format(x, y, fill, slant, words)


# ----------------------------------------------------------------------------- wrapping


def wrap(text: str, *, width_em: float) -> list[str]:
    """``text`` in lines of at most ``width_em`` (estimated), broken at spaces, or between
    two characters of a word too long for a line (never inside a Khmer cluster)."""
    lines: list[str] = []
    line = ""
    for word in _words(text):
        candidate = f"{line} {word}" if line else word
        if _width(candidate) <= width_em:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for cluster in _clusters(word):
            if line and _width(line + cluster) > width_em:
                lines.append(line)
                line = ""
            line += cluster
    if line or not lines:
        lines.append(line)
    return lines


def _words(text: str) -> list[str]:
    for space in _SPACES[1:]:
        text = text.replace(space, _SPACES[0])
    return text.split()


def _clusters(word: str) -> Iterator[str]:
    """What the eye sees as one letter: a base character with its marks, and in Khmer the
    consonants a COENG sign stacks below it."""
    cluster = ""
    for char in word:
        joins = unicodedata.category(char) in ("Mn", "Mc") or cluster.endswith(_COENG)
        if cluster and not joins:
            yield cluster
            cluster = ""
        cluster += char
    if cluster:
        yield cluster


def _width(text: str) -> float:
    """A generous estimate of the width in ems (no font metrics on the server)."""
    total = 0.0
    for cluster in _clusters(text):
        base = cluster[0]
        if "\u1780" <= base <= "\u17ff" or "\u19e0" <= base <= "\u19ff":
            total += 0.85
        elif base == " ":
            total += 0.3
        elif base.isupper() or base in "mwMW—–":
            total += 0.72
        else:
            total += 0.56
    return total


# ----------------------------------------------------------------------------- bars of a report


def attendance_bars(report: ReachReport, *, today: date | None = None) -> list[Bar]:
    """A report's rows as bars of attendances. By month, the months without a session in
    between (and, for a period of up to three years, every month of it up to ``today``'s)
    get a bar of 0, so the chart shows time evenly."""
    bars: list[Bar] = [
        (row.label, row.figures.attendances if row.figures else None) for row in report.rows
    ]
    if report.query.by != Dimension.MONTH:
        return bars
    by_month = {
        row.key: (row.figures.attendances if row.figures else None)
        for row in report.rows
        if row.key
    }
    months = _months_to_show(report, sorted(by_month), today=today)
    return [(format_month(month), by_month.get(month_text(month), 0)) for month in months]


MONTHS_FILLED = 36


def _months_to_show(report: ReachReport, keys: list[str], *, today: date | None) -> list[date]:
    query = report.query
    found = [month for month in map(parse_month, keys) if month is not None]
    if query.start and query.end and _month_count(query.start, query.end) <= MONTHS_FILLED:
        start, stop = query.start, query.end  # stop: the month after the last
        if today is not None:  # not the months to come, unless sessions in them count already
            ends = [next_month(date(today.year, today.month, 1)), *map(next_month, found)]
            stop = min(stop, max(ends))
    elif found:
        start, stop = found[0], next_month(found[-1])
    else:
        return []
    months = []
    while start < stop:
        months.append(start)
        start = next_month(start)
    return months


def _month_count(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month
