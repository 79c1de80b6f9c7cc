"""The certificate PDF: what a reader, a search and a phone's QR scanner get from it.

Pages are rendered with pdftoppm (poppler-utils, installed by ``.ci/run``) into
``test-artifacts/`` for a person to look at: the Khmer clusters there (ស្រី, ក្ស, ព្រះ,
វិញ្ញាបនបត្រ, សិក្ខាសាលា) must show their subscripts and vowels in place.
Without pdftoppm those tests are skipped on a developer machine and fail on CI (``CI=true``).
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw

from certificates.pdf.fonts import add_fonts, printable
from certificates.pdf.page import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    CertificateContent,
    Signature,
    render_certificate,
)
from certificates.pdf.textfit import fit_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
URL = "https://sala.example.org/verify/K7Q2-M9XW-4TRA"
TITLE_EN = "Safe Spaces: Inclusive Workplaces"
TITLE_KM = "កន្លែងសុវត្ថិភាព៖ កន្លែងធ្វើការដែលបើកចំហ"
LONG_NAME = ("Chanmony Sreyleak Vannarith Sokunthea Ratanak " * 4)[:120]
MIXED_NAME = ("ស្រីពៅ ព្រះ Nguyễn Thị 🌈 Dara 👩‍👩‍👧 ក្សត្រ Sokha 🏳️‍🌈 " * 3)[:120]
DPI = 100


def _png(color: tuple[int, int, int], size: tuple[int, int], *, scribble: bool) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if scribble:
        points = [(10 + i * 19, 60 + (i * 37 % 7 - 3) * 11) for i in range(20)]
        draw.line(points, fill=(*color, 255), width=5)
    else:
        draw.ellipse((8, 8, size[0] - 8, size[1] - 8), fill=(*color, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


SIGNATURE = _png((20, 30, 90), (400, 120), scribble=True)


def _content(**overrides: object) -> CertificateContent:
    content = CertificateContent(
        holder_name="ស្រីពៅ Sreypov Chan",
        body_km=f"បានបញ្ចប់ដោយជោគជ័យនូវវគ្គបណ្តុះបណ្តាល «{TITLE_KM}»",
        body_en=f"has completed the training “{TITLE_EN}”",
        title_km=TITLE_KM,
        title_en=TITLE_EN,
        topic_km="សិក្ខាសាលា ព្រះរាជាណាចក្រ",
        topic_en="Workplace inclusion",
        dates_km="ថ្ងៃទី ១២–១៣ ខែមីនា ឆ្នាំ ២០២៦",
        dates_en="12–13 March 2026",
        place="Phnom Penh",
        organisation_km="មជ្ឈមណ្ឌលសិទ្ធិមនុស្ស",
        organisation_en="Sala Training Centre",
        code="K7Q2-M9XW-4TRA",
        verification_url=URL,
        logo=_png((19, 78, 94), (300, 300), scribble=False),
        signatures=(
            Signature("Sok Dara", "Executive Director", SIGNATURE),
            Signature("ចាន់ សុភា", "អ្នកគ្រប់គ្រងកម្មវិធី · Programme Manager"),
            Signature("Vannak Lim", "Facilitator", SIGNATURE),
        ),
    )
    return dataclasses.replace(content, **overrides)  # type: ignore[arg-type]


def _page_png(pdf: bytes, name: str, *, dpi: int = DPI) -> Image.Image:
    """Page 1 as PNG in test-artifacts/<name>.png, via pdftoppm."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        reason = "pdftoppm is missing (apt-get install poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the PDF must be rendered on CI", pytrace=False)
        pytest.skip(reason)
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(ARTIFACTS / name),
        ],
        check=True,
    )
    return Image.open(ARTIFACTS / f"{name}.png").convert("RGB")


def _text(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_text_holds_name_code_and_title_and_metadata_holds_no_name() -> None:
    pdf = render_certificate(_content())
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    text = reader.pages[0].extract_text()
    assert "ស្រីពៅ Sreypov Chan" in text
    assert "K7Q2-M9XW-4TRA" in text
    assert TITLE_EN in text
    assert URL in text

    metadata = {key: str(value) for key, value in (reader.metadata or {}).items()}
    assert metadata["/Title"] == "Certificate K7Q2-M9XW-4TRA"
    assert not any("Sreypov" in value or "ស្រីពៅ" in value for value in metadata.values())


def test_title_is_printed_when_the_wording_leaves_it_out() -> None:
    pdf = render_certificate(_content(body_en="has taken part in the training"))
    assert TITLE_EN in _text(pdf)


def test_page_renders_and_its_qr_code_holds_the_verification_url() -> None:
    page = _page_png(render_certificate(_content()), "certificate")
    width, height = page.size
    assert abs(width - PAGE_WIDTH / 25.4 * DPI) <= 1 and abs(height - PAGE_HEIGHT / 25.4 * DPI) <= 1
    (decoded,) = zxingcpp.read_barcodes(page)
    assert decoded.text == URL


def test_khmer_clusters_are_shaped() -> None:
    clusters = "ស្រី ក្ស ព្រះ វិញ្ញាបនបត្រ សិក្ខាសាលា"
    content = _content(holder_name=clusters, topic_km=clusters)
    pdf = render_certificate(content)
    _page_png(pdf, "certificate-khmer-clusters")
    _page_png(pdf, "certificate-khmer-clusters-200dpi", dpi=200)
    # Shaped glyphs map back to the text, in order, for search and copy (pypdf adds a
    # space where a glyph is positioned apart from the one before).
    assert clusters.replace(" ", "") in _text(pdf).replace(" ", "")

    # HarfBuzz is on: the same page without shaping draws other glyphs (the subscript forms
    # of ្រ, ្ស, ្ញ, ្ខ, and ្រ moved before its consonant).
    def page_content(data: bytes) -> bytes:
        return pypdf.PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()  # type: ignore[union-attr]

    unshaped = pytest.MonkeyPatch()
    unshaped.setattr(FPDF, "set_text_shaping", lambda self, *args, **kwargs: None)
    try:
        plain = render_certificate(content)
    finally:
        unshaped.undo()
    assert page_content(plain) != page_content(pdf)


def test_shaping_reorders_khmer_glyphs() -> None:
    pdf = FPDF()
    add_fonts(pdf)
    pdf.set_font("khmer", "", 20)
    # ស ្ រ ី: four code points; the coeng and ro become one subscript glyph.
    assert pdf.text_shaping
    glyphs = pdf.current_font.shape_text("ស្រី", 20, None)  # type: ignore[union-attr]
    assert len(glyphs) < len("ស្រី")


@pytest.mark.parametrize(
    ("name", "artifact"), [(LONG_NAME, "long-name"), (MIXED_NAME, "mixed-name")]
)
def test_long_and_mixed_names_stay_inside_the_text_box(name: str, artifact: str) -> None:
    assert len(name) == 120
    page = _page_png(render_certificate(_content(holder_name=name)), f"certificate-{artifact}")
    empty = _page_png(render_certificate(_content(holder_name="")), "certificate-no-name")
    changed = ImageChops.difference(page, empty).getbbox()
    assert changed is not None
    left, top, right, bottom = (value / DPI * 25.4 for value in changed)
    # What the name moved or added stays between the text margins (225 mm centred) and
    # above the signatures.
    assert left >= (PAGE_WIDTH - 225) / 2 - 0.5 and right <= (PAGE_WIDTH + 225) / 2 + 0.5
    assert top > 20 and bottom < 150


@pytest.mark.parametrize("name", [LONG_NAME, MIXED_NAME, "W" * 120, "ញ្ញ" * 40])
def test_a_name_shrinks_then_wraps_to_two_lines_within_its_width(name: str) -> None:
    pdf = FPDF()
    add_fonts(pdf)
    fitted = fit_text(
        pdf, name, width=215, max_size=34, wrap_below=24, min_size=14, max_lines=2, style="B"
    )
    assert 1 <= len(fitted.lines) <= 2
    assert 14 <= fitted.size <= 34
    assert fitted.width <= 215
    for line in fitted.lines:
        pdf.set_font("latin", "B", fitted.size)
        assert pdf.get_string_width(line) <= 215 + 0.01


def test_a_short_name_stays_on_one_line_at_full_size() -> None:
    pdf = FPDF()
    add_fonts(pdf)
    fitted = fit_text(pdf, "Dara", width=215, max_size=34, wrap_below=24, min_size=14, max_lines=2)
    assert (fitted.size, fitted.lines) == (34, ("Dara",))


def test_emoji_are_dropped_and_the_rest_kept() -> None:
    assert printable("Dara 🌈 Sok 👩‍👩‍👧") == "Dara Sok"
    assert printable("Nguyễn ស្រី\u200bពៅ\nLine") == "Nguyễn ស្រី\u200bពៅ Line"
    pdf = render_certificate(_content(holder_name="🏳️‍🌈 Dara 🌈"))
    assert "Dara" in _text(pdf)


def test_at_most_three_signatures() -> None:
    with pytest.raises(ValueError, match="at most 3"):
        _content(signatures=(Signature("A", "B"),) * 4)


def test_details_not_given_leave_out_their_labels_too() -> None:
    """The holder's neutral copy has no topic, date or place: an empty "TOPIC" or "DATE"
    would only show that something was left out."""
    neutral = _content(
        body_en="has completed the training “Human rights training”",
        body_km="បានបញ្ចប់វគ្គបណ្តុះបណ្តាល «វគ្គបណ្តុះបណ្តាលស្តីពីសិទ្ធិមនុស្ស»",
        title_en="Human rights training",
        title_km="វគ្គបណ្តុះបណ្តាលស្តីពីសិទ្ធិមនុស្ស",
        topic_km="",
        topic_en="",
        dates_km="",
        dates_en="",
        place="",
    )
    pdf = render_certificate(neutral)
    text = _text(pdf)
    for label in ("TOPIC", "DATE", "PLACE", "ប្រធានបទ", "កាលបរិច្ឆេទ", "ទីកន្លែង"):
        assert label not in text
    assert "Human rights training" in text and "Sreypov" in text
    metadata = {k: str(v) for k, v in (pypdf.PdfReader(io.BytesIO(pdf)).metadata or {}).items()}
    assert metadata["/Subject"] == "Human rights training"
    assert TITLE_EN not in " ".join(metadata.values())

    no_place = _text(render_certificate(_content(place="")))
    assert "TOPIC" in no_place and "DATE" in no_place and "PLACE" not in no_place


def test_the_file_is_dated_only_when_a_date_is_given() -> None:
    """The renderer reads no clock: the same content makes the same file, and a neutral copy
    (no date given) carries no creation date that could point to the day of the training."""
    undated = pypdf.PdfReader(io.BytesIO(render_certificate(_content()))).metadata or {}
    assert "/CreationDate" not in undated
    issued = datetime(2026, 3, 13, 10, 30, tzinfo=UTC)
    dated = render_certificate(_content(created_at=issued))
    assert (pypdf.PdfReader(io.BytesIO(dated)).metadata or {})["/CreationDate"] == (
        "D:20260313103000Z"
    )
    assert render_certificate(_content(created_at=issued)) == dated
