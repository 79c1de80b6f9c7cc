"""The shared font folder is this user's own: a folder of that name made by anyone else, or
writable by others, is never read (it could hold a font every visitor would be sent)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from sala import font_cache


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A font file of its own, and a temporary directory of its own (no real cache touched)."""
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    font = tmp_path / "font.ttf"
    font.write_bytes(b"not really a font")
    return font


def _folder(source: Path) -> Path:
    return font_cache.font_cache_folder.__wrapped__(source)  # type: ignore[attr-defined]


def test_one_private_folder_shared_by_every_call(source: Path) -> None:
    folder = _folder(source)
    assert folder.is_dir() and folder.parent == Path(tempfile.gettempdir())
    assert folder.stat().st_mode & 0o777 == 0o700 and folder.stat().st_uid == os.getuid()
    assert _folder(source) == folder  # another process of this user finds the same


def test_a_folder_others_may_write_is_left_alone(source: Path) -> None:
    planted = _folder(source)
    (planted / "khmer-web-1.woff2").write_bytes(b"a font from someone else")
    planted.chmod(0o777)  # as if another local user had made it first
    folder = _folder(source)
    assert folder != planted and folder.is_dir() and not any(folder.iterdir())
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_link_in_its_place_is_left_alone(source: Path, tmp_path: Path) -> None:
    expected = _folder(source)
    expected.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    expected.symlink_to(elsewhere)
    folder = _folder(source)
    assert folder not in (expected, elsewhere) and folder.is_dir()
