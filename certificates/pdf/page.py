"""The certificate as a PDF: one A4 landscape page, Khmer and English.

:func:`render_certificate` is a pure function of :class:`CertificateContent`: no database, no
clock, no network. Wording comes filled in (the caller applies the topic's template); this
module only sets it on the page.

The page, top to bottom: the organisation (logo, names), the heading, the holder's name, the
body wording in both languages (and the training's title when the wording leaves it out),
the topic, dates and place (those given: a holder's neutral copy has none), then the
signatures and the QR code with the certificate's code. The holder's name is the only personal
data on the page; the PDF's metadata carries the code and the title printed, never the name,
and the creation date given (none for the neutral copy).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF

from certificates.pdf.embedding import CertificateOutput
from certificates.pdf.fonts import LATIN, add_fonts, printable
from certificates.pdf.images import fit_image, place_image
from certificates.pdf.textfit import FittedText, fit_text
from sala.qrcodes import qr_png

MAX_SIGNATURES = 3

PAGE_WIDTH, PAGE_HEIGHT = 297.0, 210.0
_PT = 25.4 / 72  # mm per point

_TEAL = (19, 78, 94)
_GOLD = (176, 134, 58)
_INK = (28, 36, 44)
_MUTED = (92, 104, 114)
_PAPER = (254, 252, 247)

_NAME_WIDTH = 215.0
_TEXT_WIDTH = 225.0
_SIGNATURE_WIDTH = 58.0
_QR_SIZE = 28.0
_QR_MASK = 2  # fixed: see sala.qrcodes.qr_png


@dataclass(frozen=True)
class Signature:
    """One signatory: name and role as printed, and an optional image (PNG or JPEG)."""

    name: str
    role: str
    image: bytes | None = None


@dataclass(frozen=True)
class CertificateContent:
    """Everything printed on a certificate, already in final wording."""

    holder_name: str
    body_km: str
    body_en: str
    title_km: str
    title_en: str
    topic_km: str
    topic_en: str
    dates_km: str
    dates_en: str
    place: str
    organisation_km: str
    organisation_en: str
    code: str
    verification_url: str
    logo: bytes | None = None
    signatures: tuple[Signature, ...] = ()
    # The file's creation date; None leaves it out (the neutral copy: see _add_info in
    # embedding.py). Given, not read from the clock, so the same content makes the same file.
    created_at: datetime | None = None
    heading_km: str = "វិញ្ញាបនបត្រ"
    heading_en: str = "Certificate of Completion"
    preamble_km: str = "សូមបញ្ជាក់ថា"
    preamble_en: str = "This is to certify that"

    def __post_init__(self) -> None:
        if len(self.signatures) > MAX_SIGNATURES:
            raise ValueError(f"at most {MAX_SIGNATURES} signatures fit on a certificate")


def render_certificate(data: CertificateContent) -> bytes:
    """The certificate as PDF bytes."""
    return render_certificates([data], title=f"Certificate {data.code}", created_at=data.created_at)


def render_certificates(
    certificates: Sequence[CertificateContent],
    *,
    title: str,
    created_at: datetime | None,
    on_page: Callable[[], object] | None = None,
) -> bytes:
    """Certificates one to a page, in the order given, as one PDF (to print a session's at
    once): each page as :func:`render_certificate` draws it. ``on_page`` is called after
    each page, for a progress bar. The file's title is ``title``, never a name."""
    if not certificates:
        raise ValueError("no certificate to render")
    first = certificates[0]
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.c_margin = 0
    pdf.set_compression(True)
    add_fonts(pdf)
    pdf.set_title(title)
    pdf.set_subject(first.title_en or first.title_km)
    pdf.set_author(first.organisation_en or first.organisation_km)
    pdf.set_creator("Sala")
    if created_at is None:
        pdf.creation_date = None  # type: ignore[assignment]
    else:
        pdf.set_creation_date(created_at)
    pdf.set_lang("km")
    for data in certificates:
        pdf.add_page()
        _frame(pdf)
        top = _header(pdf, data)
        bottom = _footer(pdf, data)
        _middle(pdf, data, top=top, bottom=bottom)
        if on_page is not None:
            on_page()
    return bytes(pdf.output(output_producer_class=CertificateOutput))


# -- The frame -------------------------------------------------------------------------------


def _frame(pdf: FPDF) -> None:
    pdf.set_fill_color(*_PAPER)
    pdf.rect(0, 0, PAGE_WIDTH, PAGE_HEIGHT, style="F")
    pdf.set_draw_color(*_TEAL)
    pdf.set_line_width(2.2)
    pdf.rect(8, 8, PAGE_WIDTH - 16, PAGE_HEIGHT - 16)
    pdf.set_draw_color(*_GOLD)
    pdf.set_line_width(0.35)
    pdf.rect(11.5, 11.5, PAGE_WIDTH - 23, PAGE_HEIGHT - 23)
    pdf.set_fill_color(*_GOLD)
    for x in (11.5, PAGE_WIDTH - 11.5):
        for y in (11.5, PAGE_HEIGHT - 11.5):
            _diamond(pdf, x, y, 2.2)


def _diamond(pdf: FPDF, x: float, y: float, radius: float) -> None:
    pdf.polygon([(x, y - radius), (x + radius, y), (x, y + radius), (x - radius, y)], style="F")


# -- Text ------------------------------------------------------------------------------------


def _has_khmer(text: str) -> bool:
    return any("\u1780" <= char <= "\u17ff" or "\u19e0" <= char <= "\u19ff" for char in text)


def _line_height(fitted: FittedText) -> float:
    """Khmer stacks vowels above and subscripts below, so its lines need more room."""
    factor = 1.75 if any(_has_khmer(line) for line in fitted.lines) else 1.3
    return fitted.size * _PT * factor


def _block_height(fitted: FittedText) -> float:
    return _line_height(fitted) * len(fitted.lines)


def _draw_lines(
    pdf: FPDF,
    fitted: FittedText,
    *,
    x: float,
    y: float,
    width: float,
    color: tuple[int, int, int],
    style: str = "",
    align: str = "C",
) -> float:
    """Draw ``fitted`` from ``y``; the y below it."""
    pdf.set_font(LATIN, style, fitted.size)
    pdf.set_text_color(*color)
    height = _line_height(fitted)
    for line in fitted.lines:
        pdf.set_xy(x, y)
        pdf.cell(width, height, line, align=align)
        y += height
    return y


# -- The organisation, at the top ------------------------------------------------------------


def _header(pdf: FPDF, data: CertificateContent) -> float:
    """Logo and the organisation's names side by side, centred; the y below them. A name that
    is the same in both languages (Sala has one ``organisation_name``) is printed once."""
    top = 19.0
    first, second = data.organisation_km or data.organisation_en, data.organisation_en
    if second.casefold() == first.casefold():
        second = ""
    names_km = fit_text(pdf, first, width=150, max_size=12, min_size=8, style="B")
    names_en = fit_text(pdf, second.upper(), width=150, max_size=8.5, min_size=6)
    text_width = max(names_km.width, names_en.width)
    text_height = _block_height(names_km) + _block_height(names_en)

    logo_width = logo_height = 0.0
    if data.logo:
        logo_width, logo_height = fit_image(data.logo, max_width=36, max_height=17)
    gap = 5.0 if data.logo and text_width else 0.0
    left = (PAGE_WIDTH - logo_width - gap - text_width) / 2
    height = max(logo_height, text_height)
    if data.logo:
        place_image(pdf, data.logo, x=left, y=top + (height - logo_height) / 2, width=logo_width)
    x = left + logo_width + gap
    align = "L" if data.logo else "C"
    y = top + (height - text_height) / 2
    y = _draw_lines(pdf, names_km, x=x, y=y, width=text_width, color=_TEAL, style="B", align=align)
    _draw_lines(pdf, names_en, x=x, y=y, width=text_width, color=_MUTED, align=align)
    return top + height


# -- Signatures, QR code and code, at the bottom ---------------------------------------------


def _footer(pdf: FPDF, data: CertificateContent) -> float:
    """Signatures, the QR code and the verification line; the y above them."""
    line_y = 171.0
    count = len(data.signatures)
    area_left, area_right = 24.0, 236.0
    if count:
        step = (area_right - area_left) / count
        for index, signature in enumerate(data.signatures):
            centre = area_left + step * (index + 0.5)
            _signature(pdf, signature, centre=centre, line_y=line_y)

    qr_x, qr_y = PAGE_WIDTH - 22 - _QR_SIZE, 150.0
    qr = qr_png(data.verification_url, box_size=4, mask_pattern=_QR_MASK)
    pdf.image(io.BytesIO(qr), qr_x, qr_y, _QR_SIZE)
    code = fit_text(pdf, data.code, width=_QR_SIZE + 8, max_size=8, min_size=5, style="B")
    _draw_lines(pdf, code, x=qr_x - 4, y=qr_y + _QR_SIZE, width=_QR_SIZE + 8, color=_INK, style="B")

    verify = fit_text(
        pdf,
        f"ផ្ទៀងផ្ទាត់  ·  Verify: {data.verification_url}",
        width=200,
        max_size=7.5,
        min_size=5,
    )
    _draw_lines(pdf, verify, x=(PAGE_WIDTH - 200) / 2, y=188.5, width=200, color=_MUTED)
    return qr_y - 4 if not count else min(qr_y, line_y - 17) - 4


def _signature(pdf: FPDF, signature: Signature, *, centre: float, line_y: float) -> None:
    left = centre - _SIGNATURE_WIDTH / 2
    if signature.image:
        width, height = fit_image(signature.image, max_width=46, max_height=15)
        place_image(pdf, signature.image, x=centre - width / 2, y=line_y - 1 - height, width=width)
    pdf.set_draw_color(*_MUTED)
    pdf.set_line_width(0.25)
    pdf.line(left + 4, line_y, left + _SIGNATURE_WIDTH - 4, line_y)
    name = fit_text(pdf, signature.name, width=_SIGNATURE_WIDTH, max_size=9.5, min_size=6.5)
    role = fit_text(pdf, signature.role, width=_SIGNATURE_WIDTH, max_size=8, min_size=6)
    y = _draw_lines(
        pdf, name, x=left, y=line_y + 1.2, width=_SIGNATURE_WIDTH, color=_INK, style="B"
    )
    _draw_lines(pdf, role, x=left, y=y, width=_SIGNATURE_WIDTH, color=_MUTED)


# -- The middle: heading, name, wording, details ---------------------------------------------


@dataclass(frozen=True)
class _Row:
    height: float
    draw: Callable[[float], object]
    gap_before: float = 0.0


def _middle(pdf: FPDF, data: CertificateContent, *, top: float, bottom: float) -> None:
    rows = _middle_rows(pdf, data)
    content = sum(row.height for row in rows)
    gaps = sum(row.gap_before for row in rows)
    room = bottom - top
    # Gaps shrink before anything overflows, and the rest of the room is shared above and
    # below so the block sits in the middle.
    scale = max(0.0, min(1.0, (room - content) / gaps)) if gaps else 1.0
    y = top + max(0.0, (room - content - gaps * scale) / 2)
    for row in rows:
        y += row.gap_before * scale
        row.draw(y)
        y += row.height


def _text_row(
    pdf: FPDF,
    fitted: FittedText,
    *,
    width: float,
    color: tuple[int, int, int],
    style: str = "",
    gap_before: float = 0.0,
) -> _Row:
    x = (PAGE_WIDTH - width) / 2

    def draw(y: float) -> None:
        _draw_lines(pdf, fitted, x=x, y=y, width=width, color=color, style=style)

    return _Row(_block_height(fitted), draw, gap_before)


def _middle_rows(pdf: FPDF, data: CertificateContent) -> list[_Row]:
    fit = fit_text
    rows = [
        _text_row(
            pdf,
            fit(pdf, data.heading_km, width=_TEXT_WIDTH, max_size=30, min_size=16, style="B"),
            width=_TEXT_WIDTH,
            color=_TEAL,
            style="B",
            gap_before=4,
        ),
        _spaced_row(pdf, data.heading_en.upper(), size=12, color=_GOLD),
        _text_row(
            pdf,
            fit(
                pdf,
                f"{data.preamble_km}  ·  {data.preamble_en}",
                width=_TEXT_WIDTH,
                max_size=10.5,
                min_size=7,
            ),
            width=_TEXT_WIDTH,
            color=_MUTED,
            gap_before=7,
        ),
    ]
    name = fit(
        pdf,
        data.holder_name,
        width=_NAME_WIDTH,
        max_size=34,
        wrap_below=24,
        min_size=14,
        max_lines=2,
        style="B",
    )
    rows.append(_text_row(pdf, name, width=_NAME_WIDTH, color=_INK, style="B", gap_before=2))
    rows.append(_Row(3.0, lambda y: _rule(pdf, y + 1.5), gap_before=1))
    rows.append(_wording_row(pdf, data.body_km, size=12.5, color=_INK, gap_before=6))
    rows.append(_wording_row(pdf, data.body_en, size=11.5, color=_MUTED, gap_before=1))
    for title, body, size in ((data.title_km, data.body_km, 14), (data.title_en, data.body_en, 13)):
        if title and title not in body:
            rows.append(_wording_row(pdf, title, size=size, color=_TEAL, style="B", gap_before=1))
    details = _details_row(pdf, data, gap_before=7)
    if details is not None:
        rows.append(details)
    return rows


def _wording_row(
    pdf: FPDF,
    text: str,
    *,
    size: float,
    color: tuple[int, int, int],
    style: str = "",
    gap_before: float = 0.0,
) -> _Row:
    fitted = fit_text(
        pdf, text, width=_TEXT_WIDTH, max_size=size, min_size=8, max_lines=2, style=style
    )
    return _text_row(
        pdf, fitted, width=_TEXT_WIDTH, color=color, style=style, gap_before=gap_before
    )


def _spaced_row(pdf: FPDF, text: str, *, size: float, color: tuple[int, int, int]) -> _Row:
    """A line in letter-spaced capitals (the English heading)."""
    text = printable(text)
    spacing = size * 0.28

    def draw(y: float) -> None:
        pdf.set_font(LATIN, "", size)
        pdf.set_char_spacing(spacing)
        pdf.set_text_color(*color)
        pdf.set_xy(0, y)
        pdf.cell(PAGE_WIDTH, size * _PT * 1.3, text, align="C")
        pdf.set_char_spacing(0)

    return _Row(size * _PT * 1.3, draw)


def _rule(pdf: FPDF, y: float) -> None:
    """A gold rule under the name, with a diamond at its centre."""
    half = 55.0
    centre = PAGE_WIDTH / 2
    pdf.set_draw_color(*_GOLD)
    pdf.set_line_width(0.4)
    pdf.line(centre - half, y, centre - 3.5, y)
    pdf.line(centre + 3.5, y, centre + half, y)
    pdf.set_fill_color(*_GOLD)
    _diamond(pdf, centre, y, 1.6)


def _details_row(pdf: FPDF, data: CertificateContent, *, gap_before: float) -> _Row | None:
    """Topic, dates and place: a column each, Khmer over English, for those given."""
    column = 70.0
    columns = [
        (label, km, en)
        for label, km, en in (
            ("ប្រធានបទ · TOPIC", data.topic_km, data.topic_en),
            ("កាលបរិច្ឆេទ · DATE", data.dates_km, data.dates_en),
            ("ទីកន្លែង · PLACE", data.place, ""),
        )
        if km or en
    ]
    if not columns:
        return None
    fitted = [
        (
            fit_text(pdf, label, width=column, max_size=7.5, min_size=6),
            fit_text(pdf, km, width=column, max_size=10.5, min_size=7, max_lines=2),
            fit_text(pdf, en, width=column, max_size=9.5, min_size=7, max_lines=2),
        )
        for label, km, en in columns
    ]
    height = max(sum(_block_height(part) + 0.8 for part in parts) for parts in fitted)
    left = (PAGE_WIDTH - column * len(columns)) / 2

    def draw(y: float) -> None:
        for index, (label, km, en) in enumerate(fitted):
            x = left + column * index
            below = _draw_lines(pdf, label, x=x, y=y, width=column, color=_GOLD)
            below = _draw_lines(pdf, km, x=x, y=below + 0.8, width=column, color=_INK)
            _draw_lines(pdf, en, x=x, y=below, width=column, color=_MUTED)
            if index:
                pdf.set_draw_color(*_GOLD)
                pdf.set_line_width(0.25)
                pdf.line(x, y + 1, x, y + height - 1)

    return _Row(height, draw, gap_before)
