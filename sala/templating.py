"""The Jinja2 environment shared by every package: i18n, formatting filters, CSRF."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from sala import i18n
from sala.compression import compressible_cache
from sala.config import TEMPLATES_DIR
from sala.csrf import CSRF_FIELD, csrf_token
from sala.rich_text import render_markdown
from sala.static_files import icon_data_url, inline_stylesheet, static_path


def _local(value: datetime, tz: str | ZoneInfo) -> datetime:
    return value.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)


def build_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # HTML is escaped; plain-text emails (.txt) are not, or a name with "&" would read "&amp;".
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml"), default_for_string=True, default=False
        ),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters.update(
        datetime=lambda v, tz, fmt="medium": i18n.format_datetime(v, _zone(tz), fmt=fmt),
        date=lambda v, tz, fmt="full": i18n.format_date(v, fmt=fmt, tz=_zone(tz)),
        time=lambda v, tz: i18n.format_time(v, _zone(tz)),
        number=i18n.format_number,
        month=i18n.format_month,
        markdown=render_markdown,
        local=_local,
    )
    env.globals.update(
        current_language=i18n.current_language.get,
        language_names=i18n.LANGUAGE_NAMES,
        pick=i18n.pick,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token,
        static_path=static_path,
        inline_stylesheet=inline_stylesheet,
        icon_data_url=icon_data_url,
    )
    return env


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


templates = Jinja2Templates(env=build_environment())


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    context = dict(context or {})
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("settings", request.app.state.settings)
    # Compressed pages carry the stylesheet inside; the others link it (inline_stylesheet).
    context.setdefault(
        "inline_styles",
        context["user"] is None and compressible_cache((headers or {}).get("cache-control", "")),
    )
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )
    if context["user"] is not None:
        response.headers["cache-control"] = "no-store"
    return response
