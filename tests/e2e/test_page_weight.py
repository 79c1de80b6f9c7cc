"""What a phone on 3G downloads: the home page in Khmer, a session page, a repeat visit.

The measurement is ``bench/pages.py``'s (Chromium throttled to DevTools' "Fast 3G" through
CDP, 360 px, Khmer, every request's ``encodedDataLength``); here its byte goals are asserted,
they are deterministic. Times are printed, never asserted (``bench/pages.py`` reports them
against the goal).
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.pages import GOALS, WEB_FONT, local_khmer_fonts, measure

pytestmark = pytest.mark.e2e


def test_pages_on_3g_stay_within_their_byte_goals(browser: Any, sala_server: str) -> None:
    first, session, repeat = measure(browser, sala_server)
    for load in (first, session, repeat):
        print(
            f"{load.name}: {load.bytes} bytes, {load.seconds:.2f} s to the last byte "
            f"({load.page_seconds:.2f} s without the icon, first paint {load.first_paint:.2f} s), "
            f"requests {load.requests}"
        )

    # Worst case: a phone without Noto Sans Khmer downloads the web font. This machine has
    # none (else local() finds it and the font is not fetched: then say so and skip that part).
    if not local_khmer_fonts():
        fonts = [p for p in first.requests if p.endswith(WEB_FONT)]
        assert len(fonts) == 1, f"the first visit fetched the font {len(fonts)} times"
        assert 0 < first.font_bytes < 40_000
    assert not any(p.endswith(".ttf") for p in first.requests), "the whole TTF was fetched"

    assert first.bytes <= GOALS["first"][0], first
    assert session.bytes <= GOALS["session"][0], session
    assert repeat.bytes <= GOALS["repeat"][0], repeat
    # Nothing of /static/ asked again, not even a 304: versioned addresses are immutable.
    assert session.static_requests == [], session.static_requests
    assert repeat.static_requests == [], repeat.static_requests
    assert repeat.requests == ["/"], repeat.requests


def test_an_english_page_fetches_no_more_than_the_subset(browser: Any, sala_server: str) -> None:
    """The font applies to Khmer characters only (unicode-range). An English page still has
    one Khmer word, the language switch's "ខ្មែរ", so a browser without a Khmer font of its
    own fetches the 31 KB subset for it (once a year); never the whole TTF."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=sala_server)
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto("/?lang=en")
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
        fonts = [u for u in fetched if "noto-sans-khmer" in u]
        assert all(u.endswith(WEB_FONT) for u in fonts), fonts
        assert len(fonts) <= 1, fonts
    finally:
        context.close()


def test_the_inline_stylesheet_applies_under_the_csp(browser: Any, sala_server: str) -> None:
    """The page's own <style> is allowed by its hash: styled, and no CSP violation reported
    (a stale hash would leave a Khmer phone with an unstyled page)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=sala_server)
    try:
        page = context.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__violations.push(e.violatedDirective));"
        )
        page.goto("/?lang=km")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == []
        assert not [m for m in messages if "Content Security Policy" in m], messages
        family = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Noto Sans Khmer" in family  # the stylesheet's, not the browser's default
        assert page.evaluate("document.styleSheets.length") == 1
    finally:
        context.close()
