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
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

# The shared helpers assert too: let pytest explain their failures as it does the tests'.
pytest.register_assert_rewrite("tests.e2e.pages")

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SALA = Path(sys.executable).parent / "sala"
STARTUP_TIMEOUT = 30.0

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local http only)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def sala_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of ``sala_server``; the server's output goes to ``<it>/serve.log``."""
    return tmp_path_factory.mktemp("sala-e2e-data")


def run_sala(args: list[str], env: dict[str, str]) -> str:
    """Run one ``sala`` command to completion and return what it printed; fail the tests
    with its output if it fails."""
    done = subprocess.run(
        [str(SALA), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"`sala {args[0]}` failed with exit code {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}",
            pytrace=False,
        )
    return done.stdout


def sala_env(data_dir: Path, base_url: str) -> dict[str, str]:
    """The environment of the ``sala`` commands of the browser tests: only our own SALA_
    settings (a developer's SALA_DATABASE_URL etc. must not leak in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SALA_")}
    env.update(SALA_DATA_DIR=str(data_dir), SALA_BASE_URL=base_url, SALA_RATE_LIMITS="off")
    return env


@pytest.fixture(scope="session")
def sala_server(sala_data_dir: Path) -> Iterator[str]:
    """A real ``sala serve`` on a free port, with the demo data loaded and an admin
    (``E2E_ADMIN_*``) made by ``sala create-admin``; yields its base URL."""
    if not SALA.exists():
        pytest.fail(f"the sala command is not installed next to the Python: {SALA}")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = sala_env(sala_data_dir, base_url)

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

    log_path = sala_data_dir / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(SALA), "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(f"{base_url}/healthz"):
            if server.poll() is not None:
                pytest.fail(
                    f"`sala serve` exited with code {server.returncode} before answering "
                    f"/healthz:\n{log_path.read_text(errors='replace')}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`sala serve` did not answer GET /healthz with 200 within "
                    f"{STARTUP_TIMEOUT:.0f} s:\n{log_path.read_text(errors='replace')}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


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
