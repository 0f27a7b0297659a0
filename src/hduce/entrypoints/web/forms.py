"""Forms a use case may refuse: call it, and on a ``DomainError`` draw the form again
with the error's detail (and the field it names) at the status the API would answer.

A handler writes::

    profile = await submit_form(
        request, viewer, "admin_new_doctor.html",
        lambda: create(actor, NewDoctor(...)),     # parsing the form may refuse too
        form=form_without_password,                # the template's context on refusal
        more=lambda exc: specialties_context(),    # context worth a query only then
    )
    return go(request, "/next")

The refusal leaves the handler as ``FormRefused`` (its page is the response), which the
console's router answers with that page (``route_handlers()`` in ``__init__.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from litestar import Request
from litestar.response import Template

from hduce.domain.errors import DomainError
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.views import Viewer, render

T = TypeVar("T")

#: Context to add on a refusal only, from the error (e.g. other free times on a 409).
MoreContext = Callable[[DomainError], Awaitable[Mapping[str, Any]]]


class FormRefused(Exception):
    """A use case refused a form: ``page`` is the form drawn again with why."""

    def __init__(self, page: Template) -> None:
        super().__init__("form refused")
        self.page = page


async def submit_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    call: Callable[[], Awaitable[T]],
    *,
    more: MoreContext | None = None,
    **context: Any,
) -> T:
    """``await call()``; a ``DomainError`` raised by it (or by building its command)
    becomes ``FormRefused`` with ``template`` rendered with ``detail``, ``field`` and
    ``context`` (plus ``more(error)``)."""
    try:
        return await call()
    except DomainError as exc:
        extra = dict(await more(exc)) if more is not None else {}
        page = render(
            request,
            viewer,
            template,
            status_code=domain_status(exc),
            detail=exc.message,
            field=getattr(exc, "field", None),
            **(context | extra),
        )
        raise FormRefused(page) from exc


def refused_page(_request: Request[Any, Any, Any], exc: FormRefused) -> Template:
    """The router's handler of ``FormRefused``."""
    return exc.page


__all__ = ["FormRefused", "MoreContext", "refused_page", "submit_form"]
