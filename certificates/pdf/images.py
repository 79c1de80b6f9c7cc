"""Images on a certificate (logo, signatures, QR code), decoded once per process.

The logo and the signatures are the same on every certificate of a batch; fpdf2 would decode
and recompress each of them for every document. :func:`place_image` keeps fpdf2's decoded
form (keyed by a hash of the bytes, as fpdf2 keys it) and hands each document a copy.
"""

from __future__ import annotations

import copy
import hashlib
import io
import threading
from collections import OrderedDict

from fpdf import FPDF
from fpdf.image_datastructures import RasterImageInfo
from fpdf.image_parsing import get_img_info

_CACHE_SIZE = 32
_lock = threading.Lock()
_decoded: OrderedDict[str, RasterImageInfo] = OrderedDict()


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels."""
    info = _decode(data)[1]
    return int(info.width), int(info.height)


def fit_image(data: bytes, *, max_width: float, max_height: float) -> tuple[float, float]:
    """The largest size (mm) that keeps the image's proportions inside the box."""
    pixels_wide, pixels_high = image_size(data)
    scale = min(max_width / pixels_wide, max_height / pixels_high)
    return pixels_wide * scale, pixels_high * scale


def place_image(pdf: FPDF, data: bytes, *, x: float, y: float, width: float) -> None:
    """Draw ``data`` (PNG or JPEG) at (x, y), ``width`` mm wide, height in proportion."""
    key, info = _decode(data)
    images = pdf.image_cache.images
    if key not in images and info.get("iccp") is None:
        own = copy.copy(info)
        own["i"] = len(images) + 1
        own["usages"] = 0
        own["iccp_i"] = None
        images[key] = own
    pdf.image(io.BytesIO(data), x, y, width)


def _decode(data: bytes) -> tuple[str, RasterImageInfo]:
    # fpdf2's own key for image bytes, so pdf.image() finds the copy place_image() left.
    key = hashlib.md5(data.strip(), usedforsecurity=False).hexdigest()
    with _lock:
        info = _decoded.get(key)
        if info is not None:
            _decoded.move_to_end(key)
            return key, info
    info = get_img_info(key, io.BytesIO(data), "AUTO")
    assert isinstance(info, RasterImageInfo)
    with _lock:
        _decoded[key] = info
        if len(_decoded) > _CACHE_SIZE:
            _decoded.popitem(last=False)
    return key, info
