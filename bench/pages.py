"""Pages on 3G: what a phone downloads for the home page in Khmer, a session page, a repeat visit.

Starts a throw-away Sala with the demo data (``sala demo``), then drives Debian's Chromium
(Playwright, 360 px, Khmer) throttled through CDP's ``Network.emulateNetworkConditions`` at
DevTools' "Fast 3G" preset (now called "3G"): 562.5 ms latency, 180,000 B/s down, 84,375 B/s
up (1.6 Mbit/s and 750 kbit/s at 90 %). Three loads in one fresh profile:

1. first visit of ``/?lang=km`` (empty cache),
2. a session page after it (the first card's),
3. a repeat visit of ``/?lang=km``.

Bytes are what crossed the network: the sum of ``Network.loadingFinished``'s
``encodedDataLength`` (headers and body as sent) of every request; seconds run from the first
request to the last byte (also printed without the icon, which Chrome asks for only after
the load event, and the first contentful paint). "Static requests" are requests for
``/static/`` that went to the network (a 304 revalidation counts). Goals (issue 17): first
visit <= 60 KB and <= 1.5 s, session page <= 25 KB, repeat <= 15 KB with 0 static requests.
Bytes are deterministic; seconds are printed and the goals on them reported, never asserted.

The machine's fonts matter: a phone with Noto Sans Khmer installed uses it (``local()``) and
downloads no font. This machine is checked with ``fc-list`` and the result printed: without a
local Khmer font the first visit is the worst case, the web font downloaded.

``tests/e2e/test_page_weight.py`` runs the same :func:`measure` and asserts the byte goals.

    .venv/bin/python bench/pages.py [--runs 3]

Exit status: 0 measured (goals met or not), 1 a static file was re-requested on the repeat
visit, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FAST_3G = {
    "offline": False,
    "latency": 562.5,  # ms: 150 ms × 3.75, as DevTools
    "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,  # bytes/s
    "uploadThroughput": 750 * 1000 / 8 * 0.9,
}
VIEWPORT = {"width": 360, "height": 740}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WEB_FONT = "/fonts/noto-sans-khmer.woff2"

GOALS = {"first": (60_000, 1.5), "session": (25_000, None), "repeat": (15_000, None)}


@dataclass
class Load:
    """One page load as the network saw it."""

    name: str
    bytes: int = 0
    seconds: float = 0.0  # first request to the last byte of any request
    page_seconds: float = 0.0  # the same without the icon (Chrome asks for it after load)
    first_paint: float = 0.0  # first contentful paint, from the page's own clock
    requests: list[str] = field(default_factory=list)  # paths that went to the network
    static_requests: list[str] = field(default_factory=list)
    font_bytes: int = 0


class _Recorder:
    """Collects CDP network events of one page until :meth:`take` is called."""

    def __init__(self, cdp: Any) -> None:
        self.urls: dict[str, str] = {}
        self.from_cache: set[str] = set()
        self.sizes: dict[str, int] = {}
        self.started: list[float] = []
        self.finished: dict[str, float] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]
        self.started.append(event["timestamp"])

    def _cached(self, event: dict[str, Any]) -> None:
        self.from_cache.add(event["requestId"])

    def _received(self, event: dict[str, Any]) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromServiceWorker"):
            self.from_cache.add(event["requestId"])

    def _finished(self, event: dict[str, Any]) -> None:
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])
        self.finished[event["requestId"]] = event["timestamp"]

    def take(self, name: str) -> Load:
        load = Load(name)
        for request_id, url in self.urls.items():
            if url.startswith("data:") or request_id in self.from_cache:
                continue
            path = urlsplit(url).path
            size = self.sizes.get(request_id, 0)
            load.bytes += size
            load.requests.append(path)
            if path.startswith("/static/"):
                load.static_requests.append(path)
            if path.endswith(WEB_FONT):
                load.font_bytes += size
        if self.started and self.finished:
            load.seconds = max(self.finished.values()) - min(self.started)
            page_ends = [
                at
                for request_id, at in self.finished.items()
                if not self.urls.get(request_id, "").endswith("/img/icon.svg")
            ]
            load.page_seconds = max(page_ends, default=0.0) - min(self.started)
        self.urls.clear()
        self.from_cache.clear()
        self.sizes.clear()
        self.started.clear()
        self.finished.clear()
        return load


def _settle(page: Any) -> float:
    """Wait for the page, its font and its icon; its first contentful paint, in seconds."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    paint = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint').map(p => p.startTime)[0] || 0"
    )
    return float(paint) / 1000


def measure(browser: Any, base_url: str) -> list[Load]:
    """The three loads in a fresh profile, throttled to Fast 3G."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url, locale="km-KH")
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", FAST_3G)
        recorder = _Recorder(cdp)

        page.goto("/?lang=km")
        paint = _settle(page)
        first = recorder.take("first")
        first.first_paint = paint
        link = page.locator(".session-card a").first.get_attribute("href")
        if not link:
            raise RuntimeError("the home page lists no training")

        page.goto(link)
        paint = _settle(page)
        session = recorder.take("session")
        session.first_paint = paint

        page.goto("/?lang=km")
        paint = _settle(page)
        repeat = recorder.take("repeat")
        repeat.first_paint = paint
        return [first, session, repeat]
    finally:
        context.close()


def local_khmer_fonts() -> list[str]:
    """Khmer fonts this machine has (``fc-list``): with one, ``local()`` may find it."""
    try:
        listing = subprocess.run(["fc-list"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in listing.splitlines() if "khmer" in line.lower()]


def _verdict(load: Load) -> str:
    goal_bytes, goal_seconds = GOALS[load.name]
    ok = load.bytes <= goal_bytes and (goal_seconds is None or load.seconds <= goal_seconds)
    if load.name == "repeat":
        ok = ok and not load.static_requests
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _server import SALA, BenchError, SalaServer, temp_dir

    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    fonts = local_khmer_fonts()
    if fonts:
        print(f"NOTE this machine has a Khmer font ({len(fonts)}): local() may find it, so the")
        print("     first visit below can be the best case (no font download).")
    else:
        print("no local Khmer font (fc-list): the first visit downloads the web font (worst case)")

    from playwright.sync_api import sync_playwright

    runs: list[list[Load]] = []
    try:
        with temp_dir("sala-bench-pages-") as data_dir, SalaServer(data_dir) as server:
            done = subprocess.run(
                [str(SALA), "demo"], env=server.env(), capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                raise BenchError(f"sala demo failed: {done.stderr.strip()[-500:]}")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    for number in range(1, args.runs + 1):
                        started = time.monotonic()
                        loads = measure(browser, server.base_url)
                        runs.append(loads)
                        print(f"run {number} ({time.monotonic() - started:.1f} s):")
                        for load in loads:
                            goal_bytes, goal_seconds = GOALS[load.name]
                            goal = f"goal <= {goal_bytes / 1000:.0f} KB" + (
                                f", <= {goal_seconds} s" if goal_seconds else ""
                            )
                            print(
                                f"  {load.name:8} {load.bytes / 1000:7.1f} KB "
                                f"{load.seconds:5.2f} s (page {load.page_seconds:.2f} s, "
                                f"paint {load.first_paint:.2f} s)  {len(load.requests)} requests, "
                                f"{len(load.static_requests)} static, font "
                                f"{load.font_bytes / 1000:.1f} KB  ({goal}) {_verdict(load)}"
                            )
                finally:
                    browser.close()
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2

    fields = []
    for index, name in enumerate(("first", "session", "repeat")):
        loads = [run[index] for run in runs]
        fields.append(f"{name}_kb={statistics.median(x.bytes for x in loads) / 1000:.1f}")
        fields.append(f"{name}_s={statistics.median(x.seconds for x in loads):.2f}")
        if name == "first":
            page_s = statistics.median(x.page_seconds for x in loads)
            fields.append(f"first_page_s={page_s:.2f}")
            paint_s = statistics.median(x.first_paint for x in loads)
            fields.append(f"first_paint_s={paint_s:.2f}")
    repeat_static = max(len(run[2].static_requests) for run in runs)
    fields.append(f"repeat_static_requests={repeat_static}")
    fields.append(f"local_khmer_font={'yes' if fonts else 'no'}")
    verdicts = {_verdict(load) for run in runs for load in run if load.name != "first"}
    bytes_ok = all(run[0].bytes <= GOALS["first"][0] for run in runs) and verdicts == {"PASS"}
    seconds_ok = all(run[0].seconds <= GOALS["first"][1] for run in runs)  # type: ignore[operator]
    fields.append(f"bytes={'PASS' if bytes_ok else 'FAIL'}")
    fields.append(f"seconds={'PASS' if seconds_ok else 'FAIL'}")
    print("SUMMARY " + " ".join(fields))
    return 1 if repeat_static else 0


if __name__ == "__main__":
    sys.exit(main())
