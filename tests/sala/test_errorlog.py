"""Unexpected errors are logged by type and place, never by their words (issue 11)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sala.app import create_app
from sala.errorlog import log_error
from tests.conftest import make_settings


def _refuse(address: str) -> None:
    raise ValueError(f"duplicate key: Key (email)=({address}) already exists")


def test_the_log_line_names_the_error_and_where_not_what_it_quoted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("sala.test")
    row = {"email": "sophea@example.org"}
    try:
        _refuse(row["email"])
    except ValueError as exc:
        with caplog.at_level(logging.ERROR):
            log_error(log, exc, "worker round %s failed", 7)
    assert "sophea@example.org" not in caplog.text
    assert "worker round 7 failed (ValueError)" in caplog.text
    assert "_refuse" in caplog.text  # where it happened


def test_uvicorn_logs_a_request_error_without_its_words(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Starlette re-raises an error after our handler answered 500 and logged it; uvicorn
    then logs it again, with its message, unless the app's filter rewrote it."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    create_app(make_settings(tmp_path, f"sqlite://{tmp_path}/db.sqlite3"))
    row = {"email": "sophea@example.org"}
    try:
        _refuse(row["email"])
    except ValueError as exc:
        with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
            uvicorn_log.error("Exception in ASGI application\n", exc_info=exc)
    assert "sophea@example.org" not in caplog.text
    assert "Exception in ASGI application (ValueError)" in caplog.text
    assert "_refuse" in caplog.text


def test_uvicorn_still_logs_errors_that_way() -> None:
    """The filter above is only needed, and only tested, while uvicorn words it so."""
    import uvicorn.protocols.http.httptools_impl as httptools_impl

    source = Path(httptools_impl.__file__).read_text()
    assert 'msg = "Exception in ASGI application\\n"' in source
    assert "self.logger.error(msg, exc_info=exc)" in source
