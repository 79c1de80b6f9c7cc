"""Calling the running server's JSON API from the browser tests, as a client would, to set
up what a test needs (sessions, registrations, check-ins) without clicking through it."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.conftest import E2E_ADMIN_EMAIL, run_sala, sala_env


def call(base_url: str, method: str, path: str, body: Any = None, token: str = "") -> Any:
    """One request; JSON answers are decoded, anything else comes back as bytes."""
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 (local http only)
        base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" else raw


def admin_token(data_dir: Path, base_url: str, label: str) -> str:
    """A new API token for the e2e admin, made with ``sala create-token``."""
    printed = run_sala(
        ["create-token", "--email", E2E_ADMIN_EMAIL, "--label", label], sala_env(data_dir, base_url)
    )
    return printed.split()[-1]


def published_session(base_url: str, token: str, title: str) -> dict[str, Any]:
    """A public session tomorrow, three hours, ten seats."""
    topic = call(base_url, "GET", "/api/v1/topics")[0]["code"]
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    fields = {
        "topic": topic,
        "title_en": title,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "capacity": 10,
        "venue": "CLGBT office",
        "status": "published",
    }
    return dict(call(base_url, "POST", "/api/v1/sessions", fields, token))


def register(base_url: str, session_id: int, name: str, email: str) -> dict[str, Any]:
    """Register someone through the public API; the receipt (with ``manage_url``)."""
    person = {"chosen_name": name, "email": email, "sector": "ngo", "consent": True}
    receipt = call(base_url, "POST", f"/api/v1/sessions/{session_id}/registrations", person)
    assert receipt["status"] == "confirmed", receipt
    return dict(receipt)
