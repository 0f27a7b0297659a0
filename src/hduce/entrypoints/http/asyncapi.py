"""The AsyncAPI document of the events, beside the OpenAPI one under ``/schema``.

``GET /schema/asyncapi`` is a page that renders it, ``GET /schema/asyncapi.json``
the document itself. FastStream generates it from the broker's publishers and
subscribers (``hduce.bootstrap.providers.broker``); without a broker it shows the
RabbitMQ topology and says so in its description.
"""

from __future__ import annotations

from typing import Any

from dishka import AsyncContainer
from litestar import Controller, MediaType, Request, Response, get

from hduce.bootstrap.messaging import AsyncApiDocument

ASYNCAPI_PATH = "/schema/asyncapi"


async def _document(request: Request[Any, Any, Any]) -> AsyncApiDocument:
    container: AsyncContainer = request.state.dishka_container
    return await container.get(AsyncApiDocument)


class AsyncApiController(Controller):
    path = ASYNCAPI_PATH.rpartition("/")[0]
    # Documents the events, not the HTTP API: kept out of the OpenAPI document.
    include_in_schema = False

    @get("/asyncapi", media_type=MediaType.HTML)
    async def page(self, request: Request[Any, Any, Any]) -> Response[str]:
        return Response((await _document(request)).html, media_type=MediaType.HTML)

    @get("/asyncapi.json", media_type=MediaType.JSON)
    async def document(self, request: Request[Any, Any, Any]) -> Response[str]:
        return Response((await _document(request)).json, media_type=MediaType.JSON)
