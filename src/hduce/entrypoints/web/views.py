"""What every console page needs: who is looking, in which language and time zone,
the CSRF token htmx echoes, and the two ways a page answers (render, redirect).

Sign-in is the JSON API's own cookie session (``entrypoints/http/auth/cookies.py``):
the same access cookie authenticates pages (checked by the same ``Authenticate`` use
case), and unsafe requests carry the CSRF cookie's value, in ``X-CSRF-Token`` (htmx adds
it to every request from the ``hx-headers`` of ``<body>``) or in the ``csrf_token`` field
every form has. A visitor without a CSRF cookie yet (before signing in) gets one with the
page, so the sign-in and registration forms are double-submit protected as well.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from hduce.application.identity.accounts import GetMe
from hduce.application.identity.sessions import Authenticate, Principal
from hduce.application.identity.two_factor.challenge import AdminSecondFactorRule
from hduce.application.notifications.inbox import NotificationInbox
from hduce.domain.errors import AuthenticationFailed, PermissionDenied
from hduce.domain.identity import Actor, Role, User
from hduce.entrypoints.http.auth.cookies import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER
from hduce.entrypoints.http.auth.security import CsrfFailed, needs_csrf, request_container
from hduce.entrypoints.web.i18n import LANGUAGE_COOKIE, Translator, negotiate, zone

#: Pages load scripts, styles and the event stream from this origin only; no inline
#: script or style (htmx's own indicator style is off in its config), no framing.
CONSOLE_CSP: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
#: Pages show personal data: never stored by a browser or proxy cache.
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONSOLE_CSP,
    "Cache-Control": "no-store",
    "Vary": "Cookie, Accept-Language",
}
_VIEWER_KEY: Final = "hduce_console_viewer"
#: Pages an admin session without a second factor may open while the policy requires
#: one (``AdminSecondFactorRule``): enrolling, signing out or in, the language.
BEFORE_SECOND_FACTOR_PAGES: Final = ("/profile/2fa", "/logout", "/login", "/lang/", "/bell")
CSRF_FIELD: Final = "csrf_token"
_FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at a page (``user`` None when signed out)."""

    principal: Principal | None
    user: User | None
    t: Translator
    csrf_token: str
    csrf_is_new: bool
    #: Unread notifications when the page was drawn (the bell then follows the stream).
    unread: int = 0

    @property
    def role(self) -> str | None:
        return self.user.role.value if self.user is not None else None

    def require(self, *roles: Role) -> Actor:
        """The signed-in person, who must have one of ``roles`` (any role when none given).

        Signed out -> ``AuthenticationFailed`` (the page sends them to sign in); another
        role -> ``PermissionDenied``. Ownership stays the use cases' business."""
        if self.user is None or self.principal is None:
            raise AuthenticationFailed("authentication required")
        if roles and self.user.role not in roles:
            raise PermissionDenied(self.t("errors.forbidden"))
        return self.principal.actor


def translator(request: Request[Any, Any, Any], timezone: str | None = None) -> Translator:
    language = negotiate(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    return Translator(language, zone(timezone))


async def viewer_of(request: Request[Any, Any, Any]) -> Viewer:
    """Resolved once per request; a stale or revoked session cookie reads as signed out."""
    state = request.scope.setdefault("state", {})
    cached = state.get(_VIEWER_KEY)
    if isinstance(cached, Viewer):
        return cached
    if needs_csrf(request):
        await check_page_csrf(request)
    container = request_container(request)
    principal: Principal | None = None
    token = request.cookies.get(ACCESS_COOKIE)
    if token:
        try:
            principal = await (await container.get(Authenticate))(token)
        except AuthenticationFailed:
            principal = None  # expired or revoked: signed out (pages send to sign in)
    if (
        principal is not None
        and principal.user.role is Role.ADMIN
        and not request.url.path.startswith(BEFORE_SECOND_FACTOR_PAGES)
    ):
        # HDUCE_REQUIRE_ADMIN_2FA, as the API's guards apply it: an admin session that
        # did not pass a second factor reaches only the pages where it gets one.
        await (await container.get(AdminSecondFactorRule)).check(principal)
    user: User | None = None
    unread = 0
    if principal is not None:
        user = await (await container.get(GetMe))(principal.actor)
        unread = await (await container.get(NotificationInbox)).unread_count(principal.actor)
    csrf = request.cookies.get(CSRF_COOKIE) or ""
    viewer = Viewer(
        principal=principal,
        user=user,
        t=translator(request, user.timezone if user is not None else None),
        csrf_token=csrf or secrets.token_urlsafe(32),
        csrf_is_new=not csrf,
        unread=unread,
    )
    state[_VIEWER_KEY] = viewer
    return viewer


async def check_page_csrf(request: Request[Any, Any, Any]) -> None:
    """The double-submit check of the API (``security.check_csrf``), which also takes the
    token from a ``csrf_token`` form field: every form carries one, so a form works
    before htmx has taken it over (or without JavaScript), and htmx adds the header."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = request.headers.get(CSRF_HEADER) or ""
    if not sent and request.content_type[0] in _FORM_TYPES:
        sent = str((await request.form()).get(CSRF_FIELD) or "")
    if not cookie or not sent or not secrets.compare_digest(cookie, sent):
        raise CsrfFailed(
            f"this form needs the {CSRF_FIELD} field or the {CSRF_HEADER} header "
            f"(the value of the {CSRF_COOKIE} cookie)"
        )


def csrf_cookie(token: str) -> Cookie:
    # As the API's (cookies.session_cookies), but for the browser session only: signing
    # in keeps this value and gives it the session's lifetime.
    return Cookie(
        key=CSRF_COOKIE, value=token, path="/", secure=True, httponly=False, samesite="strict"
    )


def render(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    *,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    all_cookies = list(cookies or [])
    if viewer.csrf_is_new:
        all_cookies.append(csrf_cookie(viewer.csrf_token))
    return Template(
        template_name=template,
        context={
            "v": viewer,
            "t": viewer.t,
            "path": request.url.path,
            "full_path": _full_path(request),
            **context,
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
        cookies=all_cookies,
    )


def go(
    request: Request[Any, Any, Any], url: str, *, cookies: list[Cookie] | None = None
) -> Response[Any]:
    """Send the browser to ``url``: htmx requests with ``HX-Redirect`` (a full page
    load), others with 303 See Other."""
    if request.headers.get("hx-request") == "true":
        return Response(
            None,
            status_code=200,
            headers={**PAGE_HEADERS, "HX-Redirect": url},
            cookies=cookies or [],
        )
    return Redirect(url, status_code=303, headers=PAGE_HEADERS, cookies=cookies or [])


def sign_in_url(request: Request[Any, Any, Any]) -> str:
    """The sign-in page, then back to this page (for htmx, the page that sent the request:
    not the action it posted to)."""
    here = _full_path(request)
    current = request.headers.get("hx-current-url")
    if current:
        parts = urlsplit(current)
        here = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"/login?next={quote(safe_next(here), safe='')}"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path of this site (never ``//host`` or ``https://host``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return default
    return target


def _full_path(request: Request[Any, Any, Any]) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + (f"?{query}" if query else "")
