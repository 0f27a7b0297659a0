"""``/api/v1/oauth/introspect`` (RFC 7662) and ``/api/v1/oauth/revoke`` (RFC 7009):
other hospital services check and revoke HDUCE tokens.

Both take ``application/x-www-form-urlencoded`` bodies, as the RFCs say, and
authenticate the calling service client (registered by an admin) with HTTP Basic
(``client_secret_basic``: ``client_id:client_secret``, each form-urlencoded first,
RFC 6749 §2.3.1) or with ``client_id`` and ``client_secret`` in the body
(``client_secret_post``), not both. Bad client credentials are a 401 with
``WWW-Authenticate: Basic``; the problem body also carries RFC 6749's
``"error": "invalid_client"`` for OAuth client libraries.

Any registered client may introspect or revoke any HDUCE token: the clients are the
hospital's own services, and a token is revoked only by whoever holds it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final
from urllib.parse import unquote_plus

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import URLEncodedBody

from hduce.application.identity.service_clients import (
    AuthenticateServiceClient,
    IntrospectToken,
    RevokeToken,
)
from hduce.application.ports import ServiceClient
from hduce.bootstrap.settings import Settings
from hduce.domain.errors import AuthenticationFailed
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.schemes import SERVICE_CLIENT
from hduce.entrypoints.http.problems import problem_example, problem_response, problem_spec
from hduce.entrypoints.http.service_tokens.schemas import (
    IntrospectionRequest,
    IntrospectionResponse,
    RevocationRequest,
)

FORM: Final = "application/x-www-form-urlencoded"
WWW_AUTHENTICATE: Final = 'Basic realm="hduce", charset="UTF-8"'
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ClientAuthenticationError(Exception):
    """The client could not be authenticated (401 ``invalid_client``), or sent two
    authentication methods at once (400 ``invalid_request``)."""

    def __init__(self, detail: str, *, status: int = 401) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _client_error(request: Request[Any, Any, Any], exc: ClientAuthenticationError) -> Response[Any]:
    if exc.status == 401:
        return problem_response(
            request,
            status=401,
            code="invalid-client",
            detail=exc.detail,
            title="Invalid client",
            headers={"WWW-Authenticate": WWW_AUTHENTICATE, **NO_STORE},
            extensions={"error": "invalid_client"},
        )
    return problem_response(
        request,
        status=400,
        code="invalid-request",
        detail=exc.detail,
        headers=NO_STORE,
        extensions={"error": "invalid_request"},
    )


async def form_bodies_only(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """415 for a body that is not ``application/x-www-form-urlencoded`` (RFC 7662 §2.1).
    A CORS preflight (OPTIONS) has no body: it is answered like every other route's."""
    if connection.scope.get("method") == "OPTIONS":
        return
    media_type = (connection.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise HTTPException(
            status_code=415, detail=f"send the body as a form (Content-Type: {FORM})"
        )


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise ClientAuthenticationError(
            "authenticate the client with HTTP Basic (client_id:client_secret), or with "
            "client_id and client_secret in the form"
        )
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise ClientAuthenticationError("malformed HTTP Basic credentials") from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise ClientAuthenticationError("malformed HTTP Basic credentials")
    # RFC 6749 §2.3.1: both are form-urlencoded before they are joined and encoded.
    return unquote_plus(client_id), unquote_plus(secret)


async def _authenticated_client(
    request: Request[Any, Any, Any],
    form: IntrospectionRequest | RevocationRequest,
    authenticate: AuthenticateServiceClient,
) -> ServiceClient:
    header = request.headers.get("authorization")
    posted_id, posted_secret = form.posted_credentials
    posted = posted_id is not None or posted_secret is not None
    if header is not None and posted:
        raise ClientAuthenticationError(
            "use one client authentication method: HTTP Basic or the form, not both", status=400
        )
    if header is not None:
        client_id, secret = _basic_credentials(header)
    elif posted_id is not None and posted_secret is not None:
        client_id, secret = posted_id, posted_secret
    else:
        raise ClientAuthenticationError("client authentication required")
    try:
        return await authenticate(client_id, secret)
    except AuthenticationFailed as exc:
        raise ClientAuthenticationError(exc.message) from exc


_CLIENT_ERRORS: Final = {
    400: problem_spec(
        400,
        "Malformed form, or two client authentication methods at once",
        problem_example(
            400,
            "invalid-request",
            "use one client authentication method: HTTP Basic or the form, not both",
            title="Bad Request",
            error="invalid_request",
        ),
    ),
    401: problem_spec(
        401,
        "Unknown client, wrong secret or revoked client (`WWW-Authenticate: Basic`)",
        problem_example(
            401,
            "invalid-client",
            "invalid client credentials",
            title="Invalid client",
            error="invalid_client",
        ),
    ),
    415: problem_spec(415, "The body is not application/x-www-form-urlencoded"),
}


class OAuthController(Controller):
    path = "/oauth"
    tags = ("oauth",)
    guards = (form_bodies_only,)
    exception_handlers = {ClientAuthenticationError: _client_error}  # noqa: RUF012 - Litestar's

    @post(
        "/introspect",
        status_code=200,
        security=SERVICE_CLIENT,
        summary="Token introspection (RFC 7662), for service clients",
        description="Is this HDUCE token (an access token, or a refresh token) live, and "
        "whose is it? Anything invalid, expired, revoked, of a deactivated account or "
        'unknown is `{"active": false}`. The caller authenticates as a registered service '
        "client (HTTP Basic, or `client_id` and `client_secret` in the form).",
        responses={
            200: ResponseSpec(
                data_container=IntrospectionResponse,
                description="What the token says, or `active: false`",
                generate_examples=False,
                examples=[
                    Example(
                        summary="A live access token",
                        value={
                            "active": True,
                            "token_type": "access_token",
                            "sub": demo.PATIENT_ID,
                            "role": "patient",
                            "iat": 1893605700,
                            "exp": 1893606600,
                            "iss": "hduce",
                            "aud": "hduce-api",
                            "jti": "4c9a0f3e2b1d4e6f8a7b5c3d2e1f0a9b",
                            "sid": "01b8e3b1-f2bf-7c3a-8d52-1e9f6b0a4c83",
                        },
                    ),
                    Example(summary="Not a live token", value={"active": False}),
                ],
            ),
            **_CLIENT_ERRORS,
        },
    )
    async def introspect(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[IntrospectionRequest],
        authenticate: FromDishka[AuthenticateServiceClient],
        introspect: FromDishka[IntrospectToken],
        settings: FromDishka[Settings],
    ) -> Response[IntrospectionResponse]:
        client = await _authenticated_client(request, data, authenticate)
        found = await introspect(client, data.token, data.hint)
        body = IntrospectionResponse.of(
            found, issuer=settings.auth.jwt_issuer, audience=settings.auth.jwt_audience
        )
        return Response(body, headers=NO_STORE)

    @post(
        "/revoke",
        status_code=200,
        security=SERVICE_CLIENT,
        summary="Token revocation (RFC 7009), for service clients",
        description="Revokes a refresh token (its whole session, access tokens included) "
        "or an access token (the session it belongs to, as a logout does). Answers 200 "
        "with an empty body whether or not the token was live or known (RFC 7009 §2.2). "
        "The caller authenticates as a registered service client.",
        responses={
            200: ResponseSpec(
                data_container=None,
                description="Revoked, or nothing left to revoke",
                generate_examples=False,
            ),
            **_CLIENT_ERRORS,
        },
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[RevocationRequest],
        authenticate: FromDishka[AuthenticateServiceClient],
        revoke: FromDishka[RevokeToken],
    ) -> Response[bytes]:
        client = await _authenticated_client(request, data, authenticate)
        await revoke(client, data.token, data.hint)
        return Response(b"", headers=NO_STORE, media_type="text/plain")
