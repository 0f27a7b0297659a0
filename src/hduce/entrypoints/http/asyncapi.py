"""The AsyncAPI document of the events, beside the OpenAPI one under ``/schema``.

``GET /schema/asyncapi`` is a page that renders it, ``GET /schema/asyncapi.json``
the document itself. FastStream generates the document from the broker's publishers
and subscribers (``hduce.bootstrap.providers.broker``); without a broker it shows the
RabbitMQ topology and says so in its description.

The page is ours, not FastStream's (whose HTML loads its viewer from unpkg, its icons
from asyncapi.com and runs an inline script). Like the OpenAPI viewer (``openapi.py``)
it loads nothing from another host and runs no inline script: the viewer,
``@asyncapi/react-component``, is served from this package (``static/``, pinned by
version and SHA-256) and started by a script file of ours (``static/hduce/asyncapi.js``).
Its policy is ``ASYNCAPI_VIEWER_CSP``: the viewer's, plus the 'unsafe-eval' that this
viewer cannot do without (see there).
"""

from __future__ import annotations

import html
from typing import Any, Final

from dishka import AsyncContainer
from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from hduce.bootstrap.messaging import AsyncApiDocument
from hduce.entrypoints.http.openapi import STATIC_DIR
from hduce.entrypoints.http.security_headers import ASYNCAPI_VIEWER_CSP

ASYNCAPI_PATH: Final = "/schema/asyncapi"
_SCHEMA_PATH: Final = ASYNCAPI_PATH.rpartition("/")[0]

ASYNCAPI_REACT_VERSION: Final = "3.1.5"
#: Of ``static/asyncapi-react-<version>/`` (``@asyncapi/react-component``, unmodified):
#: ``browser/standalone/index.js`` and ``styles/default.min.css``.
ASYNCAPI_REACT_SHA256: Final = {
    "index.js": "253d48bc5e2084c36695e49029a84a6cfb95a9cdec3be2529255037d731861be",
    "default.min.css": "c8093f9b6441559267845abc24611f7721d075e4f278a8143857bcdc348df410",
}
#: The version in the path lets browsers keep these for good.
ASYNCAPI_REACT_ASSETS_PATH: Final = f"{_SCHEMA_PATH}/static/asyncapi-react-{ASYNCAPI_REACT_VERSION}"
#: This package's own page assets: they change with the application, not with a pin.
OWN_ASSETS_PATH: Final = f"{_SCHEMA_PATH}/static/hduce"


async def _document(request: Request[Any, Any, Any]) -> AsyncApiDocument:
    container: AsyncContainer = request.state.dishka_container
    return await container.get(AsyncApiDocument)


def _page(title: str) -> str:
    document_url = html.escape(f"{ASYNCAPI_PATH}.json")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} AsyncAPI</title>\n"
        f'<link rel="stylesheet" href="{ASYNCAPI_REACT_ASSETS_PATH}/default.min.css">\n'
        f'<link rel="stylesheet" href="{OWN_ASSETS_PATH}/asyncapi.css">\n'
        "</head>\n"
        "<body>\n"
        "<noscript>The event documentation needs JavaScript; the document itself is at "
        f'<a href="{document_url}">asyncapi.json</a>.</noscript>\n'
        f'<div id="asyncapi" data-url="{document_url}"></div>\n'
        f'<script src="{ASYNCAPI_REACT_ASSETS_PATH}/index.js"></script>\n'
        f'<script src="{OWN_ASSETS_PATH}/asyncapi.js"></script>\n'
        "</body>\n"
        "</html>\n"
    )


class AsyncApiController(Controller):
    path = _SCHEMA_PATH
    # Documents the events, not the HTTP API: kept out of the OpenAPI document.
    include_in_schema = False

    @get("/asyncapi", media_type=MediaType.HTML)
    async def page(self, request: Request[Any, Any, Any]) -> Response[str]:
        return Response(
            _page((await _document(request)).title),
            media_type=MediaType.HTML,
            headers={"Content-Security-Policy": ASYNCAPI_VIEWER_CSP},
        )

    @get("/asyncapi.json", media_type=MediaType.JSON)
    async def document(self, request: Request[Any, Any, Any]) -> Response[str]:
        return Response((await _document(request)).json, media_type=MediaType.JSON)


def _assets() -> list[Router]:
    return [
        create_static_files_router(
            path=ASYNCAPI_REACT_ASSETS_PATH,
            directories=[STATIC_DIR / f"asyncapi-react-{ASYNCAPI_REACT_VERSION}"],
            name="asyncapi-react-assets",
            cache_control=CacheControlHeader(public=True, max_age=31_536_000, immutable=True),
            include_in_schema=False,
        ),
        create_static_files_router(
            path=OWN_ASSETS_PATH,
            directories=[STATIC_DIR / "hduce"],
            name="hduce-viewer-assets",
            # Same URL across releases: browsers revalidate rather than keep a stale copy.
            cache_control=CacheControlHeader(no_cache=True),
            include_in_schema=False,
        ),
    ]


def asyncapi_handlers() -> list[ControllerRouterHandler]:
    """The page, the document and the page's assets."""
    return [AsyncApiController, *_assets()]
