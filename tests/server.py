"""A real ``sala serve`` for the tests that need a server process, started as an operator would.

:func:`running_server` is the one way the tests start one: on a free port, with only the
environment given (:func:`sala_env` leaves out a developer's own ``SALA_`` settings), waiting
for ``GET /healthz``, and stopped at the end (SIGTERM, then SIGKILL after a while). What the
server writes to its terminal goes to a file: a test may read it; a server that does not
start fails with it, and a failing test that used a server shows it.

These servers hash passwords with the real argon2: the cheap one of ``tests/conftest.py`` is
for in-process tests only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.mail_server import free_port

ROOT = Path(__file__).resolve().parents[1]
SALA = Path(sys.executable).parent / "sala"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 20.0

__all__ = ["RunningServer", "free_port", "run_sala", "running_server", "sala_env"]


def sala_env(data_dir: Path, base_url: str | None = None, **settings: str) -> dict[str, str]:
    """The environment of a ``sala`` command: this process's without any ``SALA_`` variable
    (a developer's ``SALA_DATABASE_URL`` must not leak in), then the data dir, the base URL if
    given, rate limits off (a test sends many requests from one address), and ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SALA_")}
    env.update(SALA_DATA_DIR=str(data_dir), SALA_RATE_LIMITS="off")
    if base_url is not None:
        env["SALA_BASE_URL"] = base_url
    env.update(settings)
    return env


def run_sala(args: list[str], env: dict[str, str]) -> str:
    """Run one ``sala`` command to completion and return what it printed; fail the test with
    its output if it fails."""
    if not SALA.exists():
        pytest.fail(f"the sala command is not installed next to the Python: {SALA}")
    done = subprocess.run(
        [str(SALA), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"`sala {args[0]}` failed with exit code {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}",
            pytrace=False,
        )
    return done.stdout


@dataclass(frozen=True)
class RunningServer:
    url: str  # http://127.0.0.1:<port>
    log: Path  # what the server wrote to stdout and stderr

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_server(
    env: dict[str, str],
    *,
    port: int | None = None,
    workers: int = 1,
    mail_worker: bool = True,
    log: Path | None = None,
    startup_seconds: float = STARTUP_SECONDS,
) -> Iterator[RunningServer]:
    """``sala serve`` with ``env`` on ``port`` (a free one if None), answering ``/healthz``.

    ``workers`` is ``--workers``; ``mail_worker=False`` is ``--no-worker``. The output goes to
    ``log`` (a temporary file if None, removed at the end). Set ``SALA_BASE_URL`` in ``env``
    to the server's address when links matter: pick the port first with :func:`free_port`.
    """
    if not SALA.exists():
        pytest.fail(f"the sala command is not installed next to the Python: {SALA}")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    own_log = log is None
    if log is None:
        handle, name = tempfile.mkstemp(prefix="sala-serve-", suffix=".log")
        os.close(handle)
        log = Path(name)
    command = [str(SALA), "serve", "--port", str(port), "--workers", str(workers)]
    if not mail_worker:
        command.append("--no-worker")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches uvicorn's workers
        )
    server = RunningServer(url, log)
    try:
        _wait_until_healthy(process, server, startup_seconds)
        yield server
    except Exception as error:  # a failure in the with block: say what the server said
        error.add_note(f"`sala serve` wrote:\n{server.output()}")
        raise
    finally:
        _stop(process)
        # Captured by pytest: shown with a failing test's report (a fixture's too), else dropped.
        sys.stderr.write(f"`sala serve` on {url} wrote:\n{server.output()}\n")
        if own_log:
            log.unlink(missing_ok=True)


def _wait_until_healthy(
    process: subprocess.Popen[bytes], server: RunningServer, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while not _healthy(f"{server.url}/healthz"):
        if process.poll() is not None:
            pytest.fail(
                f"`sala serve` exited with code {process.returncode} before answering "
                f"/healthz:\n{server.output()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"`sala serve` did not answer GET /healthz with 200 within {seconds:.0f} s:\n"
                f"{server.output()}",
                pytrace=False,
            )
        time.sleep(0.1)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn stops its workers and itself), then SIGKILL to the whole group."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # not yet reaped: the group id is still its own
        process.wait(timeout=STOP_SECONDS)
