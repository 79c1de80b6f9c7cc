#!/usr/bin/env python3
"""Benchmark: many people registering for one session at once, and nobody oversold.

Starts a throw-away Sala the way a user does (``sala create-admin``, ``sala create-token``,
``sala serve``) with its own data dir, and for PostgreSQL its own fresh database, creates and
publishes one session with ``--seats`` seats, then lets wrk (``bench/registration.lua``) send
``--registrations`` registrations of distinct people over ``--concurrency`` connections to
``POST /api/v1/sessions/{id}/registrations``. wrk, not a Python client: on two cores a Python
client is slower than the server it measures.

Afterwards it checks, with the admin token, that exactly ``seats`` are confirmed, the rest
waitlisted at positions 1..N without gaps or repeats, in the order the requests got through
(registration id order), that the receipts people got say the same, that ``seats_left`` is 0
and that wrk saw no error. Then, with Sala stopped, the same wrk script drives
``bench/bare_app.py`` (a constant registration-shaped JSON, no middleware, no database,
served the same way with as many workers) for ``--ceiling-requests`` requests: the reference,
measured in the same run. It prints the figures, the ratio and PASS/FAIL against the goals
(>= 500 registrations/s, p99 <= 300 ms, ratio >= 0.10 on SQLite and 0.07 on PostgreSQL,
exact counts, no errors). The exit status is 1 when a count or error check fails, 2 when the
benchmark could not run; missing a speed goal only shows in the output.

Run from the repository root (needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python bench/registration.py                      # SQLite, one process
    .venv/bin/python bench/registration.py --database postgres  # a fresh DB, dropped after
    .venv/bin/python bench/registration.py --database postgres --workers 2

PostgreSQL: ``SALA_BENCH_POSTGRES_URL`` (default
``postgres://sala_test:sala_test@127.0.0.1:5432/postgres``) names a server and a user that may
create databases.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _server import (
    BenchError,
    SalaServer,
    ServedApp,
    WrkRun,
    bench_database,
    cpu_snapshot,
    cpu_split,
    run_wrk,
    temp_dir,
)

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "registration.lua"
BARE_APP = HERE / "bare_app.py"
WRK_THREADS = 2
GOAL_RPS = 500.0
GOAL_P99_MS = 300.0
# Registrations/s against bare Starlette answering the same POSTs (issue 17).
GOAL_RATIO = {"sqlite": 0.10, "postgres": 0.07}
PHNOM_PENH = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Receipt:
    """What one POST answered, as the Lua script wrote it down."""

    registration_id: int | None
    status: str
    waitlist_position: int | None
    http_status: int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="sala serve --workers")
    parser.add_argument("--registrations", type=int, default=2000, help="in all")
    parser.add_argument("--concurrency", type=int, default=100, help="wrk connections")
    parser.add_argument("--seats", type=int, default=100, help="the session's capacity")
    parser.add_argument(
        "--duration", type=int, default=60, help="upper bound of the wrk run, seconds"
    )
    parser.add_argument(
        "--ceiling-requests",
        type=int,
        default=40_000,
        help="POSTs sent to the bare app, the reference (40000)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1 or args.seats < 1:
        parser.error("--workers and --seats must be at least 1")
    if args.registrations < WRK_THREADS or args.concurrency < WRK_THREADS:
        parser.error(f"--registrations and --concurrency must be at least {WRK_THREADS}")
    return args


def create_session(server: SalaServer, seats: int) -> int:
    day = (datetime.now(PHNOM_PENH) + timedelta(days=30)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    session = server.api(
        "POST",
        "/api/v1/sessions",
        {
            "topic": "sogie",
            "title_en": "Benchmark: registration rush",
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


def read_receipts(path: Path) -> list[Receipt]:
    def number(text: str) -> int | None:
        return int(text) if text.isdigit() else None

    receipts: list[Receipt] = []
    if not path.exists():
        return receipts
    for line in path.read_text().splitlines():
        registration_id, status, position, http_status = line.split()
        receipts.append(
            Receipt(number(registration_id), status, number(position), int(http_status))
        )
    return receipts


def check_counts(
    args: argparse.Namespace,
    registrations: list[dict[str, Any]],
    session: dict[str, Any],
    receipts: list[Receipt],
    wrk: WrkRun,
) -> list[Check]:
    total, seats = args.registrations, args.seats
    want_confirmed = min(seats, total)
    want_waitlisted = total - want_confirmed
    confirmed = [r for r in registrations if r["status"] == "confirmed"]
    waitlisted = sorted(
        (r for r in registrations if r["status"] == "waitlisted"),
        key=lambda r: r["waitlist_position"] or 0,
    )
    others = [r for r in registrations if r["status"] not in ("confirmed", "waitlisted")]
    positions = [r["waitlist_position"] for r in waitlisted]
    waitlisted_ids = [r["id"] for r in waitlisted]
    confirmed_ids = [r["id"] for r in confirmed]
    result = wrk.result
    socket_errors = {k: int(result[k]) for k in ("connect", "read", "write", "timeout")}

    checks = [
        Check(
            "registrations stored",
            len(registrations) == total and not others,
            f"{len(registrations)} (want {total}), other statuses: {len(others)}",
        ),
        Check(
            "confirmed",
            len(confirmed) == want_confirmed,
            f"{len(confirmed)} (want {want_confirmed})",
        ),
        Check(
            "waitlisted",
            len(waitlisted) == want_waitlisted,
            f"{len(waitlisted)} (want {want_waitlisted})",
        ),
        Check(
            "waitlist positions 1..N",
            positions == list(range(1, len(waitlisted) + 1)),
            _describe_positions(positions),
        ),
        Check(
            "waitlist in id order",
            waitlisted_ids == sorted(waitlisted_ids)
            and len(set(waitlisted_ids)) == len(waitlisted),
            "earlier registration waits in front"
            if waitlisted_ids == sorted(waitlisted_ids)
            else _describe_disorder(waitlisted_ids),
        ),
        Check(
            "seats went first-come",
            not confirmed_ids or not waitlisted_ids or max(confirmed_ids) < min(waitlisted_ids),
            f"last confirmed id {max(confirmed_ids, default=None)}, "
            f"first waitlisted id {min(waitlisted_ids, default=None)}",
        ),
        Check(
            "seats_left",
            session["seats_left"] == seats - want_confirmed and session["capacity"] == seats,
            f"{session['seats_left']} of {session['capacity']} "
            f"(want {seats - want_confirmed} of {seats})",
        ),
        Check(
            "wrk answers",
            int(result["requests"]) == total and int(result["created"]) == total,
            f"{result['requests']} answered, {result['created']} created (201), "
            f"{result['sent']} sent (want {total})",
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
    checks.append(_check_receipts(receipts, confirmed, waitlisted, want_confirmed))
    return checks


def _check_receipts(
    receipts: list[Receipt],
    confirmed: list[dict[str, Any]],
    waitlisted: list[dict[str, Any]],
    want_confirmed: int,
) -> Check:
    """The answers people got must agree with the list: the same ids and statuses, and the
    waitlist position each was told is the one they hold (nobody cancelled meanwhile)."""
    told = {r.registration_id: r for r in receipts if r.registration_id is not None}
    stored = {r["id"]: r for r in [*confirmed, *waitlisted]}
    problems = []
    if len(told) != len(receipts):
        problems.append(f"{len(receipts) - len(told)} answers without an id or with a repeat id")
    if set(told) != set(stored):
        problems.append(f"{len(set(told) ^ set(stored))} ids differ from the list")
    told_confirmed = sum(1 for r in receipts if r.status == "confirmed")
    if told_confirmed != want_confirmed:
        problems.append(f"{told_confirmed} were told 'confirmed' (want {want_confirmed})")
    wrong = [
        rid
        for rid, r in told.items()
        if rid in stored
        and (
            r.status != stored[rid]["status"]
            or r.waitlist_position != stored[rid]["waitlist_position"]
        )
    ]
    if wrong:
        example = told[wrong[0]]
        problems.append(
            f"{len(wrong)} were told another status or position than they hold, e.g. id "
            f"{wrong[0]} told {example.status} {example.waitlist_position}, holds "
            f"{stored[wrong[0]]['status']} {stored[wrong[0]]['waitlist_position']}"
        )
    told_positions = [r.waitlist_position for r in receipts if r.waitlist_position is not None]
    repeats = len(told_positions) - len(set(told_positions))
    if repeats:
        problems.append(f"{repeats} waitlist positions were told to more than one person")
    return Check(
        "receipts agree", not problems, "; ".join(problems) or f"{len(receipts)} answers checked"
    )


def _describe_positions(positions: list[int | None]) -> str:
    if not positions:
        return "no waitlist"
    numbers = [p for p in positions if p is not None]
    repeats = len(numbers) - len(set(numbers))
    missing = len(set(range(1, len(positions) + 1)) - set(numbers))
    return f"{min(numbers, default=0)}..{max(numbers, default=0)}, repeats {repeats}, " + (
        f"gaps {missing}, without a position {len(positions) - len(numbers)}"
    )


def _describe_disorder(ids: list[int]) -> str:
    """How far the waitlist (ids in position order) is from registration order."""
    behind = [index for index in range(1, len(ids)) if ids[index] < ids[index - 1]]
    in_order = sorted(ids)
    displaced = sum(1 for rid, want in zip(ids, in_order, strict=True) if rid != want)
    return (
        f"{displaced} of {len(ids)} not at their id-order position, {len(behind)} ahead of "
        f"an earlier id; first at position {behind[0] + 1}: ids {ids[behind[0] - 1]} then "
        f"{ids[behind[0]]}"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _busy(cpu: dict[str, float], window: float) -> bool:
    return cpu["other"] > 0.1 * window * (os.cpu_count() or 1)


def report(
    args: argparse.Namespace,
    wrk: WrkRun,
    checks: list[Check],
    cpu: dict[str, float],
    bare: WrkRun,
    bare_cpu: dict[str, float],
) -> bool:
    result = wrk.result
    rps, p50, p99 = float(result["rps"]), float(result["p50_ms"]), float(result["p99_ms"])
    bare_rps, bare_p99 = float(bare.result["rps"]), float(bare.result["p99_ms"])
    ratio = rps / bare_rps if bare_rps else 0.0
    goal_ratio = GOAL_RATIO[args.database]
    errors = sum(int(result[k]) for k in ("non2xx", "connect", "read", "write", "timeout"))
    print()
    print(
        f"Sala registration benchmark: {args.database}, {args.workers} worker(s), "
        f"{args.registrations} registrations over {args.concurrency} connections, "
        f"{args.seats} seats"
    )
    print(f"  registrations/s  {rps:8.1f}   goal >= {GOAL_RPS:.0f}: {verdict(rps >= GOAL_RPS)}")
    print(f"  latency p50      {p50:8.1f} ms")
    p99_verdict = verdict(p99 <= GOAL_P99_MS)
    print(f"  latency p99      {p99:8.1f} ms  goal <= {GOAL_P99_MS:.0f}: {p99_verdict}")
    print(f"  latency max      {float(result['max_ms']):8.1f} ms")
    print(f"  confirmed        {result['confirmed']:>8} (told at registration)")
    print(f"  waitlisted       {result['waitlisted']:>8} (told at registration)")
    print(f"  errors           {errors:8d}")
    print(f"  load window      {float(result['window_s']):8.2f} s")
    print(
        f"  bare Starlette   {bare_rps:8.1f} /s, p99 {bare_p99:.1f} ms, "
        f"{bare.result['requests']} answers, {args.workers} worker(s)"
    )
    ratio_verdict = verdict(ratio >= goal_ratio)
    print(f"  ratio            {ratio:8.3f}   goal >= {goal_ratio:.2f}: {ratio_verdict}")
    per_registration = ", ".join(
        f"{name} {1000 * seconds / args.registrations:.1f}" for name, seconds in cpu.items()
    )
    print(f"  CPU ms/registr.  {per_registration}")
    window = float(result["window_s"])
    if _busy(cpu, window):
        print(
            f"  WARNING: other processes used {cpu['other']:.1f} CPU-seconds during the "
            f"{window:.1f} s of load: the machine was busy, the speed figures are low"
        )
    bare_window = float(bare.result["window_s"])
    if _busy(bare_cpu, bare_window):
        print(
            f"  WARNING (bare): other processes used {bare_cpu['other']:.1f} CPU-seconds "
            f"during its {bare_window:.1f} s: the reference is low, the ratio high"
        )
    bare_errors = sum(
        int(bare.result[k]) for k in ("non2xx", "connect", "read", "write", "timeout")
    )
    checks.append(
        Check(
            "reference errors",
            bare_errors == 0 and int(bare.result["requests"]) == args.ceiling_requests,
            f"{bare.result['requests']} answered (want {args.ceiling_requests}), "
            f"{bare_errors} errors",
        )
    )
    print("  checks:")
    for check in checks:
        print(f"    {verdict(check.ok)}  {check.name}: {check.detail}")
    counts_ok = all(check.ok for check in checks)
    speed_ok = rps >= GOAL_RPS and p99 <= GOAL_P99_MS
    ratio_ok = ratio >= goal_ratio
    print(f"COUNTS {verdict(counts_ok)}  SPEED {verdict(speed_ok)}  RATIO {verdict(ratio_ok)}")
    print(
        f"SUMMARY database={args.database} workers={args.workers} rps={rps:.1f} "
        f"p50_ms={p50:.1f} p99_ms={p99:.1f} bare_rps={bare_rps:.1f} ratio={ratio:.3f} "
        f"confirmed={result['confirmed']} waitlisted={result['waitlisted']} errors={errors} "
        f"counts={verdict(counts_ok)} speed={verdict(speed_ok)} ratio_goal={verdict(ratio_ok)}"
    )
    return counts_ok


def run(args: argparse.Namespace) -> bool:
    with temp_dir("sala-bench-") as tmp:
        measured = run_sala(args, tmp)
        bare, bare_cpu = run_bare(args, tmp)
        return report(args, *measured, bare, bare_cpu)


def run_bare(args: argparse.Namespace, tmp: Path) -> tuple[WrkRun, dict[str, float]]:
    """The reference: the same wrk script against bare Starlette, Sala stopped."""
    print(f"reference: bare Starlette, {args.ceiling_requests} POSTs…", flush=True)
    command = [sys.executable, str(BARE_APP), "--port", "{port}", "--workers", str(args.workers)]
    with ServedApp(
        command, tmp / "bare.log", health_path="/api/v1/sessions/1/registrations"
    ) as bare:
        before = cpu_snapshot()
        wrk = run_wrk(
            bare.base_url,
            LUA_SCRIPT,
            env={
                "SALA_BENCH_SESSION": "1",
                "SALA_BENCH_TOTAL": str(args.ceiling_requests),
                "SALA_BENCH_THREADS": str(WRK_THREADS),
                "SALA_BENCH_RECEIPTS": "",
            },
            threads=WRK_THREADS,
            connections=args.concurrency,
            duration_s=args.duration,
        )
        cpu = cpu_split(before, cpu_snapshot(), bare.pid)
    print("\n".join("  | " + line for line in wrk.output.rstrip().splitlines()))
    return wrk, cpu


def run_sala(args: argparse.Namespace, tmp: Path) -> tuple[WrkRun, list[Check], dict[str, float]]:
    with (
        bench_database(args.database) as database_url,
        SalaServer(tmp / "data", database_url=database_url, workers=args.workers) as server,
    ):
        session_id = create_session(server, args.seats)
        print(
            f"Sala at {server.base_url} ({args.database}, {args.workers} worker(s)), "
            f"session {session_id} with {args.seats} seats; wrk is sending "
            f"{args.registrations} registrations over {args.concurrency} connections…",
            flush=True,
        )
        receipts_path = tmp / "receipts.txt"
        before = cpu_snapshot()
        wrk = run_wrk(
            server.base_url,
            LUA_SCRIPT,
            env={
                "SALA_BENCH_SESSION": str(session_id),
                "SALA_BENCH_TOTAL": str(args.registrations),
                "SALA_BENCH_THREADS": str(WRK_THREADS),
                "SALA_BENCH_RECEIPTS": str(receipts_path),
            },
            threads=WRK_THREADS,
            connections=args.concurrency,
            duration_s=args.duration,
        )
        cpu = cpu_split(before, cpu_snapshot(), server.pid)
        print("\n".join("  | " + line for line in wrk.output.rstrip().splitlines()))
        registrations = server.api("GET", f"/api/v1/sessions/{session_id}/registrations")
        session = server.api("GET", f"/api/v1/sessions/{session_id}")
        checks = check_counts(args, registrations, session, read_receipts(receipts_path), wrk)
        return wrk, checks, cpu


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return 0 if run(args) else 1
    except BenchError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the server, its data and its database are gone", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
