"""QR codes as PNG bytes: the one place that renders them."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(data: str, *, box_size: int = 8, mask_pattern: int | None = None) -> bytes:
    """A PNG of ``data`` at error-correction level M with the standard 4-module quiet zone.

    ``mask_pattern`` (0-7) skips the search for the best of the eight masks — a fifth of a
    certificate's rendering time. Every mask is valid; the best one only spares readers
    some look-alike finder patterns, which matters little for a large printed code.
    """
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, box_size=box_size, border=4, mask_pattern=mask_pattern
    )
    code.add_data(data, optimize=0)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_version(data: str) -> int:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    code.add_data(data, optimize=0)
    code.make(fit=True)
    return int(code.version)
