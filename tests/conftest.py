"""Test set-up: every test gets a fresh, migrated database and the app with its lifespan running.

The suite runs on SQLite always and, when ``SALA_TEST_POSTGRES_URL`` points at a PostgreSQL
server (``postgres://user:password@host:port/database``), a second time on PostgreSQL: the
``backend`` fixture is parametrised, so each test id ends in ``[sqlite]`` or ``[postgres]``.

Migrations run once per backend into a template (a file for SQLite, a template database for
PostgreSQL); each test starts from a copy of it, so tests never see each other's data. The
PostgreSQL copies are made ahead, in a thread, while the tests before run (``DatabaseMaker``).

For the whole session, staff passwords are hashed in this process with argon2 at its lowest
cost (``production_password_hasher``; tests/sala/test_password_hashing.py checks the real one),
and the certificate's fonts are made and loaded before the first test. A real ``sala serve``
(tests/server.py) is another process: it hashes with the real argon2.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from certificates.pdf import fonts
from sala import accounts, db
from sala.app import create_app
from sala.config import Settings, load_settings
from tests.mail_server import MailServer

POSTGRES_URL = os.environ.get("SALA_TEST_POSTGRES_URL", "")
TEST_SECRET = "test-secret-key-not-for-production-0123456789"


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"databases: SQLite and PostgreSQL ({_redacted(POSTGRES_URL)})"
    return "databases: SQLite only (set SALA_TEST_POSTGRES_URL to run again on PostgreSQL)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: the fast tests report first, and no Playwright loop precedes them."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port or 5432}{parts.path}"


def make_settings(data_dir: Path, database_url: str, **overrides: str) -> Settings:
    env = {
        "SALA_DATA_DIR": str(data_dir),
        "SALA_DATABASE_URL": database_url,
        "SALA_SECRET_KEY": TEST_SECRET,
        "SALA_BASE_URL": "http://testserver",
        **overrides,
    }
    return load_settings(env)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run_outside_any_loop(work: Coroutine[Any, Any, Any]) -> Any:
    """Run set-up work on a fresh loop in its own thread, whatever loop the caller is in."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


# argon2id at its lowest cost: a hash takes microseconds instead of a tenth of a second.
CHEAP_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def production_password_hasher() -> Iterator[PasswordHasher]:
    """In-process tests hash staff passwords with ``CHEAP_PASSWORD_HASHER``; yields the hasher
    Sala uses (the one ``sala.accounts`` made at import), for the test that checks it."""
    production = accounts.use_password_hasher(CHEAP_PASSWORD_HASHER)
    yield production
    accounts.use_password_hasher(production)


@pytest.fixture(scope="session", autouse=True)
def warm_certificate_fonts() -> None:
    """Make the certificate's static fonts (seconds, the first time on a machine) and read
    their coverage once, before any test: no certificate test pays for it in its own time."""
    fonts.static_fonts()


class DatabaseMaker:
    """Copies of the PostgreSQL template, made ahead by threads of their own.

    ``CREATE DATABASE … TEMPLATE`` (with the ``DROP`` after) takes about half a second, mostly
    waiting, not working: made while the tests before run, the next test's copy is ready when
    it starts. Several at once, as one at a time does not keep up with the quick tests (three
    threads: 0.03 s of waiting per test instead of 0.3 s). Used copies are dropped there too.
    Each copy is still used by one test only.
    """

    def __init__(self, template: str, *, ahead: int = 4, threads: int = 3) -> None:
        self.template = template
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, name=f"test-databases-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()
        for _ in range(ahead):
            self._jobs.put(("create", self._new_name()))

    @staticmethod
    def _new_name() -> str:
        return f"sala_test_{uuid.uuid4().hex[:12]}"

    def take(self) -> str:
        """A fresh copy's name (the test's alone); another copy is started in its place."""
        self._jobs.put(("create", self._new_name()))
        made = self._ready.get(timeout=300)
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, name: str) -> None:
        """Drop a used copy (in a thread: the next test need not wait for it)."""
        self._jobs.put(("drop", name))

    def close(self) -> None:
        """Finish the drops, drop the copies made ahead and never taken, stop the threads."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=300)

    def _work(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while (job := self._jobs.get()) is not None:
                action, name = job
                if action == "drop":
                    self._drop(loop, name)
                    continue
                try:
                    statement = f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'
                    loop.run_until_complete(_postgres_admin(statement))
                except Exception as error:  # the test that takes it fails with this
                    self._ready.put(error)
                else:
                    self._ready.put(name)
            # Stopping: every job before this one is done, so no copy is made after this.
            while True:
                try:
                    unused = self._ready.get_nowait()
                except queue.Empty:
                    break
                if isinstance(unused, str):
                    self._drop(loop, unused)
        finally:
            loop.close()

    @staticmethod
    def _drop(loop: asyncio.AbstractEventLoop, name: str) -> None:
        try:
            loop.run_until_complete(_drop_database(name))
        except Exception as error:  # a leftover copy, not a reason to stop making them
            warnings.warn(f"could not drop the test database {name}: {error!r}", stacklevel=1)


@dataclass
class Backend:
    name: str
    template: str  # SQLite: template file path; PostgreSQL: template database name
    databases: DatabaseMaker | None = None  # PostgreSQL: the copies of the template


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite-template")
        path = folder / "template.sqlite3"
        _run_outside_any_loop(db.migrate(make_settings(folder, f"sqlite://{path}")))
        yield Backend("sqlite", str(path))
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: SALA_TEST_POSTGRES_URL is not set")
    template = f"sala_template_{uuid.uuid4().hex[:8]}"
    _run_outside_any_loop(_postgres_admin(f'CREATE DATABASE "{template}"'))
    folder = tmp_path_factory.mktemp("pg-template")
    _run_outside_any_loop(db.migrate(make_settings(folder, _with_database(POSTGRES_URL, template))))
    databases = DatabaseMaker(template)
    try:
        yield Backend("postgres", template, databases)
    finally:
        databases.close()
        _run_outside_any_loop(_drop_database(template))


@pytest.fixture
def database_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the migrated template: a file for SQLite, a database for PostgreSQL."""
    if backend.name == "sqlite":
        path = tmp_path / "sala.sqlite3"
        shutil.copy(backend.template, path)
        yield f"sqlite://{path}"
        return
    assert backend.databases is not None
    name = backend.databases.take()
    yield _with_database(POSTGRES_URL, name)
    backend.databases.give_back(name)


async def _drop_database(name: str) -> None:
    """Drop a test database; an autovacuum worker may briefly hold it, so try a few times."""
    import asyncpg

    for attempt in range(20):
        try:
            await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            await asyncio.sleep(0.1 * (attempt + 1))
    warnings.warn(f"could not drop the test database {name}", stacklevel=1)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    # Tortoise caches each model's SQL per connection *name*; both backends are "default" here,
    # so a PostgreSQL test must not reuse the SQLite placeholders of the test before it.
    EXECUTOR_CACHE.clear()
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as http:
        yield http


def _client(app: Starlette, address: str = "127.0.0.1", **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 123)),
        base_url="http://testserver",
        headers={"accept-language": "en", **headers},
    )


@pytest.fixture
def new_client(app: Starlette):  # type: ignore[no-untyped-def]
    """Another browser: its own cookies (and, with ``address``, its own network address)."""

    def make(address: str = "127.0.0.1", **headers: str) -> httpx.AsyncClient:
        return _client(app, address, **headers)

    return make


# ----------------------------------------------------------------------------- real mail


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server (aiosmtpd) on a free port."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(database_url: str, tmp_path: Path, mail_server: MailServer) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        SALA_SMTP_HOST="127.0.0.1",
        SALA_SMTP_PORT=str(mail_server.port),
        SALA_MAIL_FROM="CLGBT Trainings <trainings@clgbt.example>",
        SALA_MAIL_WORKER="off",
    )


@pytest.fixture
async def smtp_app(smtp_settings: Settings) -> AsyncIterator[Starlette]:
    """The app with a real SMTP server behind its outbox (mail goes when a test sends it)."""
    EXECUTOR_CACHE.clear()  # as in ``app``
    application = create_app(smtp_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def smtp_client(smtp_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(smtp_app) as http:
        yield http
