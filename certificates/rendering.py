"""Where certificate PDFs are made: a small pool of processes, and each kept PDF made once.

**The pool.** :func:`render` runs ``certificates.pdf.page.render_certificate`` in a process
pool of this process's own (one process per usable core, started on first use with
``forkserver``; each loads and parses the fonts once, in its initializer, and keeps them):
a render costs ~20 ms of CPU that would otherwise be taken from the event loop that answers
the door and the registrations. Web processes and the worker each have their own pool, made
only if they render.

**Once.** :func:`kept_pdf` is how a kept PDF (``<data dir>/certificates/<code>-<key>.pdf``)
is read or made, by a download and by the worker alike. In one process, everyone asking for
a file being made awaits the same render. Across processes (several app processes, ``sala
worker``), the one that makes it holds an exclusive ``flock`` on ``<code>.lock`` next to the
PDF; the others wait for the lock and then read the file. A lock file rather than a row in
the database: what it guards is a file in the data dir that every process writing it
shares anyway; the kernel releases it when its holder dies (a lease in the database would
need a migration, a timeout, and a write on SQLite's single writer for every PDF). It needs
the processes on one machine, or a shared file system whose ``flock`` works (NFSv4 does).

**Never left behind.** A file is written whole (a temporary file, then ``os.replace``), and
*then* the caller's ``still_current`` is asked whether the certificate is still valid with
the name printed; if not, the file goes again. Whoever revokes or forgets a certificate
removes its files after committing (``services.forget_pdf``), so either that removal sees
the new file, or the check after writing sees the revocation: a render that finishes after
a revocation or a delete-my-data never leaves a file.
"""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from certificates.pdf.page import CertificateContent, render_certificate

LOCK_POLL_SECONDS = 0.02
OWNER_POLL_SECONDS = 1.0

# Renders asked of the pool by this process, by the code printed: how the tests (and anyone
# curious) see that a certificate was made once.
renders: Counter[str] = Counter()

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_flight: dict[Path, asyncio.Future[bytes]] = {}


def _start_render_process(owner: int) -> None:
    """The pool processes' initializer: instantiate (first time on a machine) and parse the
    fonts now, once, so the first certificate of each process does not pay for them; and go
    when ``owner``, the process that made the pool, is gone however it ended (a kill -9 or
    the OOM killer skip the shutdown that would otherwise stop its render processes)."""
    from certificates.pdf import fonts

    threading.Thread(target=_exit_without, args=(owner,), daemon=True).start()
    fonts.add_fonts(fonts.FPDF())


def _exit_without(owner: int) -> None:
    while not _gone(owner):
        time.sleep(OWNER_POLL_SECONDS)
    os._exit(0)


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended: no such process, another user's (the id reused), or a
    zombie its parent has yet to reap."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc: a zombie counts as alive until it is reaped
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def pool_size() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _the_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # forkserver: each render process is forked from a small clean server process
            # that has imported the renderer, never from this one (its event loop, its
            # database connections and its threads stay here).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["certificates.pdf.page"])
            _pool = ProcessPoolExecutor(
                max_workers=pool_size(),
                mp_context=context,
                initializer=_start_render_process,
                initargs=(os.getpid(),),
            )
        return _pool


def shut_down() -> None:
    """Stop this process's render processes (they start again when next needed)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def render(content: CertificateContent) -> bytes:
    """``content`` as PDF bytes, made in the pool. Counted in :data:`renders`.

    A render process that died (the OOM killer, a crash) breaks its whole pool: every later
    render would fail until the server restarts. The broken pool is dropped and the render
    tried once more in a new one.
    """
    renders[content.code] += 1
    loop = asyncio.get_running_loop()
    pool = _the_pool()
    try:
        return await loop.run_in_executor(pool, render_certificate, content)
    except BrokenProcessPool:
        _drop(pool)
        return await loop.run_in_executor(_the_pool(), render_certificate, content)


def _drop(pool: ProcessPoolExecutor) -> None:
    """Forget ``pool`` if it is still this process's (another render may have done so)."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


async def kept_pdf(
    path: Path,
    code: str,
    content: Callable[[], Awaitable[CertificateContent]],
    still_current: Callable[[], Awaitable[bool]],
) -> bytes:
    """The PDF kept at ``path``, made once (``content`` gives what it prints) if missing.

    A download waits for the render already under way, here or in another process, instead
    of starting a second one. ``still_current`` is asked after the file is written; if it
    says no (revoked, forgotten or renamed meanwhile), the file is removed again and the
    PDF only returned to this caller.
    """
    data = _read(path)
    if data is not None:
        return data
    running = _in_flight.get(path)
    if running is None:
        loop = asyncio.get_running_loop()
        running = loop.create_task(_make(path, code, content, still_current))
        _in_flight[path] = running
        running.add_done_callback(lambda _: _in_flight.pop(path, None))
    # Shielded: a caller that goes away (a closed connection) does not stop the render the
    # others wait for.
    return await asyncio.shield(running)


async def _make(
    path: Path,
    code: str,
    content: Callable[[], Awaitable[CertificateContent]],
    still_current: Callable[[], Awaitable[bool]],
) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = await _lock(path.parent / f"{code}.lock")
    try:
        data = _read(path)  # made by another process while we waited
        if data is not None:
            return data
        data = await render(await content())
        _write(path, data)
        if not await still_current():
            _remove(path)
        return data
    finally:
        _unlock(path.parent / f"{code}.lock", lock)


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a reader never sees half a PDF."""
    temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


async def _lock(lock_path: Path) -> int:
    """An exclusive ``flock`` on ``lock_path``, waited for without blocking the loop.

    The holder removes the file before it lets go, so a lock taken on a file since removed
    (the inode at the path is another one, or none) is let go and taken again.
    """
    while True:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            await asyncio.sleep(LOCK_POLL_SECONDS)
            continue
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _unlock(lock_path: Path, fd: int) -> None:
    try:
        lock_path.unlink(missing_ok=True)
    finally:
        os.close(fd)
