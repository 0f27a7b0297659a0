"""Who may call what: every route of the API x {anonymous, patient, other patient,
doctor, other doctor, admin}, with the status each must get.

To extend (e.g. the clinic and appointment routes): add ``Case`` rows to ``CASES``;
path placeholders are the keys of ``World.ids`` ({patient_id}, {other_patient_id},
{doctor_id}, {other_doctor_id}, {admin_id}); add more ids with a ``WORLD_SETUP`` hook
(it receives the ``World`` once its accounts exist) and mount the new controllers in the
app the ``matrix_client`` fixture builds (``conftest.build_identity_app``; switch it to
the full API once the composition root lists every controller).
``test_every_route_is_in_the_matrix`` fails until each route of that app has a row, so
no endpoint ships without its authorization being pinned down.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hduce.domain.identity import Role
from tests.e2e.identity.conftest import (
    API,
    PASSWORD,
    AppFactory,
    Client,
    bearer,
    create_account,
    google_env,
    register,
)
from tests.e2e.identity.oidc_provider import LocalOpenIdProvider

ANONYMOUS, PATIENT, OTHER_PATIENT = "anonymous", "patient", "other_patient"
DOCTOR, OTHER_DOCTOR, ADMIN = "doctor", "other_doctor", "admin"
PRINCIPALS = (ANONYMOUS, PATIENT, OTHER_PATIENT, DOCTOR, OTHER_DOCTOR, ADMIN)
SIGNED_IN = PRINCIPALS[1:]


def everyone(status: int, *, anonymous: int = 401) -> dict[str, int]:
    """Any signed-in user gets ``status``; anonymous gets ``anonymous``."""
    return {ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, status)}


def public(status: int) -> dict[str, int]:
    return dict.fromkeys(PRINCIPALS, status)


def only(*allowed: str, status: int = 200, denied: int = 403) -> dict[str, int]:
    return {
        ANONYMOUS: 401,
        **{who: status if who in allowed else denied for who in SIGNED_IN},
    }


@dataclass
class World:
    """The accounts of the matrix, their ids, and fresh sessions on demand."""

    client: Client
    ids: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    async def session(self, who: str) -> dict[str, Any]:
        """A fresh login of ``who`` (each case may end its own session)."""
        response = await self.client.post(
            f"{API}/auth/login", json={"email": self.emails[who], "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.client.cookies.clear()  # the matrix authenticates with bearer tokens only
        body: dict[str, Any] = response.json()
        return body


Body = Callable[[World, str], Awaitable[Any]] | Mapping[str, Any] | None


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # relative to /api/v1 unless it starts with "/.well-known"
    expected: Mapping[str, int]
    body: Body = None
    query: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''}"


async def _register_body(world: World, who: str) -> dict[str, str]:
    return {
        "email": f"new-{uuid.uuid4().hex[:12]}@example.org",
        "password": PASSWORD,
        "full_name": "New Patient",
    }


async def _login_body(world: World, who: str) -> dict[str, str]:
    return {"email": world.emails[PATIENT], "password": PASSWORD}


async def _refresh_body(world: World, who: str) -> dict[str, str]:
    owner = PATIENT if who == ANONYMOUS else who
    return {"refresh_token": (await world.session(owner))["refresh_token"]}


CASES: list[Case] = [
    # ---------------------------------------------------------------- auth (public)
    Case("POST", "/auth/register", public(201), body=_register_body),
    Case("POST", "/auth/login", public(200), body=_login_body),
    Case("POST", "/auth/refresh", public(200), body=_refresh_body),
    Case("GET", "/auth/google/login", public(302)),
    Case("GET", "/auth/google/callback", public(401), query="code=forged&state=forged"),
    Case("GET", "/.well-known/jwks.json", public(200)),
    # ---------------------------------------------------------------- auth (signed in)
    Case("GET", "/auth/me", everyone(200)),
    Case("PATCH", "/auth/me", everyone(200), body={"timezone": "Europe/Madrid"}),
    Case("POST", "/auth/logout", everyone(204)),
    # ---------------------------------------------------------------- admin
    Case("GET", "/admin/users", only(ADMIN)),
    Case("GET", "/admin/users", only(ADMIN), query="role=doctor&search=doc"),
    Case("PATCH", "/admin/users/{patient_id}", only(ADMIN), body={"is_active": True}),
    Case("PATCH", "/admin/users/{doctor_id}", only(ADMIN), body={"is_active": True}),
]

#: Hooks run once the accounts exist: ``async def hook(world) -> None`` adding ids.
WORLD_SETUP: list[Callable[[World], Awaitable[None]]] = []


@pytest.fixture
def signing_key(tmp_path: Path) -> Path:
    path = tmp_path / "jwt-ed25519.pem"
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
async def matrix_client(
    make_client: AppFactory, local_oidc: LocalOpenIdProvider, signing_key: Path
) -> Client:
    """The app with every optional route on: Google sign-in and the JWKS (EdDSA keys)."""
    return await make_client(
        env={
            **google_env(local_oidc),
            "HDUCE_JWT_ALGORITHM": "EdDSA",
            "HDUCE_JWT_PRIVATE_KEY_FILE": str(signing_key),
        }
    )


@pytest.fixture
async def world(matrix_client: Client) -> World:
    world = World(matrix_client)
    for who in (PATIENT, OTHER_PATIENT):
        email = f"{who.replace('_', '-')}@example.org"
        world.ids[f"{who}_id"] = (await register(matrix_client, email))["id"]
        world.emails[who] = email
    for who, role in ((DOCTOR, Role.DOCTOR), (OTHER_DOCTOR, Role.DOCTOR), (ADMIN, Role.ADMIN)):
        email = f"{who.replace('_', '-')}@example.org"
        world.ids[f"{who}_id"] = (await create_account(matrix_client, role, email))["id"]
        world.emails[who] = email
    for hook in WORLD_SETUP:
        await hook(world)
    matrix_client.cookies.clear()
    return world


async def _call(world: World, case: Case, who: str) -> int:
    path = case.path.format(**world.ids)
    url = path if path.startswith("/.well-known") else f"{API}{path}"
    if case.query:
        url = f"{url}?{case.query}"
    headers = {} if who == ANONYMOUS else bearer((await world.session(who))["access_token"])
    body = case.body
    if callable(body):
        body = await body(world, who)
    world.client.cookies.clear()
    response = await world.client.request(
        case.method, url, headers=headers, json=body if body is not None else None
    )
    assert response.status_code < 500, f"{case.id} as {who}: {response.text}"
    return response.status_code


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_authorization_matrix(world: World, case: Case) -> None:
    assert set(case.expected) == set(PRINCIPALS), f"{case.id}: a principal is missing"
    actual = {who: await _call(world, case, who) for who in PRINCIPALS}
    assert actual == dict(case.expected)


_PARAMETER = re.compile(r"\{[^}]*\}")


def _shape(path: str) -> str:
    return _PARAMETER.sub("{}", path)


async def test_every_route_is_in_the_matrix(matrix_client: Client) -> None:
    covered = {
        (
            case.method,
            _shape(case.path if case.path.startswith("/.well-known") else API + case.path),
        )
        for case in CASES
    }
    routes = {
        (method, _shape(route.path))
        for route in matrix_client.app.routes
        if route.path.startswith((API, "/.well-known"))
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"}
    }
    assert len(routes) >= 11  # the identity routes, at least
    assert routes - covered == set(), "routes without a row in CASES"
    assert covered - routes == set(), "rows in CASES for routes that do not exist"
