"""The application, wired in one place: every route, every middleware layer, in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Route

import attendees.api
import attendees.emails
import attendees.retention
import attendees.routes
import certificates.api
import certificates.emails
import certificates.printing
import certificates.routes
import checkin.api
import checkin.routes
import curricula.api
import curricula.emails
import curricula.membership
import curricula.routes
import events.api
import events.routes
import learning.api
import learning.emails
import learning.feedback_routes
import learning.material_routes
import learning.result_routes
import learning.routes
import learning.staff_routes
import reports.api
import reports.downloads
import reports.indicator_routes
import reports.routes
import sala.account_pages
import sala.api
import sala.backup_schedule
import sala.emails
import sala.routes
from attendees.limits import registration_limiters
from attendees.schemas import SCHEMAS as ATTENDEES_SCHEMAS
from certificates.api import SCHEMAS as CERTIFICATE_SCHEMAS
from certificates.limits import name_check_limiters
from checkin.fast_path import CheckinFastPath
from checkin.schemas import SCHEMAS as CHECKIN_SCHEMAS
from curricula.schemas import SCHEMAS as CURRICULA_SCHEMAS
from events.schemas import SCHEMAS as EVENTS_SCHEMAS
from learning.api import SCHEMAS as LEARNING_SCHEMAS
from reports.schemas import SCHEMAS as REPORTS_SCHEMAS
from sala import db
from sala.compression import CompressionMiddleware
from sala.config import Settings, load_settings
from sala.errorlog import keep_words_out_of_server_logs
from sala.errors import SalaError
from sala.fonts import khmer_font
from sala.i18n import LanguageMiddleware
from sala.logins import LOGIN_HOURS, LoginLimits
from sala.mail import Composers
from sala.openapi import build_document
from sala.ratelimit import RateLimiter
from sala.responses import http_error_handler, sala_error_handler, server_error_handler
from sala.security import SecurityHeadersMiddleware
from sala.static_files import static_file
from sala.worker import Background, run_forever

STAFF_LOGIN_HOURS = LOGIN_HOURS  # the cookie lasts as long as the login on the server

# Everything the packages add besides routes, listed here and nowhere else: importing a
# module registers nothing, so no process can forget a composer, a job or a keeper.
MAIL_COMPOSERS: Composers = {
    **sala.emails.COMPOSERS,
    **attendees.emails.COMPOSERS,
    **certificates.emails.COMPOSERS,
    **curricula.emails.COMPOSERS,
    **learning.emails.COMPOSERS,
}
# Each kind of MAIL_COMPOSERS in words (message ids), for the staff outbox.
MAIL_KIND_NAMES: dict[str, str] = {
    **sala.emails.NAMES,
    **attendees.emails.NAMES,
    **certificates.emails.NAMES,
    **curricula.emails.NAMES,
    **learning.emails.NAMES,
}
# People the retention purge must keep (see attendees/retention.py).
RETENTION_KEEPERS: tuple[attendees.retention.Keeper, ...] = (
    curricula.membership.confirmed_members,
)


async def _retention_purge(settings: Settings) -> int:
    return await attendees.retention.hourly_purge(settings, RETENTION_KEEPERS)


BACKGROUND = Background(
    composers=MAIL_COMPOSERS,
    periodic_jobs=(
        attendees.emails.enqueue_due_reminders,
        learning.emails.enqueue_due_feedback_requests,
        certificates.emails.render_issued_certificates,
        certificates.printing.make_pending_prints,
        _retention_purge,
        sala.backup_schedule.daily_backup,
    ),
)


# The route table: every page and API route of every package, in the order tried.
ROUTES: list[BaseRoute] = [
    # First the two busiest paths, registration and check-in: Starlette tries the
    # routes in order, and at the door every route tried is time lost.
    *attendees.api.routes,
    *checkin.api.routes,
    *sala.api.routes,
    *sala.routes.routes,
    *sala.account_pages.routes,
    *events.routes.routes,
    *events.api.routes,
    *attendees.routes.routes,
    *checkin.routes.routes,
    *certificates.routes.routes,
    *certificates.api.routes,
    *curricula.routes.routes,
    *curricula.api.routes,
    *reports.api.routes,
    *reports.downloads.routes,
    *reports.routes.routes,
    *reports.indicator_routes.routes,
    *learning.routes.routes,
    *learning.feedback_routes.routes,
    *learning.material_routes.routes,
    *learning.staff_routes.routes,
    *learning.result_routes.routes,
    *learning.api.routes,
    Route("/static/fonts/noto-sans-khmer.ttf", khmer_font, name="khmer_font"),
    Route("/static/{path:path}", static_file, name="static"),
]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    keep_words_out_of_server_logs()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        context = await db.open_database(settings)
        # What start-up made (modules, routes, catalogs, Tortoise's metadata: ~100,000
        # objects) lives as long as the process. Frozen, the collector's full passes skip it:
        # under load they came every half second and stopped every request for 20-50 ms.
        # Thawed at shutdown: tests start many apps in one process.
        gc.freeze()
        stop = asyncio.Event()
        worker = (
            asyncio.create_task(run_forever(settings, BACKGROUND, stop), name="sala-worker")
            if settings.mail_worker
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await db.close_database(context)
            gc.unfreeze()

    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(SecurityHeadersMiddleware, hsts=settings.https),
            # Bearer-token check-ins past the layers below (see checkin/fast_path.py).
            Middleware(
                CheckinFastPath,
                default_language=settings.default_language,
                secure_cookie=settings.https,
            ),
            Middleware(CompressionMiddleware),
            Middleware(
                LanguageMiddleware,
                default_language=settings.default_language,
                secure_cookie=settings.https,
            ),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="sala_session",
                max_age=STAFF_LOGIN_HOURS * 3600,
                same_site="lax",
                https_only=settings.https,
            ),
        ],
        exception_handlers={
            SalaError: sala_error_handler,
            HTTPException: http_error_handler,
            Exception: server_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.mail_composers = MAIL_COMPOSERS
    app.state.mail_kind_names = MAIL_KIND_NAMES
    app.state.login_limits = LoginLimits.default(enabled=settings.rate_limits)
    # Reset links asked for from one address: each account also gets at most 3 an hour.
    app.state.password_reset_limiter = RateLimiter(
        limit=10, window_seconds=3600, enabled=settings.rate_limits
    )
    app.state.registration_limiters = registration_limiters(enabled=settings.rate_limits)
    app.state.name_check_limiters = name_check_limiters(enabled=settings.rate_limits)
    app.state.openapi = build_document(
        paths={
            **sala.api.openapi_paths,
            **events.api.openapi_paths,
            **attendees.api.openapi_paths,
            **checkin.api.openapi_paths,
            **certificates.api.openapi_paths,
            **curricula.api.openapi_paths,
            **reports.api.openapi_paths,
            **learning.api.openapi_paths,
        },
        schemas={
            **EVENTS_SCHEMAS,
            **ATTENDEES_SCHEMAS,
            **CHECKIN_SCHEMAS,
            **CERTIFICATE_SCHEMAS,
            **CURRICULA_SCHEMAS,
            **REPORTS_SCHEMAS,
            **LEARNING_SCHEMAS,
        },
        base_url=settings.base_url,
    )
    return app
