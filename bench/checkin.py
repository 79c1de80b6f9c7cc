"""Check-in benchmark: ``POST /api/v1/checkins`` against the ceiling of a bare Starlette app.

Starts a throw-away Sala as a user would (``sala create-admin``, ``sala create-token``,
``sala serve --no-worker``: SQLite in WAL mode, one uvicorn worker with uvloop and
httptools), publishes one session of ``--registrations`` seats and fills it through the
public registration API (wrk with ``bench/registration.lua``; setup, not measured). It then
mints every registration's ticket token with the installation's own key
(``<data dir>/ticket_keys``, seeds from ``GET /api/v1/sessions/{id}/checkin-list``) and lets
wrk (``bench/checkin.lua``) post one single scan per ticket over ``--concurrency``
connections with the admin's bearer token, every scan a distinct ``scan_id``.

Afterwards it checks that every registration is checked in, that every answer said
``checked_in`` and that wrk saw no error. Then, with Sala stopped, the same wrk script drives
``bench/bare_app.py`` (one Starlette route answering a constant JSON, served the same way)
for ``--ceiling-seconds``: the ceiling. It prints both figures, the ratio and PASS/FAIL
against the goals (check-ins/s >= 50 % of the ceiling, issue 17's goal, 20 % before it;
p99 <= 25 ms). The exit status is 1 when a count or error check fails, 2 when the benchmark
could not run; missing a speed goal only shows in the output.

Run from the repository root (needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python bench/checkin.py
    .venv/bin/python bench/checkin.py --profile /tmp/checkin.txt   # py-spy during the load
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _server import (
    ROOT,
    VENV_BIN,
    BenchError,
    SalaServer,
    ServedApp,
    WrkRun,
    cpu_snapshot,
    cpu_split,
    run_wrk,
    temp_dir,
)

HERE = Path(__file__).resolve().parent
CHECKIN_LUA = HERE / "checkin.lua"
REGISTRATION_LUA = HERE / "registration.lua"
BARE_APP = HERE / "bare_app.py"
WRK_THREADS = 2
GOAL_RATIO = 0.50
GOAL_P99_MS = 25.0
PHNOM_PENH = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Load:
    """One wrk run and the CPU seconds spent meanwhile."""

    wrk: WrkRun
    cpu: dict[str, float]

    def figure(self, name: str) -> float:
        return float(self.wrk.result[name])

    @property
    def requests(self) -> int:
        return int(self.wrk.result["requests"])

    @property
    def errors(self) -> int:
        return sum(
            int(self.wrk.result[key]) for key in ("non2xx", "connect", "read", "write", "timeout")
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--registrations", type=int, default=10_000, help="confirmed people = scans (10000)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="wrk connections (50)")
    parser.add_argument(
        "--ceiling-seconds", type=int, default=10, help="length of the bare-app run (10)"
    )
    parser.add_argument(
        "--duration", type=int, default=120, help="upper bound of each counted wrk run, seconds"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server with py-spy (raw, all threads) during the check-in load "
        "into this file; the figures of such a run are lower than without",
    )
    args = parser.parse_args(argv)
    if not 2 <= args.registrations <= 10_000:
        parser.error("--registrations must be 2..10000 (a session's largest capacity)")
    if args.concurrency < WRK_THREADS:
        parser.error(f"--concurrency must be at least {WRK_THREADS}")
    return args


# ----------------------------------------------------------------------------- setup


def create_session(server: SalaServer, seats: int) -> int:
    day = (datetime.now(PHNOM_PENH) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    session = server.api(
        "POST",
        "/api/v1/sessions",
        {
            "topic": "sogie",
            "title_en": "Benchmark: check-in at the door",
            "starts_at": day.isoformat(),
            "ends_at": (day + timedelta(hours=3)).isoformat(),
            "venue": "Bench hall",
            "capacity": seats,
            "audience": "public",
        },
    )
    session_id = int(session["id"])
    server.api("POST", f"/api/v1/sessions/{session_id}/publish")
    return session_id


def register_everyone(server: SalaServer, session_id: int, total: int, duration: int) -> None:
    """``total`` people through the public API, as in bench/registration.py (not measured)."""
    wrk = run_wrk(
        server.base_url,
        REGISTRATION_LUA,
        env={
            "SALA_BENCH_SESSION": str(session_id),
            "SALA_BENCH_TOTAL": str(total),
            "SALA_BENCH_THREADS": str(WRK_THREADS),
            "SALA_BENCH_RECEIPTS": "",
        },
        threads=WRK_THREADS,
        connections=50,
        duration_s=max(duration, 300),
    )
    result = wrk.result
    if int(result["created"]) != total or int(result["confirmed"]) != total:
        raise BenchError(
            f"setup: {result['created']} registrations created, {result['confirmed']} "
            f"confirmed (want {total} each):\n{wrk.output}"
        )
    print(f"  {total} people registered at {float(result['rps']):.0f}/s (setup)", flush=True)


def write_tokens(server: SalaServer, session_id: int, total: int, path: Path) -> int:
    """Mint every confirmed registration's ticket with the installation's key; returns how
    many. The app's own ``checkin.tickets`` makes them, as the ticket page would."""
    sys.path.insert(0, str(ROOT))
    from checkin.tickets import TicketClaims, issue_token, load_keys, verify_token

    listing = server.api("GET", f"/api/v1/sessions/{session_id}/checkin-list")
    tickets = [t for t in listing["tickets"] if t["status"] == "confirmed"]
    if len(tickets) != total:
        raise BenchError(f"the check-in list has {len(tickets)} confirmed tickets (want {total})")
    keys = load_keys(server.data_dir)  # after the server made them, for the check-in list
    ordered = sorted(tickets, key=lambda t: t["registration_id"])
    tokens = [issue_token(keys, ticket_id=t["ticket_id"]) for t in ordered]
    claims = verify_token(keys, tokens[0])
    if not isinstance(claims, TicketClaims) or claims.ticket_id != ordered[0]["ticket_id"]:
        raise BenchError("a freshly minted ticket does not verify")
    if any("\n" in token or "\r" in token for token in tokens):
        raise BenchError("a ticket token contains a line break")
    path.write_text("\n".join(tokens) + "\n")
    return len(tokens)


# ----------------------------------------------------------------------------- load


def checkin_env(tokens: Path, session_id: int, bearer: str, total: int) -> dict[str, str]:
    return {
        "SALA_BENCH_TOKENS": str(tokens),
        "SALA_BENCH_SESSION": str(session_id),
        "SALA_BENCH_BEARER": bearer,
        "SALA_BENCH_TOTAL": str(total),
        "SALA_BENCH_THREADS": str(WRK_THREADS),
    }


def py_spy() -> str:
    for candidate in (os.environ.get("PY_SPY"), shutil.which("py-spy"), str(VENV_BIN / "py-spy")):
        if candidate and Path(candidate).exists():
            return candidate
    raise BenchError("--profile needs py-spy: set PY_SPY or put it on PATH")


def load(
    base_url: str, env: dict[str, str], *, server_pid: int, duration: int, connections: int
) -> Load:
    before = cpu_snapshot()
    wrk = run_wrk(
        base_url,
        CHECKIN_LUA,
        env=env,
        threads=WRK_THREADS,
        connections=connections,
        duration_s=duration,
    )
    return Load(wrk, cpu_split(before, cpu_snapshot(), server_pid))


def checkin_load(
    args: argparse.Namespace, server: SalaServer, env: dict[str, str], profile_dir: Path
) -> Load:
    if args.profile is None:
        return load(
            server.base_url,
            env,
            server_pid=server.pid,
            duration=args.duration,
            connections=args.concurrency,
        )
    command = [py_spy(), "record", "-p", str(server.pid), "-r", "200", "-f", "raw"]
    command += ["-o", str(args.profile.resolve())]
    with (profile_dir / "py-spy.log").open("wb") as log:
        recorder = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            return load(
                server.base_url,
                env,
                server_pid=server.pid,
                duration=args.duration,
                connections=args.concurrency,
            )
        finally:
            recorder.send_signal(2)  # SIGINT: py-spy writes its file and exits
            recorder.wait(timeout=60)


# ----------------------------------------------------------------------------- checks


def check_checkins(
    args: argparse.Namespace,
    checkin: Load,
    registrations: list[dict[str, Any]],
    listing: dict[str, Any],
) -> list[Check]:
    total = args.registrations
    result = checkin.wrk.result
    checked_in = [r for r in registrations if r["checked_in_at"] is not None]
    statuses = {r["status"] for r in registrations}
    socket_errors = {k: int(result[k]) for k in ("connect", "read", "write", "timeout")}
    return [
        Check(
            "registrations",
            len(registrations) == total and statuses == {"confirmed"},
            f"{len(registrations)} (want {total}), statuses {sorted(statuses)}",
        ),
        Check(
            "checked in",
            len(checked_in) == total,
            f"{len(checked_in)} with checked_in_at (want {total})",
        ),
        Check(
            "check-in list count",
            listing["counts"]["checked_in"] == total,
            f"{listing['counts']['checked_in']} (want {total})",
        ),
        Check(
            "answers",
            int(result["requests"]) == total
            and int(result["checked_in"]) == total
            and int(result["other_result"]) == 0,
            f"{result['requests']} answered, {result['checked_in']} 'checked_in', "
            f"{result['other_result']} other (sent {result['sent']}, want {total})",
        ),
        Check(
            "wrk errors",
            int(result["non2xx"]) == 0
            and int(result["status"]) == 0
            and not any(socket_errors.values()),
            f"non-2xx {result['non2xx']}, "
            + ", ".join(f"{name} {count}" for name, count in socket_errors.items()),
        ),
    ]


def check_ceiling(ceiling: Load) -> Check:
    result = ceiling.wrk.result
    return Check(
        "ceiling errors",
        ceiling.errors == 0 and int(result["other_result"]) == 0 and ceiling.requests > 0,
        f"{ceiling.requests} answered, {ceiling.errors} errors, "
        f"{result['other_result']} unexpected bodies",
    )


# ----------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _cpu_line(run: Load) -> str:
    """CPU milliseconds per answer: the server under load (Sala or the bare app), wrk, and
    everything else on the machine."""
    names = {"sala": "server", "wrk": "wrk", "other": "other"}  # no PostgreSQL here
    per = ", ".join(
        f"{label} {1000 * run.cpu[name] / max(run.requests, 1):.2f}"
        for name, label in names.items()
    )
    return f"CPU ms/request   {per}"


def _busy_warning(run: Load, label: str) -> str | None:
    window = run.figure("window_s")
    if run.cpu["other"] > 0.1 * window * (os.cpu_count() or 1):
        return (
            f"  WARNING ({label}): other processes used {run.cpu['other']:.1f} CPU-seconds "
            f"during the {window:.1f} s of load: the machine was busy, the figures are low"
        )
    return None


def report(args: argparse.Namespace, checkin: Load, ceiling: Load, checks: list[Check]) -> bool:
    rps, p50, p99 = (checkin.figure(k) for k in ("rps", "p50_ms", "p99_ms"))
    bare_rps, bare_p50, bare_p99 = (ceiling.figure(k) for k in ("rps", "p50_ms", "p99_ms"))
    ratio = rps / bare_rps if bare_rps else 0.0
    ratio_ok = ratio >= GOAL_RATIO
    p99_ok = p99 <= GOAL_P99_MS
    counts_ok = all(check.ok for check in checks)
    print()
    print(
        f"Sala check-in benchmark: SQLite (WAL), 1 worker, {args.registrations} single scans "
        f"over {args.concurrency} connections; ceiling: bare Starlette, same serving, "
        f"{args.ceiling_seconds} s"
    )
    print("                    check-in       bare")
    print(f"  requests/s     {rps:11.1f} {bare_rps:10.1f}")
    print(f"  latency p50    {p50:8.2f} ms {bare_p50:7.2f} ms")
    print(f"  latency p99    {p99:8.2f} ms {bare_p99:7.2f} ms")
    print(f"  latency max    {checkin.figure('max_ms'):8.2f} ms {ceiling.figure('max_ms'):7.2f} ms")
    print(f"  requests       {checkin.requests:11d} {ceiling.requests:10d}")
    print(f"  errors         {checkin.errors:11d} {ceiling.errors:10d}")
    print(
        f"  load window    {checkin.figure('window_s'):9.2f} s {ceiling.figure('window_s'):8.2f} s"
    )
    print(f"  check-in {_cpu_line(checkin)}")
    print(f"  bare     {_cpu_line(ceiling)}")
    for warning in (_busy_warning(checkin, "check-in"), _busy_warning(ceiling, "bare")):
        if warning:
            print(warning)
    if args.profile is not None:
        print(f"  NOTE: py-spy recorded the check-in load ({args.profile}): its figures are low")
    print(
        f"  ratio          {100 * ratio:10.1f} %   goal >= {100 * GOAL_RATIO:.0f} %: "
        f"{verdict(ratio_ok)}"
    )
    print(f"  check-in p99   {p99:8.2f} ms   goal <= {GOAL_P99_MS:.0f} ms: {verdict(p99_ok)}")
    print("  checks:")
    for check in checks:
        print(f"    {verdict(check.ok)}  {check.name}: {check.detail}")
    print(f"COUNTS {verdict(counts_ok)}  THROUGHPUT {verdict(ratio_ok)}  P99 {verdict(p99_ok)}")
    print(
        f"SUMMARY scans={args.registrations} connections={args.concurrency} "
        f"rps={rps:.1f} p50_ms={p50:.2f} p99_ms={p99:.2f} bare_rps={bare_rps:.1f} "
        f"bare_p50_ms={bare_p50:.2f} bare_p99_ms={bare_p99:.2f} ratio={ratio:.3f} "
        f"errors={checkin.errors} counts={verdict(counts_ok)} throughput={verdict(ratio_ok)} "
        f"p99={verdict(p99_ok)}"
    )
    return counts_ok


# ----------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> bool:
    total = args.registrations
    with temp_dir("sala-bench-") as tmp:
        tokens_path = tmp / "tokens.txt"
        with SalaServer(tmp / "data") as server:
            session_id = create_session(server, total)
            print(
                f"Sala at {server.base_url} (SQLite, 1 worker), session {session_id} with "
                f"{total} seats; registering {total} people…",
                flush=True,
            )
            register_everyone(server, session_id, total, args.duration)
            write_tokens(server, session_id, total, tokens_path)
            print(
                f"  {total} tickets minted; wrk is sending {total} check-ins over "
                f"{args.concurrency} connections…",
                flush=True,
            )
            checkin = checkin_load(
                args, server, checkin_env(tokens_path, session_id, server.token, total), tmp
            )
            print("\n".join("  | " + line for line in checkin.wrk.output.rstrip().splitlines()))
            registrations = server.api("GET", f"/api/v1/sessions/{session_id}/registrations")
            listing = server.api("GET", f"/api/v1/sessions/{session_id}/checkin-list")
            checks = check_checkins(args, checkin, registrations, listing)
        print(f"ceiling: bare Starlette for {args.ceiling_seconds} s…", flush=True)
        bare_command = [sys.executable, str(BARE_APP), "--port", "{port}"]
        with ServedApp(bare_command, tmp / "bare.log", health_path="/api/v1/checkins") as bare:
            ceiling = load(
                bare.base_url,
                checkin_env(tokens_path, session_id, "bench", 0),
                server_pid=bare.pid,
                duration=args.ceiling_seconds,
                connections=args.concurrency,
            )
        print("\n".join("  | " + line for line in ceiling.wrk.output.rstrip().splitlines()))
        checks.append(check_ceiling(ceiling))
        return report(args, checkin, ceiling, checks)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return 0 if run(args) else 1
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the servers and their data are gone", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
