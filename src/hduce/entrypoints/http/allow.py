"""``OPTIONS`` answers with every method of the path.

Litestar 2 makes a path's OPTIONS handler when the path's first handler is registered,
and that handler's ``Allow`` never learns the methods of handlers registered later for
the same path (a GET list beside a POST create in another controller): litestar#4169,
fixed in Litestar 3. The merged routes know them all (the router's 405 lists them), so
the ``Allow`` of a 204 answer to OPTIONS is rewritten from them.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ALLOW = b"allow"


class CompleteAllowMiddleware:
    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self._allow = {
            route.path_format: ", ".join(sorted(route.methods)).encode()
            for route in routes
            if isinstance(route, HTTPRoute)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_complete_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 204:
                # Set by Litestar's router once the path matched a route.
                allow = self._allow.get(scope.get("path_template", ""))
                if allow is not None:
                    headers = message.get("headers", ())
                    message["headers"] = [
                        *((name, value) for name, value in headers if name.lower() != _ALLOW),
                        (_ALLOW, allow),
                    ]
            await send(message)

        await self.app(scope, receive, send_complete_allow)
