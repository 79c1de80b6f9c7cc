"""A session's certificates over HTTP against a naive fpdf2 loop, in the same run.

Starts a throw-away Sala as a user would (``sala serve --no-worker`` through ``SalaServer``,
plus ``sala worker`` beside it: the deployment with a worker of its own), and for each of
``--runs`` runs publishes a session of ``--count`` seats, registers that many people through
the public API, checks them all in (one ``POST /api/v1/checkins`` batch with tickets minted
by the installation's key, as bench/checkin.py does) — setup, not timed. Then, timed: the
admin issues the session's certificates (``POST /api/v1/sessions/{id}/certificates``) and
wrk (``bench/certificates_http.lua``, ``--connections``) downloads every PDF once
(``GET /api/v1/certificates/{code}/pdf``) while the worker renders and emails them too: from
the issue to the last PDF.

The reference, in this process afterwards: for each of ``--count`` certificates a new
``FPDF``, the Latin and Khmer fonts of ``certificates/pdf/fonts.py`` added anew (both
weights, shaping on), one A4 page with the holder's name and a few lines in both languages,
``output()``.

Checks: every download answered 200 with a whole PDF; each certificate's PDF was written
exactly once (inotify on ``<data dir>/certificates``: every ``os.replace`` of a finished PDF
is one render kept); every kept PDF opens with pypdf, one page, its code printed. Exit 1 if
a check failed, 2 if it could not run; the goal (ratio >= 2.5) only shows in the output.

    .venv/bin/python bench/certificates_http.py [--database postgres] [--runs 3]
"""

from __future__ import annotations

import argparse
import ctypes
import io
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _server import (
    ROOT,
    SALA,
    BenchError,
    SalaServer,
    bench_database,
    cpu_snapshot,
    cpu_split,
    run_wrk,
    temp_dir,
)

sys.path.insert(0, str(ROOT))

LUA = Path(__file__).resolve().parent / "certificates_http.lua"
PHNOM_PENH = timezone(timedelta(hours=7))
WRK_THREADS = 2
GOAL = 2.5

# ----------------------------------------------------------------------------- inotify

_IN_MOVED_TO = 0x00000080
_IN_CLOSE_WRITE = 0x00000008


class Writes:
    """Counts, per file name, the finished files moved into a folder (``os.replace``)."""

    def __init__(self, folder: Path) -> None:
        self._libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self._fd = self._libc.inotify_init()
        if self._fd < 0:
            raise BenchError("inotify_init failed")
        if self._libc.inotify_add_watch(self._fd, str(folder).encode(), _IN_MOVED_TO) < 0:
            raise BenchError(f"cannot watch {folder}")
        self.moved: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                return
            offset = 0
            while offset < len(data):
                _wd, _mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode()
                self.moved[name] += 1
                offset += 16 + length

    def close(self) -> None:
        with suppress(OSError):
            os.close(self._fd)


# ----------------------------------------------------------------------------- setup


def seed_session(server: SalaServer, count: int, run: int) -> int:
    """A published session, ``count`` people registered and checked in; its id."""
    from checkin.tickets import issue_token, load_keys

    day = (datetime.now(PHNOM_PENH) + timedelta(hours=1)).replace(microsecond=0)
    session = server.api(
        "POST",
        "/api/v1/sessions",
        {
            "topic": "sogie",
            "title_en": f"Benchmark: certificates {run}",
            "title_km": "វគ្គបណ្តុះបណ្តាល សិទ្ធិមនុស្ស",
            "starts_at": day.isoformat(),
            "ends_at": (day + timedelta(hours=8)).isoformat(),
            "venue": "Phnom Penh",
            "capacity": count,
            "audience": "public",
        },
    )
    session_id = int(session["id"])
    server.api("POST", f"/api/v1/sessions/{session_id}/publish")
    for n in range(count):
        name = f"សុខា Sokha {run}-{n}" if n % 2 else f"Dara Chan {run}-{n}"
        server.api(
            "POST",
            f"/api/v1/sessions/{session_id}/registrations",
            {"chosen_name": name, "email": f"cert-{run}-{n}@example.org", "sector": "student",
             "consent": True, "language": "km" if n % 2 else "en"},
        )  # fmt: skip
    listing = server.api("GET", f"/api/v1/sessions/{session_id}/checkin-list")
    keys = load_keys(server.data_dir)
    scans = [
        {"token": issue_token(keys, ticket_id=t["ticket_id"]), "session_id": session_id,
         "scan_id": uuid.uuid4().hex, "device_id": "bench"}
        for t in listing["tickets"] if t["status"] == "confirmed"
    ]  # fmt: skip
    answers = server.api("POST", "/api/v1/checkins", {"scans": scans})
    checked = sum(a["result"] == "checked_in" for a in answers["results"])
    if checked != count:
        raise BenchError(f"setup: {checked} checked in (want {count})")
    return session_id


# ----------------------------------------------------------------------------- reference


def naive_loop(count: int) -> float:
    """Seconds for ``count`` PDFs made from scratch each (new FPDF, fonts added anew)."""
    from fpdf import FPDF

    from certificates.pdf.fonts import KHMER, LATIN, static_fonts

    fonts = static_fonts().fonts
    started = time.perf_counter()
    for n in range(count):
        pdf = FPDF(orientation="L", unit="mm", format="A4")
        for font in fonts:
            pdf.add_font(font.family, font.style, str(font.path))
        pdf.set_fallback_fonts([KHMER], exact_match=True)
        pdf.set_text_shaping(True)
        pdf.add_page()
        pdf.set_font(LATIN, "B", 30)
        pdf.cell(0, 20, "វិញ្ញាបនបត្រ · Certificate of Completion", align="C", new_x="LMARGIN",
                 new_y="NEXT")  # fmt: skip
        pdf.set_font(LATIN, "", 14)
        pdf.cell(0, 10, "សូមបញ្ជាក់ថា · This is to certify that", align="C", new_x="LMARGIN",
                 new_y="NEXT")  # fmt: skip
        pdf.set_font(LATIN, "B", 28)
        pdf.cell(0, 18, f"សុខា Sokha {n}", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(LATIN, "", 13)
        for line in (
            "បានបញ្ចប់វគ្គបណ្តុះបណ្តាល «វគ្គបណ្តុះបណ្តាល សិទ្ធិមនុស្ស»",
            "has completed the training “Benchmark: certificates”",
            "ថ្ងៃទី ១២ ខែមីនា ឆ្នាំ ២០២៦ · 12 March 2026 · Phnom Penh",
            f"B{n:04d}-M9XW-4TRA",
        ):
            pdf.cell(0, 9, line, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.output()
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- the run


def start_worker(server: SalaServer) -> subprocess.Popen[bytes]:
    log = (server.data_dir / "worker.log").open("wb")
    return subprocess.Popen(
        [str(SALA), "worker"], env=server.env(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def one_run(server: SalaServer, worker_group: int, args: argparse.Namespace, run: int) -> dict:
    session_id = seed_session(server, args.count, run)
    urls = server.data_dir / f"urls-{run}.txt"
    before = cpu_snapshot()
    started = time.perf_counter()
    issued = server.api("POST", f"/api/v1/sessions/{session_id}/certificates")
    urls.write_text("".join(f"/api/v1/certificates/{c['code']}/pdf\n" for c in issued))
    wrk = run_wrk(
        server.base_url,
        LUA,
        env={"SALA_BENCH_URLS": str(urls), "SALA_BENCH_BEARER": server.token,
             "SALA_BENCH_THREADS": str(WRK_THREADS)},
        threads=WRK_THREADS,
        connections=args.connections,
        duration_s=300,
        timeout_s=60,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    after = cpu_snapshot()
    cpu = cpu_split(before, after, server.pid)
    worker_cpu = cpu_split(before, after, worker_group)["sala"]
    cpu["other"] = max(cpu["other"] - worker_cpu, 0.0)
    cpu["sala"] += worker_cpu
    return {"codes": [c["code"] for c in issued], "elapsed": elapsed, "wrk": wrk.result,
            "cpu": cpu}  # fmt: skip


def check_kept(folder: Path, codes: list[str], writes: Writes) -> list[str]:
    import pypdf

    problems = []
    for code in codes:
        files = sorted(folder.glob(f"{code}-*.pdf"))
        moved = sum(n for name, n in writes.moved.items() if name.startswith(f"{code}-"))
        if moved != 1:
            problems.append(f"{code}: written {moved} times (want 1)")
        if len(files) != 1:
            problems.append(f"{code}: {len(files)} kept files")
            continue
        reader = pypdf.PdfReader(io.BytesIO(files[0].read_bytes()))
        if len(reader.pages) != 1 or code not in reader.pages[0].extract_text():
            problems.append(f"{code}: the kept PDF does not read back")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()

    from certificates.pdf.fonts import static_fonts

    static_fonts()  # made once per machine (shared with the server), not timed
    ok = True
    lines = []
    try:
        with (
            bench_database(args.database) as database_url,
            temp_dir("sala-bench-certificates-") as data_dir,
        ):
            folder = data_dir / "certificates"
            folder.mkdir(parents=True)
            writes = Writes(folder)
            with SalaServer(data_dir, database_url=database_url) as server:
                worker = start_worker(server)
                try:
                    time.sleep(2)  # its migrations and first round
                    for run in range(1, args.runs + 1):
                        result = one_run(server, worker.pid, args, run)
                        reference = naive_loop(args.count)
                        time.sleep(3)  # anything the worker would still write, it writes now
                        problems = check_kept(folder, result["codes"], writes)
                        w = result["wrk"]
                        if int(w["valid"]) != args.count or int(w["non2xx"]) or int(w["invalid"]):
                            problems.append(f"downloads: {w}")
                        ratio = reference / result["elapsed"]
                        cpu = result["cpu"]
                        print(
                            f"run {run}: issue + {args.count} downloads {result['elapsed']:.2f} s "
                            f"(p50 {float(w['p50_ms']):.0f} ms, p99 {float(w['p99_ms']):.0f} ms), "
                            f"naive fpdf2 loop {reference:.2f} s, ratio {ratio:.2f}x; "
                            f"CPU s: sala {cpu['sala']:.1f}, wrk {cpu['wrk']:.1f}, "
                            f"postgres {cpu['postgres']:.1f}, other {cpu['other']:.1f}",
                            flush=True,
                        )
                        if cpu["other"] > 0.1 * result["elapsed"] * (os.cpu_count() or 1):
                            print(f"  WARNING: other processes used {cpu['other']:.1f} CPU-s "
                                  "during the run: the machine was busy")  # fmt: skip
                        for problem in problems[:10]:
                            print(f"  FAIL {problem}")
                        ok = ok and not problems
                        lines.append((result["elapsed"], reference, ratio, not problems))
                finally:
                    stop(worker)
            writes.close()
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    ratios = [r for _, _, r, _ in lines]
    print(
        f"SUMMARY database={args.database} certificates={args.count} runs={len(lines)} "
        f"http_s={','.join(f'{e:.2f}' for e, _, _, _ in lines)} "
        f"naive_s={','.join(f'{n:.2f}' for _, n, _, _ in lines)} "
        f"ratio={','.join(f'{r:.2f}' for r in ratios)} "
        f"once={'PASS' if ok else 'FAIL'} goal={'PASS' if min(ratios) >= GOAL else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
