"""The data dir through the real start-up path (issue 11): ``sala create-admin`` and
``sala serve`` make it from nothing; after a registration, a ticket, a check-in and a
certificate's PDF, every folder in it is 0700 and every file 0600 (database, -wal, -shm,
secret key, ticket keys, PDFs). What the server writes to its terminal holds neither a
manage link's token nor the address a mail server refused."""

from __future__ import annotations

import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    POSTGRES_URL,
    _drop_database,
    _postgres_admin,
    _run_outside_any_loop,
    _with_database,
)
from tests.mail_server import MailServer
from tests.server import free_port, run_sala, running_server, sala_env

REFUSED = "refused@example.org"


@dataclass
class Server:
    backend: str
    base: str
    token: str
    data_dir: Path
    output: Path


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.inbox.refused.add(REFUSED)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, mail_server: MailServer
) -> Iterator[Server]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "new" / "var"  # nothing there yet
    env = sala_env(data_dir, base, SALA_SMTP_HOST="127.0.0.1", SALA_SMTP_PORT=str(mail_server.port))
    database = None
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL run skipped: SALA_TEST_POSTGRES_URL is not set")
        database = f"sala_data_dir_{uuid.uuid4().hex[:10]}"
        _run_outside_any_loop(_postgres_admin(f'CREATE DATABASE "{database}"'))
        env["SALA_DATABASE_URL"] = _with_database(POSTGRES_URL, database)
    try:
        admin = ["--email", "a@example.org", "--name", "A", "--password", "x" * 12]
        run_sala(["create-admin", *admin], env)
        token = run_sala(["create-token", "--email", "a@example.org"], env).splitlines()[-1]
        output = tmp_path / "server-output.txt"
        with running_server(env, port=port, log=output):
            yield Server(request.param, base, token, data_dir, output)
    finally:
        if database:
            _run_outside_any_loop(_drop_database(database))


def _wait_for(done: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _loose(data_dir: Path) -> list[str]:
    """Everything in the data dir (itself included) that anyone but its owner may open."""
    found = []
    for path in [data_dir, *sorted(data_dir.rglob("*"))]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(data_dir.parent)} {oct(mode)}")
    return found


def _a_training_with_a_certificate(server: Server) -> str:
    """Registration, ticket, check-in, certificate; returns the manage link's token."""
    admin = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.base, timeout=30) as http:
        session = http.post(
            "/api/v1/sessions",
            headers=admin,
            json={
                "topic": "sogie",
                "title_en": "Data dir",
                "starts_at": "2030-01-05T09:00",
                "ends_at": "2030-01-05T12:00",
                "venue": "Hall",
                "capacity": 5,
                "status": "published",
            },
        ).json()
        registered = http.post(
            f"/api/v1/sessions/{session['id']}/registrations",
            json={"chosen_name": "Dara", "email": REFUSED, "sector": "ngo", "consent": True},
        )
        assert registered.status_code == 201, registered.text
        manage = registered.json()["manage_url"].removeprefix(server.base)
        for path in ("", "/ticket.png", "/data.json"):
            assert http.get(manage + path).status_code == 200
        scan = {
            "registration_id": registered.json()["id"],
            "session_id": session["id"],
            "scan_id": uuid.uuid4().hex,
        }
        checked = http.post("/api/v1/checkins", json=scan, headers=admin)
        assert checked.json()["result"] == "checked_in", checked.text
        issued = http.post(f"/api/v1/sessions/{session['id']}/certificates", headers=admin)
        assert issued.status_code == 201, issued.text
    return manage.rsplit("/", 1)[1]


def test_the_data_dir_is_its_owners_alone(server: Server) -> None:
    token = _a_training_with_a_certificate(server)
    certificates = server.data_dir / "certificates"
    _wait_for(lambda: any(certificates.glob("*.pdf")), "the certificate's PDF")
    names = {p.name for p in server.data_dir.iterdir()}
    assert {"secret_key", "ticket_keys", "certificates"} <= names
    if server.backend == "sqlite":
        assert {"sala.sqlite3", "sala.sqlite3-wal", "sala.sqlite3-shm"} <= names
    assert _loose(server.data_dir) == []
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((server.data_dir / "secret_key").stat().st_mode) == 0o600

    # The refusals of both emails (confirmation, certificate) are in the log, not the address.
    _wait_for(lambda: server.output.read_text().count("SMTP 550") >= 2, "the refusals")
    logged = server.output.read_text()
    assert REFUSED not in logged and "refused@" not in logged
    assert token not in logged and token[:20] not in logged


def test_an_existing_loose_data_dir_is_closed_at_start(tmp_path: Path) -> None:
    """A data dir made before this rule, readable by everyone, is closed when Sala starts."""
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    env = sala_env(data_dir)
    run_sala(["migrate"], env)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert _loose(data_dir) == []
