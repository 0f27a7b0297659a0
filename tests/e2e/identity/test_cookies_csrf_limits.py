"""Browser sessions (cookies + CSRF double-submit), rate limits (429 + Retry-After),
concurrent refreshes, the JWKS, and what OpenAPI shows."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import KeySet

from hduce.application.identity.policy import RateRule
from tests.e2e.harness import (
    API,
    PASSWORD,
    AppFactory,
    Backend,
    Client,
    assert_problem,
    bearer,
    login,
    register,
)

ACCESS, REFRESH, CSRF = "__Host-hduce_access", "__Secure-hduce_refresh", "__Host-hduce_csrf"


def _set_cookies(response: object) -> dict[str, SimpleCookie]:
    cookies: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            cookies[name] = cookie
    return cookies


async def test_login_sets_hardened_cookies(client: Client) -> None:
    await register(client, "ana@example.org")
    response = await client.post(
        f"{API}/auth/login", json={"email": "ana@example.org", "password": PASSWORD}
    )
    cookies = _set_cookies(response)
    assert set(cookies) == {ACCESS, REFRESH, CSRF}
    access, refresh, csrf = cookies[ACCESS][ACCESS], cookies[REFRESH][REFRESH], cookies[CSRF][CSRF]
    for morsel in (access, refresh, csrf):
        assert morsel["secure"] is True
    assert access["httponly"] is True and access["samesite"].lower() == "lax"
    assert access["path"] == "/" and int(access["max-age"]) == 900
    assert refresh["httponly"] is True and refresh["samesite"].lower() == "strict"
    assert refresh["path"] == "/api/v1/auth"
    assert not csrf["httponly"] and csrf["samesite"].lower() == "strict"  # the page reads it
    assert access.value == response.json()["access_token"]
    assert refresh.value == response.json()["refresh_token"]


async def test_cookie_sessions_need_the_csrf_header_on_unsafe_methods(client: Client) -> None:
    await register(client, "ana@example.org")
    await login(client, "ana@example.org")  # the cookie jar now holds the session
    csrf = client.cookies[CSRF]

    assert (await client.get(f"{API}/auth/me")).status_code == 200  # safe: no header needed
    refused = await client.patch(f"{API}/auth/me", json={"full_name": "Mallory"})
    assert_problem(refused, 403, "csrf-failed")
    wrong = await client.patch(
        f"{API}/auth/me", json={"full_name": "Mallory"}, headers={"X-CSRF-Token": "guess"}
    )
    assert_problem(wrong, 403, "csrf-failed")
    ok = await client.patch(
        f"{API}/auth/me", json={"full_name": "Ana"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200 and ok.json()["full_name"] == "Ana"

    # Refresh from the cookie: CSRF required; the cookies rotate, the CSRF value stays.
    old_refresh = client.cookies[REFRESH]
    assert_problem(await client.post(f"{API}/auth/refresh"), 403, "csrf-failed")
    rotated = await client.post(f"{API}/auth/refresh", headers={"X-CSRF-Token": csrf})
    assert rotated.status_code == 200, rotated.text
    assert client.cookies[REFRESH] != old_refresh and client.cookies[CSRF] == csrf

    # Logout from the cookies: CSRF required, then everything is cleared.
    assert_problem(await client.post(f"{API}/auth/logout"), 403, "csrf-failed")
    out = await client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert {name for name, c in _set_cookies(out).items() if c[name]["max-age"] == "0"} == {
        ACCESS,
        REFRESH,
        CSRF,
    }
    assert ACCESS not in client.cookies
    assert_problem(await client.get(f"{API}/auth/me"), 401, "unauthenticated")


async def test_bearer_requests_need_no_csrf_even_with_cookies_around(client: Client) -> None:
    await register(client, "ana@example.org")
    tokens = await login(client, "ana@example.org")
    response = await client.patch(
        f"{API}/auth/me", json={"full_name": "Ana"}, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 200


async def test_login_is_rate_limited_with_retry_after(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(
        backend=backend, login_per_ip=RateRule(3, 60), login_per_account=RateRule(100, 60)
    )
    await register(client, "ana@example.org")
    for _ in range(3):
        response = await client.post(
            f"{API}/auth/login", json={"email": "ana@example.org", "password": "wrong password"}
        )
        assert response.status_code == 401
    limited = await client.post(
        f"{API}/auth/login", json={"email": "ana@example.org", "password": PASSWORD}
    )
    body = assert_problem(limited, 429, "rate-limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert body["retry_after_seconds"] == int(limited.headers["retry-after"])


async def test_login_is_rate_limited_per_account(make_client: AppFactory) -> None:
    client = await make_client(login_per_account=RateRule(2, 600))
    for email in ("ana@example.org", "ghost@example.org"):  # known or not: same treatment
        for _ in range(2):
            response = await client.post(
                f"{API}/auth/login", json={"email": email, "password": "wrong password"}
            )
            assert response.status_code == 401
        limited = await client.post(
            f"{API}/auth/login", json={"email": email.upper(), "password": "wrong password"}
        )
        assert_problem(limited, 429, "rate-limited")


async def test_registration_and_refresh_are_rate_limited(make_client: AppFactory) -> None:
    client = await make_client(
        register_per_ip=RateRule(2, 3600), refresh_per_family=RateRule(2, 60)
    )
    await register(client, "a@example.org")
    await register(client, "b@example.org")
    limited = await client.post(
        f"{API}/auth/register",
        json={"email": "c@example.org", "password": PASSWORD, "full_name": "C"},
    )
    assert_problem(limited, 429, "rate-limited")
    assert "retry-after" in limited.headers

    token = (await login(client, "a@example.org"))["refresh_token"]
    for _ in range(2):
        response = await client.post(f"{API}/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    limited = await client.post(f"{API}/auth/refresh", json={"refresh_token": token})
    assert_problem(limited, 429, "rate-limited")


async def test_concurrent_refreshes_one_wins_the_rest_is_reuse(
    make_client: AppFactory, backend: Backend
) -> None:
    client = await make_client(backend=backend)
    await register(client, "ana@example.org")
    token = (await login(client, "ana@example.org"))["refresh_token"]
    client.cookies.clear()
    responses = await asyncio.gather(
        *(client.post(f"{API}/auth/refresh", json={"refresh_token": token}) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401, 401, 401, 401], [r.text for r in responses]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    # The reuse closed the family: the winner's pair is dead as well.
    after = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": winner["refresh_token"]}
    )
    assert_problem(after, 401, "unauthenticated")
    me = await client.get(f"{API}/auth/me", headers=bearer(winner["access_token"]))
    assert_problem(me, 401, "unauthenticated")


async def test_jwks_with_an_asymmetric_key(make_client: AppFactory, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    client = await make_client(
        env={
            "HDUCE_JWT_ALGORITHM": "RS256",
            "HDUCE_JWT_PRIVATE_KEY_FILE": str(key_file),
            "HDUCE_JWT_ISSUER": "https://hduce.example.org",
        }
    )
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    document = response.json()
    assert [k["kty"] for k in document["keys"]] == ["RSA"] and "d" not in document["keys"][0]
    await register(client, "ana@example.org")
    token = (await login(client, "ana@example.org"))["access_token"]
    claims = jwt.decode(token, KeySet.import_key_set(document), algorithms=["RS256"]).claims
    assert claims["iss"] == "https://hduce.example.org" and claims["role"] == "patient"
    assert (await client.get(f"{API}/auth/me", headers=bearer(token))).status_code == 200


async def test_no_jwks_and_no_google_routes_by_default(client: Client) -> None:
    assert (await client.get("/.well-known/jwks.json")).status_code == 404
    assert (await client.get(f"{API}/auth/google/login")).status_code == 404
    assert (await client.get(f"{API}/auth/google/callback")).status_code == 404
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert not [path for path in paths if "google" in path or "jwks" in path]
    assert {f"{API}/auth/login", f"{API}/auth/me", f"{API}/admin/users"} <= set(paths)


@pytest.mark.parametrize("method", ["get", "post"])
async def test_errors_never_leak_a_500(client: Client, method: str) -> None:
    response = await getattr(client, method)(f"{API}/auth/login")
    assert response.status_code in {400, 405}
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_bodies_must_be_json(client: Client, content_type: str) -> None:
    """A cross-site form can post text/plain that looks like JSON: refused (login CSRF)."""
    await register(client, "ana@example.org")
    body = b'{"email": "ana@example.org", "password": "correct horse battery staple"}'
    response = await client.post(
        f"{API}/auth/login", content=body, headers={"content-type": content_type}
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert not client.cookies
