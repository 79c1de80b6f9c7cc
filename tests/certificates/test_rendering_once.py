"""Each certificate's PDF is made once, in the render processes, whoever asks for it first
(a download, the worker) and however many ask at once; a revocation or a delete-my-data
during a render leaves no file. Renders are counted by ``certificates.rendering.renders``
(the real renderer runs; where a test must act *during* a render, it only holds the render
back until it has acted)."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from attendees.manage import delete_personal_data
from attendees.models import Registration
from certificates import rendering
from certificates import services as certificates
from certificates.models import Certificate, CertificateStatus
from certificates.pdf.page import CertificateContent
from checkin.tickets import ticket_for
from sala.config import Settings
from sala.models import OutboxMessage, Role, StaffUser
from tests.factories import make_session, make_staff, register_person, token_for


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
async def issued(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    """Sokha checked in at a facilitator's session and her certificate issued (API)."""
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(facilitators=(facilitator,), title_en="SOGIE basics")
    registration = (
        await register_person(session, settings, chosen_name="Sokha", email="sokha@example.org")
    ).registration
    headers = await token_for(facilitator)
    scan = {
        "token": await ticket_for(registration, settings.data_dir),
        "session_id": session.id,
        "scan_id": uuid.uuid4().hex,
    }
    checked = await client.post("/api/v1/checkins", json=scan, headers=headers)
    assert checked.json()["result"] == "checked_in", checked.text
    answer = await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
    code = str(answer.json()[0]["code"])
    return {
        "code": code,
        "pdf_url": f"/api/v1/certificates/{code}/pdf",
        "headers": headers,
        "facilitator": facilitator,
        "registration": registration,
    }


def _kept(settings: Settings, code: str) -> list[str]:
    return sorted(p.name for p in (settings.data_dir / "certificates").glob(f"{code}-*.pdf"))


async def _download(client: httpx.AsyncClient, issued: dict[str, Any]) -> bytes:
    answer = await client.get(issued["pdf_url"], headers=issued["headers"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return answer.content


Render = Callable[[CertificateContent], Coroutine[Any, Any, bytes]]


@pytest.fixture
def held_render(monkeypatch: pytest.MonkeyPatch) -> dict[str, asyncio.Event]:
    """Renders wait for ``release`` before the real renderer runs; ``started`` says one is
    under way. Only the timing changes: the PDF is the renderer's own."""
    started, release = asyncio.Event(), asyncio.Event()
    real: Render = rendering.render

    async def held(content: CertificateContent) -> bytes:
        started.set()
        await release.wait()
        return await real(content)

    monkeypatch.setattr(rendering, "render", held)
    return {"started": started, "release": release}


async def test_issued_then_downloaded_and_emailed_is_rendered_once(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    code = issued["code"]
    first = await _download(client, issued)
    (kept,) = _kept(settings, code)
    inode = os.stat(settings.data_dir / "certificates" / kept).st_ino
    await certificates.render_pending(settings)  # the worker: the email, no second render
    again = await _download(client, issued)

    assert rendering.renders[code] == 1
    assert again == first and _kept(settings, code) == [kept]
    assert os.stat(settings.data_dir / "certificates" / kept).st_ino == inode
    text = _text(first)
    assert "Sokha" in text and code in text and "SOGIE basics" in text
    certificate = await Certificate.get(code=code)
    assert certificate.rendered_at is not None
    assert await OutboxMessage.filter(kind=certificates.CERTIFICATE_MAIL).count() == 1


async def test_two_downloads_at_once_render_once(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    one, two = await asyncio.gather(_download(client, issued), _download(client, issued))
    assert one == two and issued["code"] in _text(one)
    assert rendering.renders[issued["code"]] == 1


async def test_a_download_racing_the_worker_renders_once(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    done, pdf = await asyncio.gather(
        certificates.render_pending(settings), _download(client, issued)
    )
    assert rendering.renders[issued["code"]] == 1 and done <= 1  # (or the app's own worker)
    assert (await Certificate.get(code=issued["code"])).rendered_at is not None
    messages = await OutboxMessage.filter(kind=certificates.CERTIFICATE_MAIL)
    assert len(messages) == 1 and "Sokha" in _text(pdf)


async def test_a_download_waits_for_another_process_making_the_pdf(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    """Another process holds the certificate's lock (a lock of its own open file, as another
    process's would be): the download waits, then serves the file that process wrote."""
    certificate = await Certificate.get(code=issued["code"])
    folder = settings.data_dir / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / f"{certificate.code}.lock"
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    waiting = asyncio.ensure_future(_download(client, issued))
    await asyncio.sleep(0.3)
    assert not waiting.done()

    made_elsewhere = await rendering.render(
        await certificates.certificate_content(certificate, settings)
    )
    path = certificates._cache_path(settings, certificate, certificates._design_mark(settings))
    path.write_bytes(made_elsewhere)
    lock_path.unlink()
    os.close(fd)

    assert await waiting == made_elsewhere
    assert rendering.renders[certificate.code] == 1  # the other process's render only


async def test_revoking_during_a_render_leaves_no_file(
    client: httpx.AsyncClient,
    settings: Settings,
    issued: dict[str, Any],
    held_render: dict[str, asyncio.Event],
) -> None:
    code = issued["code"]
    downloading = asyncio.ensure_future(_download(client, issued))
    await held_render["started"].wait()
    revoked = await client.post(
        f"/api/v1/certificates/{code}/revoke", json={"reason": "typo"}, headers=issued["headers"]
    )
    assert revoked.json()["status"] == "revoked"
    held_render["release"].set()
    await downloading  # the request asked before the revocation gets its copy
    assert _kept(settings, code) == []
    assert rendering.renders[code] == 1


async def test_deleting_my_data_during_a_render_leaves_no_file(
    client: httpx.AsyncClient,
    settings: Settings,
    issued: dict[str, Any],
    held_render: dict[str, asyncio.Event],
) -> None:
    code = issued["code"]
    rendering_job = asyncio.ensure_future(certificates.render_pending(settings))
    await held_render["started"].wait()
    registration = await Registration.get(id=issued["registration"].id).prefetch_related("person")
    await delete_personal_data(registration, settings)
    held_render["release"].set()
    await rendering_job
    certificate = await Certificate.get(code=code)
    assert certificate.status == CertificateStatus.REVOKED and certificate.holder_name == ""
    assert _kept(settings, code) == []
    assert not await OutboxMessage.filter(kind=certificates.CERTIFICATE_MAIL).exists()


async def test_a_revoked_certificate_is_shown_to_staff_but_never_kept(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    code = issued["code"]
    await _download(client, issued)
    await client.post(
        f"/api/v1/certificates/{code}/revoke", json={"reason": "typo"}, headers=issued["headers"]
    )
    assert _kept(settings, code) == []  # revoking removes the kept copy
    assert code in _text(await _download(client, issued))
    assert _kept(settings, code) == []


async def test_a_new_logo_or_signatory_gives_the_new_pdf_once(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    code = issued["code"]
    admin: StaffUser = await make_staff(Role.ADMIN)
    before = await _download(client, issued)
    await certificates.save_signatory(
        1, name="Sok Dara", role="Executive Director", staff=admin, settings=settings
    )
    after = await _download(client, issued)
    assert "Executive Director" in _text(after) and "Executive Director" not in _text(before)
    assert await _download(client, issued) == after
    assert rendering.renders[code] == 2 and len(_kept(settings, code)) == 1

    # Saving the same signatory again changes nothing, so nothing is made again.
    await certificates.save_signatory(
        1, name="Sok Dara", role="Executive Director", staff=admin, settings=settings
    )
    await _download(client, issued)
    assert rendering.renders[code] == 2


async def test_a_reissued_certificate_gets_its_own_pdf_once(
    client: httpx.AsyncClient, settings: Settings, issued: dict[str, Any]
) -> None:
    old_code = issued["code"]
    await _download(client, issued)
    answer = await client.post(
        f"/api/v1/certificates/{old_code}/reissue",
        json={"reason": "name misspelt"},
        headers=issued["headers"],
    )
    new_code = answer.json()["code"]
    assert _kept(settings, old_code) == []
    new = {**issued, "code": new_code, "pdf_url": f"/api/v1/certificates/{new_code}/pdf"}
    await certificates.render_pending(settings)
    pdf = await _download(client, new)
    assert new_code in _text(pdf) and rendering.renders[new_code] == 1
    assert len(_kept(settings, new_code)) == 1


_KILLED_OWNER = """
import asyncio, os, signal
from certificates import rendering

async def main():
    pool = rendering._the_pool()
    await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
    print(*pool._processes, flush=True)

asyncio.run(main())
os.kill(os.getpid(), signal.SIGKILL)  # no shutdown, no atexit: the OOM killer's way
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_render_processes_go_when_the_process_that_made_them_is_killed(tmp_path: Path) -> None:
    """A web process killed hard must not leave render processes (and their fonts) behind."""
    output = tmp_path / "workers.txt"
    with output.open("w") as out:
        owner = subprocess.Popen(
            [sys.executable, "-c", _KILLED_OWNER],
            cwd=Path(rendering.__file__).resolve().parents[1],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        assert owner.wait(timeout=120) == -signal.SIGKILL, output.read_text()
    workers = [int(pid) for pid in output.read_text().split()]
    assert workers
    deadline = time.monotonic() + 10 * rendering.OWNER_POLL_SECONDS
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in workers if _running(pid)] == []


async def test_a_render_process_killed_does_not_stop_later_renders(
    issued: dict[str, Any], settings: Settings
) -> None:
    """The OOM killer takes a render process: the pool is made anew, the next PDF still made."""
    pool = rendering._the_pool()
    await asyncio.get_running_loop().run_in_executor(pool, os.getpid)  # the processes are up
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    certificate = await Certificate.get(code=issued["code"])
    content = await certificates.certificate_content(certificate, settings)
    for _ in range(2):  # the first finds the pool broken, the second a new one
        assert issued["code"] in _text(await rendering.render(content))
    assert rendering._the_pool() is not pool
