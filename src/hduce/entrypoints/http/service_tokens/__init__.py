"""Tokens for other services over HTTP (ADR 0016): the admin's service clients
(``/admin/service-clients``) and the OAuth endpoints those clients call
(``/oauth/introspect``, RFC 7662; ``/oauth/revoke``, RFC 7009).

Wiring (composition root)::

    container: add ``hduce.bootstrap.providers.service_tokens.ServiceTokensProvider()``
    create_app(container, settings, route_handlers=[..., *service_tokens.route_handlers()])
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from hduce.entrypoints.http.service_tokens.clients import ServiceClientsController
from hduce.entrypoints.http.service_tokens.oauth import OAuthController

__all__ = ["route_handlers"]


def route_handlers() -> list[ControllerRouterHandler]:
    """The controllers to mount under ``/api/v1``."""
    return [ServiceClientsController, OAuthController]
