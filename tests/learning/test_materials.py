"""Session materials: staff attach files and links; each person sees what their registration
may see, through short-lived signed links; nothing is at a guessable address unless public."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect

from attendees.manage import manage_url
from attendees.models import Registration
from attendees.registration import cancel_registration
from events.models import Session
from learning import material_routes, materials
from learning.models import Material, MaterialAudience
from sala.config import Settings
from sala.models import AuditEntry, Role, StaffUser
from tests.conftest import make_settings
from tests.factories import (
    check_in,
    csrf_from,
    log_in,
    make_session,
    make_staff,
    register_person,
    token_for,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The suite's settings with a 1 MB limit on materials, so "too large" is cheap to send."""
    return make_settings(tmp_path, database_url, SALA_MATERIAL_MAX_MB="1")


def _page(session: Session | int) -> str:
    session_id = session if isinstance(session, int) else session.id
    return f"/staff/sessions/{session_id}/materials"


async def _csrf(client: httpx.AsyncClient, session: Session) -> str:
    page = await client.get(_page(session))
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def _upload(
    client: httpx.AsyncClient,
    session: Session,
    name: str,
    data: bytes,
    content_type: str = "application/pdf",
    **fields: str,
) -> httpx.Response:
    form = {"action": "add_file", "csrf_token": await _csrf(client, session)}
    form.update({f"file_{k}": v for k, v in fields.items()})
    return await client.post(_page(session), data=form, files={"file": (name, data, content_type)})


async def _link(
    client: httpx.AsyncClient, session: Session, url: str, **fields: str
) -> httpx.Response:
    form = {"action": "add_link", "link_url": url, "csrf_token": await _csrf(client, session)}
    form.update({f"link_{k}": v for k, v in fields.items()})
    return await client.post(_page(session), data=form)


def _path(registration: Any, settings: Settings) -> str:
    return manage_url(registration, settings).removeprefix(settings.base_url)


def _token(registration: Any, settings: Settings) -> str:
    return _path(registration, settings).rsplit("/", 1)[-1]


async def _shown(client: httpx.AsyncClient, registration: Any, settings: Settings) -> list[str]:
    """The titles of the materials on this registration's manage page, in order."""
    page = await client.get(_path(registration, settings))
    assert page.status_code == 200, page.text
    section = re.search(r'<section class="materials".*?</section>', page.text, re.S)
    if section is None:
        return []
    return re.findall(r"<li>\s*<a [^>]*>([^<]+)</a>", section.group())


def _links(html: str) -> list[str]:
    return re.findall(r'href="(/materials/[^"]+)"', html)


@pytest.fixture
async def training(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    """A session for two, run by Dara; its admin logged in on ``client``."""
    admin = await make_staff(Role.ADMIN, name="Admin")
    dara = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(facilitators=(dara,), capacity="2")
    await log_in(client, admin)
    return {"admin": admin, "dara": dara, "session": session}


# ----------------------------------------------------------------------------- staff


async def test_staff_attach_a_pdf_a_png_and_a_link(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    answer = await _upload(
        client, session, "slides.pdf", PDF, title_km="ស្លាយ", title_en="Slides", audience="confirmed"
    )
    assert answer.status_code == 303, answer.text
    # The browser's content type and a Windows path mean nothing: the bytes say PNG.
    answer = await _upload(client, session, "C:\\fakepath\\photo.png", _png(), "application/pdf")
    assert answer.status_code == 303, answer.text
    answer = await _link(client, session, "https://example.org/reading", title_en="Reading")
    assert answer.status_code == 303, answer.text

    rows = await Material.filter(session_id=session.id).order_by("position")
    assert [(m.title_en, m.file_name, m.content_type, m.link_url) for m in rows] == [
        ("Slides", "slides.pdf", "application/pdf", ""),
        ("", "photo.png", "image/png", ""),
        ("Reading", "", "", "https://example.org/reading"),
    ]
    assert [m.position for m in rows] == [0, 1, 2]
    assert rows[0].size == len(PDF)
    for row in rows[:2]:
        assert re.fullmatch(r"[0-9a-f]{32}", row.stored_name)
        stored = settings.data_dir / "learning" / "materials" / row.stored_name
        assert stored.is_file() and stored.stat().st_mode & 0o077 == 0
    assert (settings.data_dir / "learning" / "materials" / rows[0].stored_name).read_bytes() == PDF
    actions = await AuditEntry.filter(action="material.add").values_list("object_id", flat=True)
    assert sorted(actions) == sorted(str(m.id) for m in rows)

    page = await client.get(_page(session))
    assert "photo.png" in page.text and "Slides" in page.text and "1 KB" in page.text
    # Staff download the file itself, with its stored type and as an attachment.
    answer = await client.get(f"/staff/materials/{rows[1].id}/file")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-disposition"].startswith('attachment; filename="photo.png"')
    assert answer.headers["cache-control"] == "no-store"


async def test_bad_materials_are_refused_with_what_was_typed_kept(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    answer = await _upload(client, session, "report.pdf", EXE, title_en="Kept title")
    assert answer.status_code == 422
    assert "Upload a PDF, PNG, JPEG or WebP file." in answer.text
    assert 'value="Kept title"' in answer.text

    # Just over the limit: read, then refused (422, on the form).
    answer = await _upload(client, session, "big.pdf", PDF + b"0" * (1024 * 1024))
    assert answer.status_code == 422
    assert "This file is larger than the limit shown." in answer.text
    # Far over it: refused from its declared length, before it is read (413).
    answer = await _upload(client, session, "huge.pdf", PDF + b"0" * (3 * 1024 * 1024))
    assert answer.status_code == 413
    assert "The file is too large: at most 1 MB." in answer.text

    for url in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,hi",
        "ftp://x.org/a",
    ):
        answer = await _link(client, session, url, title_en="Trap")
        assert answer.status_code == 422, url
        assert "Enter a full web address starting with https://." in answer.text

    answer = await _link(client, session, "https://example.org/a", audience="public")
    assert answer.status_code == 422
    assert "Give the date from which everyone may see it." in answer.text
    # Every wrong field at once, and what was typed stays.
    answer = await _link(client, session, "javascript:x", audience="public", title_km="ចំណងជើង")
    assert answer.status_code == 422
    assert "Give the date from which everyone may see it." in answer.text
    assert "Enter a full web address starting with https://." in answer.text
    assert 'value="javascript:x"' in answer.text and 'value="ចំណងជើង"' in answer.text
    answer = await client.post(
        _page(session), data={"action": "add_file", "csrf_token": await _csrf(client, session)}
    )
    assert answer.status_code == 422 and "Choose a file to upload." in answer.text
    answer = await client.post(
        _page(session), data={"action": "add_link", "link_url": "https://a.org"}
    )
    assert answer.status_code == 403  # no CSRF token
    answer = await _upload(
        client, session, "a.pdf", PDF, audience="public", public_from="not a date"
    )
    assert answer.status_code == 422
    assert 'value="not a date"' in answer.text

    assert await Material.filter(session_id=session.id).count() == 0
    folder = settings.data_dir / "learning" / "materials"
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_a_huge_body_of_unknown_length_is_cut_off(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    """Sent in chunks without a length, the body is refused once past the limit."""
    session = training["session"]
    token = await _csrf(client, session)
    boundary = "sala-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="action"\r\n\r\nadd_file\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    sent = 0

    async def body() -> Any:
        nonlocal sent
        yield head + PDF
        for _ in range(40):  # 10 MB, in 256 KB chunks
            sent += 1
            yield b"0" * (256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = await client.post(
        _page(session),
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413
    assert "The file is too large: at most 1 MB." in answer.text
    assert sent < 10  # stopped a little past 1 MB, not read to its end
    assert await Material.filter(session_id=session.id).count() == 0


async def test_reorder_and_delete_removes_the_file(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    for name in ("one.pdf", "two.pdf"):
        assert (await _upload(client, session, name, PDF)).status_code == 303
    _, second = await Material.filter(session_id=session.id).order_by("position")
    answer = await client.post(
        _page(session),
        data={
            "action": "up",
            "material_id": str(second.id),
            "csrf_token": await _csrf(client, session),
        },
    )
    assert answer.status_code == 303
    order = (
        await Material.filter(session_id=session.id)
        .order_by("position")
        .values_list("file_name", flat=True)
    )
    assert order == ["two.pdf", "one.pdf"]

    stored = materials.file_path(second, settings)
    assert stored.is_file()
    answer = await client.post(
        _page(session),
        data={
            "action": "delete",
            "material_id": str(second.id),
            "csrf_token": await _csrf(client, session),
        },
    )
    assert answer.status_code == 303
    assert not stored.exists()
    assert await Material.filter(id=second.id).count() == 0
    assert await AuditEntry.filter(action="material.delete", object_id=str(second.id)).count() == 1
    # A material of another session cannot be deleted through this one's page.
    other = await make_session(title_en="Other")
    assert (await _upload(client, other, "x.pdf", PDF)).status_code == 303
    theirs = await Material.get(session_id=other.id)
    answer = await client.post(
        _page(session),
        data={
            "action": "delete",
            "material_id": str(theirs.id),
            "csrf_token": await _csrf(client, session),
        },
    )
    assert answer.status_code == 404
    assert materials.file_path(theirs, settings).is_file()


async def test_only_staff_of_the_session_reach_its_materials(
    client: httpx.AsyncClient, new_client: Any, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    assert (await _upload(client, session, "slides.pdf", PDF)).status_code == 303
    material = await Material.get(session_id=session.id)
    file_url = f"/staff/materials/{material.id}/file"

    async with new_client() as dara:
        await log_in(dara, training["dara"])
        assert (await dara.get(_page(session))).status_code == 200
        assert (await dara.get(file_url)).status_code == 200
    for role in (Role.TEAM_LEADER, Role.FACILITATOR):
        outsider: StaffUser = await make_staff(role, name="Outsider")
        async with new_client() as browser:
            await log_in(browser, outsider)
            assert (await browser.get(_page(session))).status_code == 403, role
            assert (await browser.get(file_url)).status_code == 403, role
            assert (await browser.get(f"/staff/materials/{material.id + 99}/file")).status_code in (
                403,
                404,
            )
    async with new_client() as stranger:
        answer = await stranger.get(file_url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/staff/login")
    assert (await client.get("/staff/materials/99999999999/file")).status_code == 404
    assert (await client.get(f"/staff/materials/{material.id + 1}/file")).status_code == 404


# ----------------------------------------------------------------------------- people


@pytest.fixture
async def attached(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> dict[str, Any]:
    """One material of each audience, a public one not yet public, and the people."""
    session = training["session"]
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    for title, audience, when in (
        ("Before", "confirmed", ""),
        ("After check-in", "checked_in", ""),
        ("Public now", "public", past),
        ("Public later", "public", future),
    ):
        answer = await _upload(
            client,
            session,
            f"{title}.pdf",
            PDF,
            title_en=title,
            audience=audience,
            public_from=when,
        )
        assert answer.status_code == 303, answer.text
    answer = await _link(client, session, "https://example.org/read", title_en="Reading")
    assert answer.status_code == 303
    by_title = {m.title_en: m for m in await Material.filter(session_id=session.id)}

    people = {
        name: (await register_person(session, settings, chosen_name=name)).registration
        for name in ("Confirmed", "Came", "Waiting", "Gone")
    }
    await cancel_registration(people["Gone"].id, settings=settings, actor=None)
    headers = await token_for(training["dara"])

    class Outcome:
        registration = people["Came"]

    await check_in(client, headers, Outcome())
    other = await make_session(title_en="Another training")
    people["Elsewhere"] = (
        await register_person(other, settings, chosen_name="Elsewhere")
    ).registration
    for name, registration in people.items():
        people[name] = await type(registration).get(id=registration.id)
    return {**training, "materials": by_title, "people": people}


async def test_each_registration_sees_what_it_may(
    client: httpx.AsyncClient, new_client: Any, settings: Settings, attached: dict[str, Any]
) -> None:
    people = attached["people"]
    assert people["Waiting"].status == "waitlisted" and people["Gone"].status == "cancelled"
    expected = {
        "Confirmed": ["Before", "Public now", "Reading"],
        "Came": ["Before", "After check-in", "Public now", "Reading"],
        "Waiting": ["Public now"],
        "Gone": ["Public now"],
        "Elsewhere": [],
    }
    async with new_client() as person:
        for name, titles in expected.items():
            assert await _shown(person, people[name], settings) == titles, name
            visible = await materials.visible_materials(people[name], datetime.now(UTC))
            assert [m.title for m in visible] == titles, name

    khmer = await client.get(_path(people["Came"], settings) + "?lang=km")
    assert khmer.status_code == 200 and '<html lang="km"' in khmer.text
    assert (await client.get(_page(attached["session"]) + "?lang=km")).status_code == 200
    page = await client.get(_path(people["Came"], settings) + "?lang=en")
    assert re.search(r"Before</a> <span class=\"hint\">\(1 KB\)</span>", page.text)
    assert 'href="https://example.org/read" rel="noopener noreferrer"' in page.text
    assert "/registrations/" in page.text and "materials.zip" in page.text


async def test_signed_links_are_for_one_registration_and_one_hour(
    new_client: Any, settings: Settings, attached: dict[str, Any]
) -> None:
    people, found = attached["people"], attached["materials"]
    async with new_client() as person:
        page = await person.get(_path(people["Confirmed"], settings))
        link = _links(page.text)[0]
        answer = await person.get(link)
        assert answer.status_code == 200 and answer.content == PDF
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-disposition"] == (
            "attachment; filename=\"Before.pdf\"; filename*=UTF-8''Before.pdf"
        )

        # Signed by us, but for material the registration may not see: the check-in one,
        # or one of this session for another session's registrant.
        not_yet = materials.material_token(found["After check-in"], people["Confirmed"], settings)
        assert (await person.get(f"/materials/{not_yet}")).status_code == 404
        elsewhere = materials.material_token(found["Before"], people["Elsewhere"], settings)
        assert (await person.get(f"/materials/{elsewhere}")).status_code == 404
        assert (await person.get(link[:-3] + "abc")).status_code == 404
        assert (await person.get("/materials/" + "x" * 300)).status_code == 404
        # A link to a link material is no download.
        reading = materials.material_token(found["Reading"], people["Came"], settings)
        assert (await person.get(f"/materials/{reading}")).status_code == 404

        # An hour later, the link has expired: a clear page, not the file.
        class HourAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(datetime.now(UTC).timestamp()) - materials.LINK_MAX_AGE - 5

        old = URLSafeTimedSerializer(
            settings.secret_key, salt="sala.learning.material", signer=HourAgo
        ).dumps([found["Before"].id, people["Confirmed"].id])
        answer = await person.get(f"/materials/{old}")
        assert answer.status_code == 410
        assert "This download link has expired." in answer.text

        # Cancelled since: the link it had stops working at once.
        await cancel_registration(people["Confirmed"].id, settings=settings, actor=None)
        assert (await person.get(link)).status_code == 404


async def test_the_zip_holds_what_the_registration_may_see(
    new_client: Any, settings: Settings, attached: dict[str, Any]
) -> None:
    people = attached["people"]
    async with new_client() as person:
        answer = await person.get(
            f"/registrations/{_token(people['Came'], settings)}/materials.zip"
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        assert answer.headers["cache-control"] == "no-store"
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            assert archive.namelist() == [
                "01 Before.pdf",
                "02 After check-in.pdf",
                "03 Public now.pdf",
                "links.txt",
            ]
            assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
            assert archive.read("01 Before.pdf") == PDF
            assert archive.read("links.txt").decode() == "Reading\nhttps://example.org/read\n"

        answer = await person.get(
            f"/registrations/{_token(people['Waiting'], settings)}/materials.zip"
        )
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            assert archive.namelist() == ["01 Public now.pdf"]
        answer = await person.get(
            f"/registrations/{_token(people['Elsewhere'], settings)}/materials.zip"
        )
        assert answer.status_code == 404
        assert (await person.get("/registrations/forged/materials.zip")).status_code == 404


def _zip_url(registration: Any, settings: Settings) -> str:
    return f"/registrations/{_token(registration, settings)}/materials.zip"


def _files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


@pytest.fixture
def no_temp_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty temporary folder for the test, and every way to make a temporary file
    refused: the ZIP must not need one."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no temporary file")

    for name in ("mkstemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, refused)
    return folder


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The stored files the ZIP opens, to see that each is closed again."""
    found: list[Any] = []
    real = materials._open_stored

    def recording(path: Path) -> Any:
        result = real(path)
        if result is not None:
            found.append(result[0])
        return result

    monkeypatch.setattr(materials, "_open_stored", recording)
    return found


async def test_the_zip_is_streamed_whole_without_a_temporary_file(
    client: httpx.AsyncClient,
    new_client: Any,
    settings: Settings,
    attached: dict[str, Any],
    no_temp_files: Path,
    opened: list[Any],
) -> None:
    # A file of several chunks, its bytes all different, so a lost or doubled chunk shows.
    big = PDF + bytes(range(256)) * 3500  # ~900 KB: 4 chunks
    answer = await _upload(client, attached["session"], "big.pdf", big, title_en="Big")
    assert answer.status_code == 303, answer.text
    async with new_client() as person:
        answer = await person.get(_zip_url(attached["people"]["Came"], settings))
    assert answer.status_code == 200, answer.text
    assert "content-length" not in answer.headers  # sent as it is made
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.testzip() is None  # every CRC right
        assert archive.namelist()[-2:] == ["04 big.pdf", "links.txt"]
        assert archive.read("04 big.pdf") == big
        assert archive.read("01 Before.pdf") == PDF
    assert _files_in(no_temp_files) == []
    assert len(opened) == 4 and all(f.closed for f in opened)
    assert material_routes.zip_slots.taken == 0


@pytest.mark.parametrize("gone", ["disconnect", "send_fails"])
async def test_a_person_gone_mid_zip_leaves_nothing_behind(
    gone: str,
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    attached: dict[str, Any],
    no_temp_files: Path,
    opened: list[Any],
) -> None:
    big = PDF + b"x" * (900 * 1024)
    assert (await _upload(client, attached["session"], "big.pdf", big)).status_code == 303
    path = _zip_url(attached["people"]["Came"], settings)
    first_chunk = asyncio.Event()
    sent: list[dict[str, Any]] = []
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()
        return {"type": "http.disconnect"}  # the phone lost its signal

    async def send(message: dict[str, Any]) -> None:
        if gone == "send_fails" and first_chunk.is_set():
            raise OSError("connection reset by peer")
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()
            await asyncio.sleep(0.05)  # a slow network: the disconnect arrives meanwhile

    scope = {
        "type": "http",
        # ASGI 2.4: the server tells of a gone client by failing ``send``; before, by a
        # disconnect message while the answer is sent.
        "asgi": {"version": "3.0", "spec_version": "2.4" if gone == "send_fails" else "2.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept-language", b"en")],
        "client": ("127.0.0.1", 123),
        "server": ("testserver", 80),
    }
    with contextlib.suppress(ClientDisconnect):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert 0 < len(body) < len(big)  # cut off, not sent to its end
    assert not any(m.get("more_body") is False for m in sent[1:])
    assert opened and all(f.closed for f in opened)
    assert material_routes.zip_slots.taken == 0
    assert _files_in(no_temp_files) == []


async def test_a_busy_server_says_try_again_shortly(
    new_client: Any, settings: Settings, attached: dict[str, Any]
) -> None:
    slots = material_routes.zip_slots
    path = _zip_url(attached["people"]["Came"], settings)
    held = 0
    try:
        while slots.take():  # as many ZIPs as it sends at once, being sent
            held += 1
        assert held == material_routes.ZIPS_AT_ONCE
        async with new_client() as person:
            answer = await person.get(path)
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "30"
            assert "Many people are downloading materials right now." in answer.text
            khmer = await person.get(path + "?lang=km")
            assert khmer.status_code == 503 and '<html lang="km"' in khmer.text
    finally:
        for _ in range(held):
            slots.give_back()
    async with new_client() as person:
        assert (await person.get(path)).status_code == 200
    assert slots.taken == 0


async def test_the_zip_is_limited_per_registration_and_per_address(
    new_client: Any,
    settings: Settings,
    attached: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings.rate_limits  # the suite keeps the limits on; this test needs them
    monkeypatch.setattr(material_routes, "ZIPS_PER_ADDRESS", (7, 600.0))
    people = attached["people"]
    per_registration = material_routes.ZIPS_PER_REGISTRATION[0]
    async with new_client(address="203.0.113.7") as person:
        for _ in range(per_registration):
            assert (await person.get(_zip_url(people["Came"], settings))).status_code == 200
        answer = await person.get(_zip_url(people["Came"], settings))
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "600"
        assert "You have downloaded the materials several times in a short while." in answer.text
        # Another registration from the same address: its own tries, up to the address's.
        assert (await person.get(_zip_url(people["Confirmed"], settings))).status_code == 200
        assert (await person.get(_zip_url(people["Confirmed"], settings))).status_code == 200
        assert (await person.get(_zip_url(people["Confirmed"], settings))).status_code == 429
    async with new_client(address="198.51.100.9") as elsewhere:
        assert (await elsewhere.get(_zip_url(people["Confirmed"], settings))).status_code == 200
        assert (await elsewhere.get(_zip_url(people["Came"], settings))).status_code == 429


async def test_a_reset_manage_link_kills_the_material_links_it_gave(
    new_client: Any, settings: Settings, attached: dict[str, Any]
) -> None:
    registration = attached["people"]["Confirmed"]
    async with new_client() as person:
        page = await person.get(_path(registration, settings))
        link = _links(page.text)[0]
        assert (await person.get(link)).status_code == 200
        old_zip = _zip_url(registration, settings)
        # The manage link is reset: a new manage key, as attendees/manage.py checks it.
        await Registration.filter(id=registration.id).update(manage_key="a-new-manage-key")
        assert (await person.get(link)).status_code == 404
        assert (await person.get(old_zip)).status_code == 404
        renewed = await Registration.get(id=registration.id)
        page = await person.get(_path(renewed, settings))
        new_link = _links(page.text)[0]
        assert new_link != link and (await person.get(new_link)).status_code == 200
        # The link carries a digest of the key, never the key itself.
        assert "a-new-manage-key" not in new_link
        # A link signed in the old form (no digest) is no link.
        bare = URLSafeTimedSerializer(settings.secret_key, salt="sala.learning.material").dumps(
            [attached["materials"]["Before"].id, registration.id]
        )
        assert (await person.get(f"/materials/{bare}")).status_code == 404


async def test_only_public_materials_past_their_date_answer_at_their_address(
    new_client: Any, settings: Settings, attached: dict[str, Any]
) -> None:
    session, found = attached["session"], attached["materials"]
    public = found["Public now"]
    async with new_client() as stranger:
        answer = await stranger.get(f"/sessions/{session.id}/materials/{public.id}")
        assert answer.status_code == 200 and answer.content == PDF
        assert answer.headers["x-content-type-options"] == "nosniff"
        # Every other id, of this session or not, answers the same 404.
        answered = {
            material_id: (
                await stranger.get(f"/sessions/{session.id}/materials/{material_id}")
            ).status_code
            for material_id in range(1, public.id + 10)
        }
        assert {k for k, v in answered.items() if v == 200} == {public.id}
        assert set(answered.values()) == {200, 404}
        # The session's public page lists it, and only it.
        page = await stranger.get(f"/sessions/{session.id}")
        assert page.status_code == 200
        listed = re.findall(r'href="(/sessions/\d+/materials/\d+)" download>([^<]+)<', page.text)
        assert listed == [(f"/sessions/{session.id}/materials/{public.id}", "Public now")]
        assert "Public later" not in page.text and "Before" not in page.text
        other_session = session.id + 1
        assert (
            await stranger.get(f"/sessions/{other_session}/materials/{public.id}")
        ).status_code == 404
        assert (
            await stranger.get(f"/sessions/{session.id}/materials/99999999999")
        ).status_code == 404


async def test_khmer_file_names_download_under_their_name(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    answer = await _upload(client, session, "ឯកសារ\u202e.pdf", PDF)
    assert answer.status_code == 303
    material = await Material.get(session_id=session.id)
    assert material.file_name == "ឯកសារ.pdf"
    assert material.audience is MaterialAudience.CONFIRMED
    answer = await client.get(f"/staff/materials/{material.id}/file")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"_____.pdf\"; filename*=UTF-8''%E1%9E")


def test_file_types_are_known_by_their_first_bytes() -> None:
    webp = io.BytesIO()
    Image.new("RGB", (2, 2)).save(webp, format="WEBP")
    jpeg = io.BytesIO()
    Image.new("RGB", (2, 2)).save(jpeg, format="JPEG")
    assert materials.sniff_type(webp.getvalue()[:16]) == "image/webp"
    assert materials.sniff_type(jpeg.getvalue()[:16]) == "image/jpeg"
    assert materials.sniff_type(_png()[:16]) == "image/png"
    assert materials.sniff_type(EXE[:16]) is None
    assert materials.sniff_type(b"<svg xmlns=") is None
    assert materials.tidy_file_name("photo.pdf", "image/png") == "photo.pdf.png"
    assert materials.tidy_file_name("../../etc/passwd", "application/pdf") == "passwd.pdf"
    assert materials.tidy_file_name("ph\x07o\u200eto\n.png", "image/png") == "photo.png"
    assert materials.tidy_file_name("pic.JPEG", "image/jpeg") == "pic.JPEG"
    assert materials.tidy_file_name("", "application/pdf") == "material.pdf"
    assert len(materials.tidy_file_name("a" * 500 + ".pdf", "application/pdf")) == 200
