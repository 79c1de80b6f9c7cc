"""Browser tests: start Sala the way a user would (``sala demo``, ``sala create-admin`` then
``sala serve``) and drive Debian's Chromium through Playwright.

Playwright's own browser download is not used (no network): the browser is the system
Chromium at ``/usr/bin/chromium``. Accessibility checks use axe-core installed by npm
(``package.json`` / ``package-lock.json`` at the root of the checkout, ``npm ci``).

When Chromium or axe-core is missing the tests are skipped on a developer machine, but fail on
CI (``CI=true``): CI must never silently skip the browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.mail_server import Inbox, MailServer
from tests.server import free_port, run_sala, running_server, sala_env

__all__ = ["run_sala", "sala_env"]  # the browser tests' helpers import them from here

# The shared helpers assert too: let pytest explain their failures as it does the tests'.
pytest.register_assert_rewrite("tests.e2e.pages")

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

VIEWPORT = {"width": 360, "height": 740}

# The admin that ``sala_server`` makes with ``sala create-admin``, for the staff pages.
E2E_ADMIN_EMAIL = "admin@e2e.test"
E2E_ADMIN_NAME = "E2E Admin"
E2E_ADMIN_PASSWORD = "e2e admin password"


def missing(reason: str) -> NoReturn:
    """Fail on CI, skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run on CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def sala_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of ``sala_server``; the server's output goes to ``<it>/serve.log``."""
    return tmp_path_factory.mktemp("sala-e2e-data")


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    """The real SMTP server ``sala_server`` sends its mail to: what people receive (their
    links; the staff outbox shows none of the keys in them)."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def inbox(mail_server: MailServer) -> Inbox:
    return mail_server.inbox


@pytest.fixture(scope="session")
def sala_server(sala_data_dir: Path, mail_server: MailServer) -> Iterator[str]:
    """A real ``sala serve`` on a free port, with the demo data loaded, an admin
    (``E2E_ADMIN_*``) made by ``sala create-admin`` and its mail sent to ``mail_server``;
    yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    smtp = {"SALA_SMTP_HOST": "127.0.0.1", "SALA_SMTP_PORT": str(mail_server.port)}
    env = sala_env(sala_data_dir, base_url, **smtp)

    run_sala(["demo"], env)
    # There is no sign-up: an admin can only be made on the server's data dir.
    run_sala(
        [
            "create-admin",
            "--email",
            E2E_ADMIN_EMAIL,
            "--name",
            E2E_ADMIN_NAME,
            "--password",
            E2E_ADMIN_PASSWORD,
        ],
        env,
    )

    with running_server(env, port=port, log=sala_data_dir / "serve.log") as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (sync API).

    Module-scoped on purpose: Playwright's sync API keeps an asyncio loop running in the main
    thread while it is open, which would break every async test that ran after it.
    """
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        missing(f"{AXE_JS} is missing: run `npm ci` at the root of the checkout")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def context(browser: Any, sala_server: str) -> Iterator[Any]:
    """A fresh phone-sized browser profile (no cookies) per test.

    The browser says it prefers English (``Accept-Language: en-US``), so Khmer on a page
    without ``?lang=`` can only come from the remembered language cookie.
    """
    ctx = browser.new_context(viewport=VIEWPORT, base_url=sala_server, locale="en-US")
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def axe_page(browser: Any, sala_server: str, axe_source: str) -> Iterator[Any]:
    """A phone-sized page with axe-core available as ``window.axe``.

    The app's CSP (``script-src 'self'``) blocks inline ``<script>`` tags, so axe is installed
    with an init script (DevTools' "evaluate on new document", not subject to the page's CSP)
    instead of ``add_script_tag``. The page's own CSP stays in force.
    """
    ctx = browser.new_context(viewport=VIEWPORT, base_url=sala_server, locale="en-US")
    ctx.set_default_timeout(15_000)
    ctx.add_init_script(script=axe_source)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()
