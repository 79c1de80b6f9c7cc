"""Unexpected errors are logged by type and place, never by their words (issue 11)."""

from __future__ import annotations

import logging

import pytest

from sala.errorlog import log_error


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
