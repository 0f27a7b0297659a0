"""Google sign-in end to end against a local OpenID provider (real HTTP, real RS256 ID
tokens, authlib's client doing the code exchange with PKCE)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hduce.adapters.clock import SystemClock
from hduce.adapters.oauth import GoogleOidcProvider, OidcClientConfig
from hduce.application.ports import UnitOfWorkFactory
from hduce.domain.credentials import new_opaque_token
from hduce.domain.errors import AuthenticationFailed
from tests.e2e.harness import (
    API,
    BASE_URL,
    PASSWORD,
    AppFactory,
    Client,
    assert_problem,
    bearer,
    google_env,
    login,
    register,
)
from tests.e2e.oidc_provider import LocalOpenIdProvider
from tests.services import free_port

OAUTH_COOKIE = "__Secure-hduce_oauth"


@pytest.fixture
async def google(make_client: AppFactory, local_oidc: LocalOpenIdProvider) -> Client:
    return await make_client(env=google_env(local_oidc))


async def sign_in_with_google(client: Client, provider: LocalOpenIdProvider) -> httpx.Response:
    """The browser's trip: our login -> the provider's consent -> our callback."""
    start = await client.get(f"{API}/auth/google/login")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(f"{provider.issuer}/authorize?")
    assert start.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(location)
    assert consent.status_code == 302, consent.text
    callback = consent.headers["location"]
    assert callback.startswith(f"{BASE_URL}{API}/auth/google/callback?")
    return await client.get(callback)


async def test_a_new_user_signs_in_with_google(
    google: Client, local_oidc: LocalOpenIdProvider
) -> None:
    response = await sign_in_with_google(google, local_oidc)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    me = (await google.get(f"{API}/auth/me", headers=bearer(tokens["access_token"]))).json()
    assert (me["email"], me["role"], me["full_name"]) == (
        "ada@example.org",
        "patient",
        "Ada Lovelace",
    )
    assert me["google_linked"] and not me["has_password"]
    assert me["email_verified"]  # Google said so (issue 15): no link to open
    # The browser got its session cookies; the one-time binding cookie is cleared.
    assert google.cookies.get("__Host-hduce_access") == tokens["access_token"]
    assert OAUTH_COOKIE not in google.cookies

    authorize = local_oidc.authorize_requests[-1]
    assert authorize["code_challenge_method"] == "S256" and authorize["nonce"]
    assert set(authorize["scope"].split()) == {"openid", "email", "profile"}
    exchange = local_oidc.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    assert exchange["redirect_uri"] == f"{BASE_URL}{API}/auth/google/callback"

    # Same Google account again: same user, not a new one.
    again = await sign_in_with_google(google, local_oidc)
    me_again = await google.get(f"{API}/auth/me", headers=bearer(again.json()["access_token"]))
    assert me_again.json()["id"] == me["id"]
    # No password: the password login refuses like any other failure.
    failed = await google.post(
        f"{API}/auth/login", json={"email": "ada@example.org", "password": PASSWORD}
    )
    assert_problem(failed, 401, "unauthenticated")


async def test_a_verified_email_links_the_existing_account(
    google: Client, local_oidc: LocalOpenIdProvider
) -> None:
    user = await register(google, "Ada@Example.org", full_name="Ada")
    response = await sign_in_with_google(google, local_oidc)
    assert response.status_code == 200, response.text
    me = (
        await google.get(f"{API}/auth/me", headers=bearer(response.json()["access_token"]))
    ).json()
    assert me["id"] == user["id"] and me["google_linked"] and me["has_password"]
    # Registered with a password, the address was unproven; Google proved it.
    assert not user["email_verified"] and me["email_verified"]
    assert (await login(google, "ada@example.org"))["access_token"]  # the password still works


async def test_unverified_emails_are_refused(
    google: Client, local_oidc: LocalOpenIdProvider
) -> None:
    local_oidc.next_identity = {**local_oidc.next_identity, "email_verified": False}
    response = await sign_in_with_google(google, local_oidc)
    assert "not verified" in assert_problem(response, 401, "unauthenticated")["detail"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-client"},
        {"iss": "https://evil.example.org"},
        {"nonce": "replayed-nonce"},
        {"exp": int(time.time()) - 600},
        {"iat": int(time.time()) + 3600},
        {"sub": None},
        {"email": None},
    ],
    ids=["aud", "iss", "nonce", "expired", "future-iat", "no-sub", "no-email"],
)
async def test_bad_id_tokens_are_refused(
    google: Client, local_oidc: LocalOpenIdProvider, overrides: dict[str, Any]
) -> None:
    local_oidc.claim_overrides = overrides
    response = await sign_in_with_google(google, local_oidc)
    assert_problem(response, 401, "unauthenticated")
    uow_factory = await google.app.state.dishka_container.get(UnitOfWorkFactory)
    async with uow_factory() as uow:
        assert await uow.users.get_by_email("ada@example.org") is None


async def test_id_tokens_signed_by_another_key_are_refused(
    google: Client, local_oidc: LocalOpenIdProvider
) -> None:
    local_oidc.sign_with_rogue_key = True
    response = await sign_in_with_google(google, local_oidc)
    assert "signature" in assert_problem(response, 401, "unauthenticated")["detail"]


async def test_state_is_single_use_and_bound_to_the_browser(
    google: Client, local_oidc: LocalOpenIdProvider
) -> None:
    start = await google.get(f"{API}/auth/google/login")
    async with httpx.AsyncClient() as browser:
        callback = (await browser.get(start.headers["location"])).headers["location"]

    # Someone else's browser (same server, no binding cookie) cannot finish this sign-in
    # (a callback link planted by an attacker: login CSRF)...
    async with Client(google.app) as stranger:
        refused = await stranger.get(callback)
    assert "another browser" in assert_problem(refused, 401, "unauthenticated")["detail"]
    # ...and that attempt consumed the state: the real browser must start again.
    assert_problem(await google.get(callback), 401, "unauthenticated")

    # A completed callback cannot be replayed.
    response = await sign_in_with_google(google, local_oidc)
    assert response.status_code == 200
    assert_problem(await google.get(str(response.request.url)), 401, "unauthenticated")


@pytest.mark.parametrize(
    "query",
    ["error=access_denied&state=x", "state=only-state", "code=only-code", ""],
)
async def test_broken_callbacks_are_401(google: Client, query: str) -> None:
    response = await google.get(f"{API}/auth/google/callback?{query}")
    assert_problem(response, 401, "unauthenticated")


async def test_google_routes_are_documented_when_configured(google: Client) -> None:
    paths = (await google.get("/schema/openapi.json")).json()["paths"]
    assert {f"{API}/auth/google/login", f"{API}/auth/google/callback"} <= set(paths)


async def test_an_unreachable_provider_is_a_503_not_a_500(make_client: AppFactory) -> None:
    env = {
        "HDUCE_GOOGLE_CLIENT_ID": "id",
        "HDUCE_GOOGLE_CLIENT_SECRET": "secret",
        "HDUCE_GOOGLE_REDIRECT_URI": f"{BASE_URL}{API}/auth/google/callback",
        "HDUCE_GOOGLE_DISCOVERY_URL": f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration",
    }
    client = await make_client(env=env)
    response = await client.get(f"{API}/auth/google/login")
    assert_problem(response, 503, "identity-provider-unavailable")
    assert response.headers["retry-after"]


# ------------------------------------------------------------------ the adapter alone


async def _code_for(adapter: GoogleOidcProvider, nonce: str, verifier: str) -> str:
    url = await adapter.authorization_url(state="s", nonce=nonce, code_verifier=verifier)
    async with httpx.AsyncClient() as browser:
        redirect = (await browser.get(url)).headers["location"]
    return parse_qs(urlsplit(redirect).query)["code"][0]


async def test_the_adapter_follows_a_key_rotation(local_oidc: LocalOpenIdProvider) -> None:
    adapter = GoogleOidcProvider(
        OidcClientConfig(
            client_id=local_oidc.client_id,
            client_secret=local_oidc.client_secret,
            redirect_uri=f"{BASE_URL}/callback",
            discovery_url=local_oidc.discovery_url,
            jwks_refresh_interval_seconds=0,
        ),
        SystemClock(),
    )
    try:
        nonce, verifier = new_opaque_token(), new_opaque_token()
        first = await adapter.exchange_and_verify(
            code=await _code_for(adapter, nonce, verifier), code_verifier=verifier, nonce=nonce
        )
        assert first.subject == "google-ada" and first.email_verified
        fetches = local_oidc.jwks_fetches
        local_oidc.rotate_key()
        second = await adapter.exchange_and_verify(
            code=await _code_for(adapter, nonce, verifier), code_verifier=verifier, nonce=nonce
        )
        assert second.subject == "google-ada"
        assert local_oidc.jwks_fetches == fetches + 1  # fetched again for the new kid only
        # A wrong PKCE verifier is the provider's refusal: 401, not a crash.
        with pytest.raises(AuthenticationFailed, match="refused the sign-in code"):
            await adapter.exchange_and_verify(
                code=await _code_for(adapter, nonce, verifier),
                code_verifier=new_opaque_token(),
                nonce=nonce,
            )
    finally:
        await adapter.aclose()
