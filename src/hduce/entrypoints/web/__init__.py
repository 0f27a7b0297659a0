"""The web console: server-rendered pages (Jinja through Litestar) with htmx, at ``/``.

Mounted by ``entrypoints.asgi`` beside the JSON API (``/api/v1`` is untouched)::

    create_app(..., root_route_handlers=[..., *web.route_handlers()],
               template_config=web.template_config())

See docs/console.md for how pages are built, translated and tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from dishka.integrations.litestar import DishkaRouter
from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from hduce.application.identity.two_factor.challenge import ENROL_FIRST
from hduce.domain.errors import AuthenticationFailed, DomainError
from hduce.domain.second_factor import SecondFactorEnrolmentRequired
from hduce.entrypoints.http.auth.cookies import CSRF_COOKIE
from hduce.entrypoints.http.auth.security import CsrfFailed
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.account import AccountPages
from hduce.entrypoints.web.admin import AdminPages
from hduce.entrypoints.web.admin_edit import AdminEditPages
from hduce.entrypoints.web.calendar import CalendarPages
from hduce.entrypoints.web.clinic import DoctorPages, PatientPages
from hduce.entrypoints.web.forms import FormRefused, refused_page
from hduce.entrypoints.web.hours import HoursPages
from hduce.entrypoints.web.inbox import InboxPages
from hduce.entrypoints.web.institutions import InstitutionPages
from hduce.entrypoints.web.patients import PatientSearchPages
from hduce.entrypoints.web.reports import ReportPages
from hduce.entrypoints.web.security_pages import AccountLinkPages, SecurityPages
from hduce.entrypoints.web.series import SeriesPages
from hduce.entrypoints.web.views import (
    PAGE_HEADERS,
    Viewer,
    go,
    render,
    sign_in_url,
    translator,
)
from hduce.entrypoints.web.visit_types import VisitTypePages
from hduce.entrypoints.web.waitlist import WaitlistPages
from hduce.entrypoints.web.walk_ins import SetPasswordPages, WalkInPages

WEB_DIR: Final = Path(__file__).parent
STATIC_PATH: Final = "/static"

__all__ = ["route_handlers", "template_config"]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine)


def route_handlers() -> list[ControllerRouterHandler]:
    pages = DishkaRouter(
        "/",
        route_handlers=[
            AccountPages,
            PatientPages,
            DoctorPages,
            HoursPages,
            AdminPages,
            VisitTypePages,
            WaitlistPages,
            SeriesPages,
            PatientSearchPages,
            ReportPages,
            AccountLinkPages,
            SecurityPages,
            CalendarPages,
            InboxPages,
            AdminEditPages,
            SetPasswordPages,
            WalkInPages,
            InstitutionPages,
        ],
        exception_handlers={
            DomainError: _domain_error,
            HTTPException: _http_error,
            FormRefused: refused_page,
        },
        include_in_schema=False,
    )
    assets: Router = create_static_files_router(
        path=STATIC_PATH,
        directories=[WEB_DIR / "static"],
        name="console-assets",
        # Vendored files carry their version in the path; ours keep theirs across
        # releases, so browsers revalidate every one rather than keep a stale copy.
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
    )
    return [pages, assets]


def _fallback_viewer(request: Request[Any, Any, Any]) -> Viewer:
    state = request.scope.get("state", {})
    cached = state.get("hduce_console_viewer")
    if isinstance(cached, Viewer):
        return cached
    csrf = request.cookies.get(CSRF_COOKIE) or ""
    return Viewer(None, None, translator(request), csrf, csrf_is_new=False)


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, AuthenticationFailed):
        # Signed out, or an access token that expired: to the sign-in page, which first
        # tries the refresh cookie (console.js) and comes back here if it still works.
        # The cookies stay: clearing them would throw away a refresh token that is good.
        return go(request, sign_in_url(request))
    if isinstance(exc, SecondFactorEnrolmentRequired) and exc.message == ENROL_FIRST:
        # HDUCE_REQUIRE_ADMIN_2FA and no authenticator yet: to the page that sets one up.
        return go(request, "/profile/2fa?done=required")
    viewer = _fallback_viewer(request)
    detail = viewer.t("errors.csrf") if isinstance(exc, CsrfFailed) else exc.message
    return render(request, viewer, "error.html", status_code=domain_status(exc), detail=detail)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    viewer = _fallback_viewer(request)
    detail = viewer.t("errors.not_found") if exc.status_code == 404 else str(exc.detail)
    response = render(request, viewer, "error.html", status_code=exc.status_code, detail=detail)
    response.headers.update(PAGE_HEADERS)
    return response
