"""The private (and undocumented) parts of libraries that Sala's code relies on still exist,
with the shape the code expects.

pyproject.toml bounds these libraries to the minor version that is locked. When one is
upgraded, this file is where it should fail first, saying which module of ours relies on what;
widen the bound only once it passes (and the module still works) on the new version.
"""

from __future__ import annotations

import inspect
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from dateutil.rrule import MONTHLY, rrule, rrulestr
from fpdf import FPDF
from fpdf import output as fpdf_output
from fpdf.fonts import Glyph, SubsetMap, TTFFont
from fpdf.syntax import PDFContentStream
from tortoise import Tortoise
from tortoise.backends.base.client import ConnectionWrapper
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.backends.base_postgres.client import BasePostgresClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate
from tortoise.models import Model

from certificates.pdf.fonts import static_fonts
from curricula.models import Module
from sala import db


def _parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def _uses(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function``'s own code names ``name`` (an attribute it reads or calls)."""
    return name in function.__code__.co_names


# ----------------------------------------------------------------------------- aiosqlite

DB_STEPS = "sala/db.py (run_steps, GroupCommit: the steps run on aiosqlite's thread)"


def test_aiosqlite_connection_execute_runs_a_function_on_its_thread_shape() -> None:
    execute = getattr(aiosqlite.Connection, "_execute", None)
    assert execute is not None, f"aiosqlite.Connection._execute is gone; {DB_STEPS} calls it"
    assert inspect.iscoroutinefunction(execute), (
        f"aiosqlite.Connection._execute is no longer a coroutine function; {DB_STEPS} awaits it"
    )
    assert _parameters(execute) == ["self", "fn", "args", "kwargs"], (
        f"aiosqlite.Connection._execute(fn, *args, **kwargs) changed; {DB_STEPS} calls it so"
    )


def test_aiosqlite_connection_conn_is_the_sqlite3_connection_shape() -> None:
    conn = inspect.getattr_static(aiosqlite.Connection, "_conn", None)
    assert isinstance(conn, property), (
        f"aiosqlite.Connection._conn (the sqlite3 connection) is gone; {DB_STEPS} passes it "
        "to the steps runner"
    )


async def test_aiosqlite_execute_and_conn_behave_as_relied_on(tmp_path: Path) -> None:
    """Through Tortoise's SQLite client, as sala.db gets there: ``acquire_connection()`` gives
    the aiosqlite connection, whose ``_execute`` runs a function on the connection's own
    thread, where ``_conn`` is a sqlite3 connection in autocommit mode (run_steps issues
    BEGIN IMMEDIATE / COMMIT itself) giving rows as sqlite3.Row (read as dicts)."""
    client = SqliteClient(
        file_path=str(tmp_path / "private-api.sqlite3"), connection_name="private_api"
    )
    try:
        wrapper = client.acquire_connection()
        assert isinstance(wrapper, ConnectionWrapper), (
            f"SqliteClient.acquire_connection() no longer gives a ConnectionWrapper; {DB_STEPS}"
        )
        async with wrapper as connection:
            assert isinstance(connection, aiosqlite.Connection), (
                "tortoise's SqliteClient.acquire_connection() no longer yields the "
                f"aiosqlite.Connection; {DB_STEPS} relies on it"
            )
            raw = connection._conn
            assert isinstance(raw, sqlite3.Connection), f"aiosqlite _conn changed; {DB_STEPS}"
            assert raw.isolation_level is None, (
                "tortoise no longer opens SQLite in autocommit mode (isolation_level=None); "
                f"{DB_STEPS} begins and commits by hand"
            )
            assert raw.row_factory is sqlite3.Row, (
                f"tortoise no longer sets sqlite3.Row as the row factory; {DB_STEPS} reads "
                "rows as dicts"
            )

            def where(a: int, *, b: int) -> tuple[int, int, bool]:
                return threading.get_ident(), a + b, raw.in_transaction

            thread, total, in_transaction = await connection._execute(where, 1, b=2)
            assert (total, in_transaction) == (3, False), f"aiosqlite _execute; {DB_STEPS}"
            assert thread != threading.get_ident(), (
                f"aiosqlite._execute no longer runs the function off the event loop; {DB_STEPS}"
            )

            def fails() -> None:
                raise LookupError("from the thread")

            with pytest.raises(LookupError, match="from the thread"):
                await connection._execute(fails)
    finally:
        await client.close()


# ----------------------------------------------------------------------------- tortoise


def test_tortoise_init_takes_enable_global_fallback() -> None:
    assert "_enable_global_fallback" in _parameters(Tortoise.init), (
        "Tortoise.init(_enable_global_fallback=...) is gone; sala/db.py open_database passes "
        "it so that every request task sees the connections"
    )
    assert inspect.iscoroutinefunction(TortoiseContext.close_connections), (
        "TortoiseContext.close_connections changed; sala/db.py close_database awaits it"
    )


def test_tortoise_migrate_takes_a_config() -> None:
    assert "config" in _parameters(migrate), (
        "tortoise.migrations.api.migrate(config=...) changed; sala/db.py migrate calls it"
    )


def test_tortoise_dialect_names() -> None:
    assert SqliteClient.capabilities.dialect == "sqlite", (
        "tortoise's SQLite dialect name changed; sala/db.py chooses statements by it"
    )
    assert BasePostgresClient.capabilities.dialect == "postgres", (
        "tortoise's PostgreSQL dialect name changed; sala/db.py and "
        "attendees/registration.py (_LOCK_SESSION) choose statements by it"
    )


def test_tortoise_expand_db_url_shape() -> None:
    connection = expand_db_url("sqlite:///tmp/x.sqlite3")
    assert connection["engine"] == "tortoise.backends.sqlite", (
        "expand_db_url's engine name changed; sala/db.py config_for_url, private_sqlite_file"
    )
    assert connection["credentials"]["file_path"] == "/tmp/x.sqlite3", (  # noqa: S108
        "expand_db_url's credentials.file_path changed; sala/db.py private_sqlite_file"
    )


def test_tortoise_model_saved_in_db_flag() -> None:
    """attendees/registration.py ``register`` builds the Registration it returns from the
    columns it inserted by hand, and sets ``_saved_in_db`` so that a later ``save()``
    updates that row instead of inserting another."""
    assert "_saved_in_db" in Model.__slots__ or _uses(Model.__init__, "_saved_in_db"), (
        "tortoise Model._saved_in_db is gone; attendees/registration.py register sets it"
    )
    assert _uses(Model.save, "_saved_in_db"), (
        "tortoise Model.save no longer reads _saved_in_db; attendees/registration.py "
        "register sets it so that save() updates"
    )


def test_tortoise_executor_cache() -> None:
    assert isinstance(EXECUTOR_CACHE, dict) and hasattr(EXECUTOR_CACHE, "clear"), (
        "tortoise.backends.base.executor.EXECUTOR_CACHE changed; tests/conftest.py clears it "
        "between SQLite and PostgreSQL tests"
    )


def test_tortoise_model_meta_names_the_tables() -> None:
    """sala/backup.py reads each model's table and its many-to-many tables from ``_meta``
    (which tables make a database "in use"; which to drop before pg_restore)."""
    with TortoiseContext():
        for label, modules in db.APPS.items():
            Tortoise.init_app(label, list(modules))
        models = [model for models in Tortoise.apps.values() for model in models.values()]
        assert Module in models, "Tortoise.apps lists the models by app; sala/backup.py"
        assert Module._meta.db_table == "module", "Model._meta.db_table; sala/backup.py"
        assert "topics" in Module._meta.m2m_fields, "Model._meta.m2m_fields; sala/backup.py"
        through = Module._meta.fields_map["topics"].through  # type: ignore[attr-defined]
        assert through == "module_topic", "an m2m field's .through; sala/backup.py"


# ----------------------------------------------------------------------------- fpdf2

EMBEDDING = "certificates/pdf/embedding.py (CertificateOutput)"


def test_fpdf_output_producer_hooks_overridden() -> None:
    """CertificateOutput overrides ``_add_info`` and ``_add_fonts`` and calls
    ``_add_pdf_obj``: fpdf2 must still call the first two, with these arguments."""
    producer = fpdf_output.OutputProducer
    assert _parameters(producer._add_info) == ["self"], f"OutputProducer._add_info; {EMBEDDING}"
    assert _uses(producer.bufferize, "_add_info"), (
        f"OutputProducer.bufferize no longer calls _add_info; {EMBEDDING} overrides it to "
        "leave the creation date out"
    )
    assert _parameters(producer._add_fonts) == [
        "self",
        "image_objects_per_index",
        "gfxstate_objs_per_name",
        "pattern_objs_per_name",
    ], f"OutputProducer._add_fonts' parameters changed; {EMBEDDING} overrides it"
    assert _uses(producer._insert_resources, "_add_fonts"), (
        f"OutputProducer no longer calls _add_fonts; {EMBEDDING} embeds the fonts there"
    )
    assert _parameters(producer._add_pdf_obj) == ["self", "pdf_obj", "trace_label"], (
        f"OutputProducer._add_pdf_obj(obj, trace_label) changed; {EMBEDDING} calls it"
    )
    assert "output_producer_class" in _parameters(FPDF.output), (
        "FPDF.output(output_producer_class=...) is gone; certificates/pdf/page.py passes "
        "CertificateOutput"
    )


def test_fpdf_private_helpers() -> None:
    build = getattr(fpdf_output, "_build_cmap_blocks", None)
    assert callable(build), f"fpdf.output._build_cmap_blocks is gone; {EMBEDDING} imports it"
    assert _parameters(build) == ["entries", "operator"], f"_build_cmap_blocks; {EMBEDDING}"
    blocks = build(["<0001> <0041>\n"], "bfchar")
    assert blocks == "1 beginbfchar\n<0001> <0041>\nendbfchar\n", (
        f"fpdf.output._build_cmap_blocks writes something else; {EMBEDDING} ToUnicode map"
    )
    widths = getattr(fpdf_output, "_tt_font_widths", None)
    assert callable(widths), f"fpdf.output._tt_font_widths is gone; {EMBEDDING} imports it"
    assert _parameters(widths) == ["font"], f"_tt_font_widths(font) changed; {EMBEDDING}"


def test_fpdf_content_stream_contents() -> None:
    """``_FontProgramStream`` replaces ``_contents`` with an already compressed program."""
    stream = PDFContentStream(contents=b"plain", compress=False)
    assert stream._contents == b"plain", f"PDFContentStream._contents is gone; {EMBEDDING}"
    stream._contents = b"already compressed"
    assert stream.content_stream() == b"already compressed", (
        f"PDFContentStream no longer writes _contents; {EMBEDDING} _FontProgramStream sets it"
    )
    assert hasattr(stream, "filter") and hasattr(stream, "length"), f"PDFContentStream; {EMBEDDING}"


def test_fpdf_info_without_a_creation_date() -> None:
    info = fpdf_output.PDFInfo(
        title="t", subject=None, author=None, keywords=None, creator=None, producer=None,
        creation_date=None,  # type: ignore[arg-type]
    )  # fmt: skip
    info.id = 1
    assert "/CreationDate" not in info.serialize(), (
        f"PDFInfo(creation_date=None) no longer leaves the date out; {EMBEDDING} _add_info"
    )


def test_fpdf_font_internals() -> None:
    """What embedding.py and fonts.py read and write on a parsed font and its subset."""
    pdf = FPDF()
    font_file = static_fonts().fonts[0]
    pdf.add_font(font_file.family, font_file.style, font_file.path)
    font = pdf.fonts[font_file.key]
    assert isinstance(font, TTFFont), "FPDF.fonts holds TTFFont; certificates/pdf/fonts.py"
    for name in ("i", "fontkey", "name", "desc", "subset", "color_font", "is_cff"):
        assert hasattr(font, name), f"TTFFont.{name} is gone; {EMBEDDING} reads it"
    assert hasattr(font.desc, "missing_width"), f"TTFFont.desc.missing_width; {EMBEDDING}"
    assert isinstance(font.missing_glyphs, list), "TTFFont.missing_glyphs; fonts.py add_fonts"
    assert font.hbfont is not None, "TTFFont.hbfont; certificates/pdf/fonts.py loads it"
    assert _parameters(SubsetMap) == ["font"], "SubsetMap(font); certificates/pdf/fonts.py"
    font.subset = SubsetMap(font)
    assert font.subset.pick(ord("A")) is not None
    for method in (font.subset.pick, font.subset.get_glyph):
        assert callable(getattr(method, "cache_clear", None)), (
            f"SubsetMap.{method.__name__} is no longer a functools cache; {EMBEDDING} clears it"
        )
    glyphs = [glyph for glyph, _code in font.subset.items() if glyph is not None]
    assert glyphs and all(isinstance(glyph, Glyph) for glyph in glyphs)
    for name in ("glyph_id", "glyph_name", "unicode"):
        assert hasattr(glyphs[0], name), f"fpdf Glyph.{name} is gone; {EMBEDDING} reads it"
    assert "exact_match" in _parameters(FPDF.set_fallback_fonts), (
        "FPDF.set_fallback_fonts(exact_match=...) changed; certificates/pdf/fonts.py"
    )


# ----------------------------------------------------------------------------- dateutil


def test_dateutil_rrule_private_fields() -> None:
    rule = rrulestr("FREQ=MONTHLY;BYDAY=1SA;COUNT=3", dtstart=None, forceset=False)
    assert isinstance(rule, rrule), "rrulestr(forceset=False) gives an rrule; events/series.py"
    assert getattr(rule, "_freq", None) == MONTHLY, (
        "dateutil rrule._freq is gone; events/series.py reads the rule's frequency from it"
    )
    assert getattr(rule, "_count", None) == 3, (
        "dateutil rrule._count is gone; events/series.py bounds a rule without COUNT by it"
    )
    assert rrulestr("FREQ=WEEKLY", forceset=False)._count is None  # type: ignore[union-attr]
    assert callable(rule.replace), "rrule.replace(until=...); events/series.py"
