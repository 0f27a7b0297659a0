"""``/api/v1/admin/service-clients``: the hospital services allowed to introspect and
revoke HDUCE tokens (register, list, revoke). Admins only."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hduce.application.identity.service_clients import (
    ListServiceClients,
    RegisterServiceClient,
    RevokeServiceClient,
)
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_request_example,
    not_found_example,
    problem_spec,
)
from hduce.entrypoints.http.service_tokens.schemas import (
    CLIENT_ID,
    NewServiceClient,
    RegisteredServiceClientView,
    ServiceClientList,
    ServiceClientView,
)

_ERRORS = {
    401: problem_spec(401, "Not authenticated"),
    403: problem_spec(403, "Not an admin"),
}
_NOT_FOUND = {
    404: problem_spec(404, "No such client", not_found_example("service client", CLIENT_ID))
}


class ServiceClientsController(Controller):
    path = "/admin/service-clients"
    tags = ("admin",)
    guards = (json_bodies_only, requires_role(Role.ADMIN))
    dependencies = AUTH_DEPENDENCIES

    @post(
        "/",
        status_code=201,
        summary="Register a service client",
        description="A hospital service that may introspect (`POST /oauth/introspect`) and "
        "revoke (`POST /oauth/revoke`) tokens. The answer holds the client secret: it is "
        "shown this once and only its hash is kept.",
        responses={
            **_ERRORS,
            400: problem_spec(
                400,
                "Malformed body; `errors` names the field",
                invalid_request_example(
                    "name",
                    "Expected `str` of length >= 1",
                    source="body",
                    detail="Validation failed for POST /api/v1/admin/service-clients",
                ),
            ),
        },
    )
    async def register(
        self,
        data: JSONBody[NewServiceClient],
        actor: NamedDependency[Actor],
        register: FromDishka[RegisterServiceClient],
    ) -> RegisteredServiceClientView:
        return RegisteredServiceClientView.of(await register(actor, data.name))

    @get("/", summary="List service clients (revoked ones included)", responses=_ERRORS)
    async def list_clients(
        self, actor: NamedDependency[Actor], list_clients: FromDishka[ListServiceClients]
    ) -> ServiceClientList:
        clients = await list_clients(actor)
        return ServiceClientList(items=[ServiceClientView.of(client) for client in clients])

    @post(
        "/{client_id:str}/revoke",
        status_code=200,
        summary="Revoke a service client",
        description="Its credentials stop working at once. Revoking it again changes nothing.",
        responses={**MALFORMED_REQUEST, **_ERRORS, **_NOT_FOUND},
    )
    async def revoke(
        self,
        client_id: FromPath[str],
        actor: NamedDependency[Actor],
        revoke: FromDishka[RevokeServiceClient],
    ) -> ServiceClientView:
        return ServiceClientView.of(await revoke(actor, client_id))
