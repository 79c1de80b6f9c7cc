"""The ceiling of ``bench/checkin.py`` and ``bench/registration.py``: a bare Starlette app
served like ``sala serve``.

Two routes that answer a constant JSON object, no middleware, no database: what uvicorn
(uvloop, httptools, no access log; one worker, or ``--workers``) can answer on this machine at
all. ``/api/v1/checkins`` answers a scan's shape, ``/api/v1/sessions/{id}/registrations`` a
registration's (201). Each takes GET (for the start-up probe, 200) and POST (the load); a
POST's body is read, not parsed, so the request costs what receiving it costs.

    .venv/bin/python bench/bare_app.py --port 8765
    .venv/bin/python bench/bare_app.py --port 8765 --workers 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATH = "/api/v1/checkins"
ANSWER = {
    "scan_id": "bare",
    "result": "checked_in",
    "registration_id": 1,
    "chosen_name": "Bench",
    "checked_in_at": "2025-01-01T00:00:00+00:00",
    "checked_in_by": "Bench",
}


REGISTRATION_PATH = "/api/v1/sessions/{session_id:int}/registrations"
REGISTRATION_ANSWER = {
    "id": 1,
    "status": "confirmed",
    "waitlist_position": None,
    "manage_url": "http://127.0.0.1/registrations/bench",
    "created": True,
}


async def constant(request: Request) -> Response:
    await request.body()
    return JSONResponse(ANSWER)


async def registration(request: Request) -> Response:
    await request.body()
    return JSONResponse(REGISTRATION_ANSWER, status_code=201 if request.method == "POST" else 200)


app = Starlette(
    routes=[
        Route(PATH, constant, methods=["GET", "POST"]),
        Route(REGISTRATION_PATH, registration, methods=["GET", "POST"]),
    ]
)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        # By import string: uvicorn starts several workers only from one.
        "bare_app:app" if args.workers > 1 else app,
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=True,
        log_level="info",
    )


if __name__ == "__main__":
    main()
