"""QR codes as PNG bytes: the one place that renders them."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(data: str, *, box_size: int = 8) -> bytes:
    """A PNG of ``data`` at error-correction level M with the standard 4-module quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
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
