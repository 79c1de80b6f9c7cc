"""Every wide table scrolls inside a region a keyboard can reach (axe: scrollable-region-focusable).

A table that overflows 360 px scrolls sideways in its ``.table-wrap``; in Safari only a focusable
element can be scrolled with the keyboard, and a row whose buttons are gone (a revoked token) has
nothing else to focus. The e2e pages check this where they go; this test covers every template.
"""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
WRAP = re.compile(r"<div\b[^>]*\bclass=\"table-wrap\"[^>]*>")


def test_every_table_wrap_is_a_named_focusable_region() -> None:
    wraps = [
        (path.relative_to(TEMPLATES), tag)
        for path in sorted(TEMPLATES.rglob("*.html"))
        for tag in WRAP.findall(path.read_text(encoding="utf-8"))
    ]
    assert len(wraps) >= 10, "fewer table wraps than the templates have: is the regex right?"
    wrong = [
        f"{path}: {tag}"
        for path, tag in wraps
        if 'role="region"' not in tag
        or 'tabindex="0"' not in tag
        or not re.search(r"aria-label(ledby)?=\"[^\"]+\"", tag)
    ]
    assert not wrong, "table wraps a keyboard cannot scroll:\n" + "\n".join(wrong)
