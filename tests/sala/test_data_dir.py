"""The data dir through the real start-up path (issue 11): ``sala create-admin`` and
``sala serve`` make it from nothing; after a registration, a ticket, a check-in and a
certificate's PDF, every folder in it is 0700 and every file 0600 (database, -wal, -shm,
secret key, ticket keys, PDFs). What the server writes to its terminal holds neither a
manage link's token nor the address a mail server refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
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
from tests.mail_server import MailServer, free_port

ROOT = Path(__file__).resolve().parents[2]
SALA = Path(sys.executable).parent / "sala"
REFUSED = "refused@example.org"


@dataclass
class Server:
    backend: str
    base: str
    token: str
    data_dir: Path
    output: Path


def _run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(SALA), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


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
    data_dir = tmp_path / "new" / "var"  # nothing there yet
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    env.update(
        SALA_DATA_DIR=str(data_dir),
        SALA_RATE_LIMITS="off",
        SALA_BASE_URL=f"http://127.0.0.1:{port}",
        SALA_SMTP_HOST="127.0.0.1",
        SALA_SMTP_PORT=str(mail_server.port),
    )
    database = None
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL run skipped: SALA_TEST_POSTGRES_URL is not set")
        database = f"sala_data_dir_{uuid.uuid4().hex[:10]}"
        _run_outside_any_loop(_postgres_admin(f'CREATE DATABASE "{database}"'))
        env["SALA_DATABASE_URL"] = _with_database(POSTGRES_URL, database)
    _run(env, "create-admin", "--email", "a@example.org", "--name", "A", "--password", "x" * 12)
    token = _run(env, "create-token", "--email", "a@example.org").splitlines()[-1]
    output = tmp_path / "server-output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [str(SALA), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(f"{base}/healthz"), "the server to start")
        yield Server(request.param, base, token, data_dir, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if database:
            _run_outside_any_loop(_drop_database(database))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(done: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.2)
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    env["SALA_DATA_DIR"] = str(data_dir)
    _run(env, "migrate")
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert _loose(data_dir) == []
