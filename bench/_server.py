"""Helpers shared by the benchmarks in ``bench/``: a throw-away Sala server and wrk.

Nothing here imports the app: the server is started the way a user starts it (``sala
create-admin``, ``sala create-token``, ``sala serve``), with its own data directory and, for
PostgreSQL, its own database, and everything is removed again on the way out.

    with bench_database("postgres") as database_url:
        with SalaServer(data_dir, database_url=database_url, workers=2) as server:
            session = server.api("POST", "/api/v1/sessions", {...})
            result = run_wrk(server.base_url, script, env={...}, threads=2, connections=100)
    with ServedApp([python, "bench/bare_app.py", "--port", "{port}"], log_path) as bare:
        result = run_wrk(bare.base_url, script, ...)
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
SALA = VENV_BIN / "sala"
DEFAULT_POSTGRES_URL = "postgres://sala_test:sala_test@127.0.0.1:5432/postgres"
ADMIN_EMAIL = "bench@example.org"
ADMIN_PASSWORD = "bench password 1"  # a throw-away account


class BenchError(RuntimeError):
    """The benchmark could not be set up or run (not a failed goal)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------------------- databases


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_url(url: str) -> str:
    """asyncpg takes ``postgresql://``; Tortoise takes ``postgres://``: accept both."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


async def _postgres_admin(url: str, statement: str) -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(_asyncpg_url(url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BenchError(
            f"cannot reach PostgreSQL at {urlsplit(url).hostname}:{urlsplit(url).port} ({exc}); "
            "start it (pg_ctlcluster 15 main start) or set SALA_BENCH_POSTGRES_URL"
        ) from exc
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def bench_database(kind: str) -> Iterator[str | None]:
    """``None`` for SQLite (the app keeps it in its data dir); for ``postgres`` a fresh
    database on the server of ``SALA_BENCH_POSTGRES_URL``, dropped at the end."""
    if kind == "sqlite":
        yield None
        return
    if kind != "postgres":
        raise ValueError(kind)
    admin_url = os.environ.get("SALA_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"sala_bench_{secrets.token_hex(4)}"
    asyncio.run(_postgres_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(admin_url, name)
    finally:
        asyncio.run(_postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------- the server


@dataclass
class SalaServer:
    """``sala serve`` in a subprocess with an admin and an API token; a context manager."""

    data_dir: Path
    database_url: str | None = None
    workers: int = 1
    port: int = field(default_factory=free_port)
    token: str = ""
    _process: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SALA_") or key.startswith("SALA_BENCH_")
        }
        env.update(
            SALA_DATA_DIR=str(self.data_dir),
            SALA_RATE_LIMITS="off",
            SALA_BASE_URL=self.base_url,
        )
        if self.database_url:
            env["SALA_DATABASE_URL"] = self.database_url
        return env

    def _sala(self, *args: str) -> str:
        done = subprocess.run(
            [str(SALA), *args], env=self.env(), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise BenchError(f"sala {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def __enter__(self) -> SalaServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._sala(
            "create-admin", "--email", ADMIN_EMAIL, "--name", "Bench", "--password", ADMIN_PASSWORD
        )
        self.token = self._sala("create-token", "--email", ADMIN_EMAIL).strip().splitlines()[-1]
        self._log = self.log_path.open("wb")
        command = [str(SALA), "serve", "--port", str(self.port), "--workers", str(self.workers)]
        self._process = subprocess.Popen(
            [*command, "--no-worker"],
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers go with it
        )
        try:
            self._wait_healthy(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise BenchError(f"sala serve exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise BenchError(f"/healthz did not answer 200 within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL to the server's own process group if it does not stop."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int:
        """The ``sala serve`` process, leader of the process group of all its workers."""
        if self._process is None:
            raise BenchError("the server is not running")
        return self._process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def api(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One JSON call with the admin token; raises BenchError on a non-2xx answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise BenchError(f"{method} {path} answered {exc.code}: {detail}") from exc


@dataclass
class ServedApp:
    """Any other HTTP server command (e.g. ``bench/bare_app.py``) in its own process group,
    ready once ``health_path`` answers 200 to a GET; a context manager like SalaServer.

    ``command`` is formatted with ``port=``: ``[python, "bench/bare_app.py", "--port",
    "{port}"]``. Its output goes to ``log_path``.
    """

    command: list[str]
    log_path: Path
    health_path: str = "/"
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BenchError("the server is not running")
        return self._process.pid

    def __enter__(self) -> ServedApp:
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [part.format(port=self.port) for part in self.command],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http_ok(self.base_url + self.health_path, self._process, self.log_path)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self, timeout: float = 15) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None


def wait_http_ok(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60
) -> None:
    """Wait until a GET of ``url`` answers 200; BenchError if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            raise BenchError(f"{process.args!r} exited early:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer 200 within {timeout:.0f}s")


# ----------------------------------------------------------------------------- CPU use

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far: the whole machine, each process, and our waited-for children
    (wrk, once it has exited)."""

    machine: float
    processes: dict[int, tuple[str, int, float]]  # pid: (name, process group, seconds)
    children: float


def cpu_snapshot() -> CpuSnapshot:
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
    machine = (sum(fields[:8]) - fields[3] - fields[4]) / _TICK
    processes: dict[int, tuple[str, int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        rest = text[text.rindex(")") + 2 :].split()
        processes[int(entry)] = (name, int(rest[2]), (int(rest[11]) + int(rest[12])) / _TICK)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSnapshot(machine, processes, usage.ru_utime + usage.ru_stime)


def cpu_split(before: CpuSnapshot, after: CpuSnapshot, server_group: int) -> dict[str, float]:
    """CPU seconds between two snapshots: the Sala server (its process group), PostgreSQL
    (every ``postgres`` process, other users' too), wrk, and everything else on the machine.
    A large "other" means the figures were measured on a busy machine."""
    split = {"sala": 0.0, "postgres": 0.0}
    for pid, (name, group, seconds) in after.processes.items():
        used = seconds - before.processes.get(pid, (name, group, 0.0))[2]
        if group == server_group:
            split["sala"] += used
        elif name == "postgres":
            split["postgres"] += used
    split["wrk"] = after.children - before.children
    split["other"] = max(after.machine - before.machine - sum(split.values()), 0.0)
    return split


# ----------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkRun:
    result: dict[str, str]  # the key=value pairs of the script's "RESULT ..." line
    output: str
    threads_done: int


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    return path


def run_wrk(
    base_url: str,
    script: Path,
    *,
    env: Mapping[str, str],
    threads: int,
    connections: int,
    duration_s: int = 60,
    timeout_s: int = 10,
) -> WrkRun:
    """Run wrk with a Lua script that prints ``THREAD_DONE`` when a thread has sent its share
    and ``RESULT k=v ...`` in ``done()``.

    wrk's main thread sleeps for the whole ``-d`` even when every thread stopped itself; once
    all threads said THREAD_DONE it gets SIGINT, which ends that sleep (the summary's duration
    is then the real one). ``-d`` stays the upper bound of the run.
    """
    command = [
        wrk_binary(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration_s}s",
        "--timeout",
        f"{timeout_s}s",
        "--latency",
        "-s",
        str(script),
        base_url,
    ]
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: list[str] = []
    done = 0
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("THREAD_DONE"):
                done += 1
                if done == threads:
                    process.send_signal(signal.SIGINT)
        process.wait(timeout=duration_s + 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    if process.returncode != 0:
        raise BenchError(f"wrk exited with {process.returncode}:\n{output}")
    result_lines = [line for line in lines if line.startswith("RESULT ")]
    if not result_lines:
        raise BenchError(f"wrk printed no RESULT line:\n{output}")
    result = dict(item.split("=", 1) for item in result_lines[-1].split()[1:])
    return WrkRun(result=result, output=output, threads_done=done)
