"""The ``sala`` command, run as an operator would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sala(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    environment = {**inherited, "SALA_DATA_DIR": str(data_dir), **env}
    return subprocess.run(
        [sys.executable, "-m", "sala", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
    )


def test_create_admin_then_token_then_demo(tmp_path: Path) -> None:
    created = _sala(
        tmp_path, "create-admin", "--email", "Admin@Example.org", "--name", "Admin",
        SALA_ADMIN_PASSWORD="admin password 123",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "Created admin admin@example.org" in created.stdout
    assert (tmp_path / "sala.sqlite3").exists()
    secret = tmp_path / "secret_key"
    assert secret.exists() and oct(secret.stat().st_mode & 0o777) == "0o600"

    again = _sala(
        tmp_path, "create-admin", "--email", "admin@example.org", "--name", "Admin",
        "--password", "another password 1",
    )  # fmt: skip
    assert again.returncode == 0 and "Updated admin" in again.stdout

    token = _sala(tmp_path, "create-token", "--email", "admin@example.org", "--label", "ci")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("sala_")

    unknown = _sala(tmp_path, "create-token", "--email", "nobody@example.org")
    assert unknown.returncode == 1
    assert "No staff account" in unknown.stderr

    demo = _sala(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "Loaded" in demo.stdout
    assert "already loaded" in _sala(tmp_path, "demo").stdout


def test_create_admin_refuses_a_short_password(tmp_path: Path) -> None:
    result = _sala(
        tmp_path, "create-admin", "--email", "a@example.org", "--name", "A", "--password", "short"
    )
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SALA_DEFAULT_LANGUAGE", "fr"),
        ("SALA_SMTP_TLS", "maybe"),
        ("SALA_PORT", "eighty"),
        ("SALA_TIMEZONE", "Mars/Olympus"),
        ("SALA_DATABASE_URL", "mysql://x"),
        ("SALA_RATE_LIMITS", "sometimes"),
    ],
)
def test_bad_settings_stop_with_a_message_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = _sala(tmp_path, "migrate", **{variable: value})
    assert result.returncode == 2
    assert variable in result.stderr


def test_worker_starts_and_stops_cleanly(tmp_path: Path) -> None:
    import signal
    import time

    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "sala", "worker"],
        env={**inherited, "SALA_DATA_DIR": str(tmp_path)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        assert worker.stdout is not None
        line = ""
        while time.monotonic() < deadline and "running" not in line:
            line = worker.stdout.readline()
        assert "Sala worker running" in line
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
