"""The ceiling of ``bench/checkin.py``: a bare Starlette app served like ``sala serve``.

One route that answers a constant JSON object, no middleware, no database: what one uvicorn
worker (uvloop, httptools, no access log) can answer on this machine at all. The route
takes GET (for the start-up probe) and POST (the load); a POST's body is read, not parsed,
so the request costs what receiving it costs.

    .venv/bin/python bench/bare_app.py --port 8765
"""

from __future__ import annotations

import argparse

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


async def constant(request: Request) -> Response:
    await request.body()
    return JSONResponse(ANSWER)


app = Starlette(routes=[Route(PATH, constant, methods=["GET", "POST"])])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=True,
        log_level="info",
    )


if __name__ == "__main__":
    main()
