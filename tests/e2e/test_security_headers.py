"""Response headers a security review asks for, on the real app: security headers on
every response (errors and the documentation included), ``no-store`` on the API, HSTS
over https only, the documentation viewers (OpenAPI and AsyncAPI) served from the
package under their CSP, and ``OPTIONS``/``405`` listing every method of a path."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest
from dishka import make_async_container
from dishka.integrations.litestar import LitestarProvider
from litestar import Response, get
from litestar.routes import HTTPRoute

from hduce.bootstrap.settings import Settings
from hduce.entrypoints.http import create_app
from hduce.entrypoints.http.asyncapi import ASYNCAPI_REACT_SHA256
from hduce.entrypoints.http.openapi import SCALAR_SHA256
from tests.e2e.harness import API, PROBLEM_JSON, AppFactory, Client, register, sign_in

API_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_secured(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


# ------------------------------------------------------------------ every response


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/metrics", 200),
        ("GET", "/schema/openapi.json", 200),
        ("GET", "/schema/asyncapi", 200),
        ("GET", "/schema/asyncapi.json", 200),
        ("GET", f"{API}/specialties", 200),
        ("GET", f"{API}/auth/me", 401),
        ("POST", f"{API}/auth/login", 400),
        ("GET", f"{API}/appointments/not-an-id", 401),
        ("GET", f"{API}/no-such-route", 404),
        ("GET", "/no-such-route", 404),
        ("DELETE", "/health", 405),
        ("DELETE", f"{API}/specialties", 405),
        ("OPTIONS", f"{API}/appointments", 204),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: Client, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, json={} if method == "POST" else None)

    assert response.status_code == status
    assert_secured(response)
    if status >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    if path.startswith("/schema"):
        assert "script-src 'self'" in response.headers["content-security-policy"]
    else:
        assert response.headers["content-security-policy"] == API_CSP


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/specialties"),  # public, and still under the API's rule
        ("GET", f"{API}/auth/me"),  # 401
        ("GET", f"{API}/no-such-route"),  # 404 of no route
        ("DELETE", f"{API}/specialties"),  # 405
        ("OPTIONS", f"{API}/appointments"),
    ],
)
async def test_api_responses_are_never_stored(client: Client, method: str, path: str) -> None:
    response = await client.request(method, path)

    assert response.headers.get_list("cache-control") == ["no-store"]


async def test_signed_in_reads_and_token_responses_are_never_stored(client: Client) -> None:
    await register(client, "nora@example.org")
    headers = await sign_in(client, "nora@example.org")

    me = await client.get(f"{API}/auth/me", headers=headers)
    stream_free_list = await client.get(f"{API}/notifications", headers=headers)

    assert me.status_code == stream_free_list.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    assert stream_free_list.headers["cache-control"] == "no-store"
    assert_secured(me)


async def test_hsts_only_over_https_with_the_configured_max_age(make_client: AppFactory) -> None:
    default = await make_client()
    short = await make_client(env={"HDUCE_HSTS_MAX_AGE": "1h"})
    plain_http = httpx.AsyncClient(transport=default._transport, base_url="http://testserver.local")

    over_https = await default.get("/health")
    over_http = await plain_http.get("/health")
    configured = await short.get(f"{API}/no-such-route")

    assert over_https.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in over_http.headers
    assert_secured(over_http)
    assert configured.headers["strict-transport-security"] == "max-age=3600"
    await plain_http.aclose()


# ------------------------------------------------------------------ Cache-Control rule


@get("/private-cache", sync_to_thread=False)
def private_cache() -> Response[dict[str, str]]:
    return Response({"name": "Ana"}, headers={"Cache-Control": "private, max-age=60"})


@get("/public-cache", sync_to_thread=False)
def public_cache() -> Response[dict[str, str]]:
    return Response({"key": "public"}, headers={"Cache-Control": "public, max-age=300"})


@pytest.fixture
async def handler_client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})
    app = create_app(
        make_async_container(LitestarProvider()),
        settings,
        route_handlers=[private_cache, public_cache],
        root_route_handlers=[public_cache],
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://t.local") as client:
        yield client


async def test_an_api_handler_cannot_opt_out_of_no_store_except_by_saying_public(
    handler_client: httpx.AsyncClient,
) -> None:
    private = await handler_client.get(f"{API}/private-cache")
    public = await handler_client.get(f"{API}/public-cache")
    outside_the_api = await handler_client.get("/public-cache")

    assert private.headers.get_list("cache-control") == ["no-store"]
    assert public.headers["cache-control"] == "public, max-age=300"
    assert outside_the_api.headers["cache-control"] == "public, max-age=300"


# ------------------------------------------------------------------ the documentation viewer


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls.extend(v for k, v in attrs if k in {"src", "href"} and v is not None)
        self._in_script_without_src = tag == "script" and "src" not in values
        if tag == "script" and values.get("src"):
            self.scripts.append(str(values["src"]))
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.stylesheets.append(str(values["href"]))
        self.inline_styles += tag == "style" or "style" in values

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False


async def test_the_viewer_loads_nothing_from_another_host(client: Client) -> None:
    page = await client.get("/schema")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = _Links()
    parser.feed(page.text)
    assert parser.urls, "the page links its script"
    assert [url for url in parser.urls if not url.startswith("/")] == []
    assert re.findall(r"https?://", page.text) == []
    assert parser.inline_scripts == 0
    csp = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert not any("http" in value or "*" in value for value in csp.values())


async def test_the_viewer_script_is_the_pinned_one_served_from_the_package(client: Client) -> None:
    page = await client.get("/schema")
    parser = _Links()
    parser.feed(page.text)
    script_url = next(url for url in parser.urls if url.endswith(".js"))

    script = await client.get(script_url)

    assert script.status_code == 200
    assert script.headers["content-type"].split(";")[0] in {
        "text/javascript",
        "application/javascript",
    }
    assert hashlib.sha256(script.content).hexdigest() == SCALAR_SHA256
    assert "immutable" in script.headers["cache-control"]
    assert_secured(script)
    licence = await client.get(script_url.rsplit("/", 1)[0] + "/LICENSE")
    assert licence.status_code == 200
    assert "MIT License" in licence.text


async def test_the_viewer_is_configured_to_call_no_third_party(client: Client) -> None:
    page = await client.get("/schema")

    for setting in (
        "&quot;withDefaultFonts&quot;: false",
        "&quot;telemetry&quot;: false",
        "&quot;url&quot;: &quot;/schema/openapi.json&quot;",
    ):
        assert setting in page.text


def _policy(response: httpx.Response) -> dict[str, str]:
    header = response.headers["content-security-policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


async def test_the_asyncapi_viewer_loads_nothing_from_another_host(client: Client) -> None:
    page = await client.get("/schema/asyncapi")
    openapi_viewer = await client.get("/schema")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>HDUCE events AsyncAPI</title>" in page.text
    parser = _Links()
    parser.feed(page.text)
    assert len(parser.scripts) == len(parser.stylesheets) == 2
    assert [url for url in parser.urls if not url.startswith("/")] == []
    assert re.findall(r"https?://", page.text) == []
    assert parser.inline_scripts == parser.inline_styles == 0
    # The viewer's policy, but for 'unsafe-eval' (its Ajv compiles JSON schemas with
    # new Function): still no script from elsewhere, and no inline one.
    policy = _policy(page)
    assert policy.pop("script-src") == "'self' 'unsafe-eval'"
    viewer_policy = _policy(openapi_viewer)
    assert viewer_policy.pop("script-src") == "'self'"
    assert policy == viewer_policy
    assert_secured(page)


async def test_the_asyncapi_viewer_assets_are_served_from_the_package(client: Client) -> None:
    page = await client.get("/schema/asyncapi")
    parser = _Links()
    parser.feed(page.text)
    expected = [("text/javascript", url) for url in parser.scripts] + [
        ("text/css", url) for url in parser.stylesheets
    ]

    pinned: dict[str, str] = {}
    for content_type, url in expected:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] == content_type, url
        assert_secured(asset)
        name = url.rsplit("/", 1)[1]
        if "/asyncapi-react-" in url:
            pinned[name] = hashlib.sha256(asset.content).hexdigest()
            assert "immutable" in asset.headers["cache-control"]
        else:  # this package's own start script and stylesheet
            assert asset.headers["cache-control"] == "no-cache"
    assert pinned == ASYNCAPI_REACT_SHA256
    vendored = next(url for url in parser.scripts if "/asyncapi-react-" in url)
    licence = await client.get(vendored.rsplit("/", 1)[0] + "/LICENSE")
    assert licence.status_code == 200
    assert "Apache License" in licence.text


async def test_the_asyncapi_viewer_renders_the_document_the_page_names(client: Client) -> None:
    page = await client.get("/schema/asyncapi")
    [document_url] = re.findall(r'data-url="([^"]+)"', page.text)
    parser = _Links()
    parser.feed(page.text)
    start_script = await client.get(parser.scripts[-1])

    document = await client.get(document_url)

    assert document_url == "/schema/asyncapi.json"
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/json")
    assert document.json()["asyncapi"] == "3.0.0"
    assert document.json()["info"]["title"] == "HDUCE events"
    # The last script starts the viewer (after the bundle): the page's data-url, fetched
    # and handed to the bundle's renderer.
    assert 'getAttribute("data-url")' in start_script.text
    assert "AsyncApiStandalone.render(" in start_script.text


# ------------------------------------------------------------------ OPTIONS and Allow


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}:]+:uuid\}", str(uuid.uuid4()), re.sub(r"\{[^}:]+:(str|int)\}", "x", path))


def _allow(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


async def test_options_and_405_list_every_method_of_every_path(client: Client) -> None:
    """Anonymously (OPTIONS describes the path, it does not act), on every API path."""
    routes = [
        route
        for route in client.app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(API)
    ]
    assert len(routes) > 30
    wrong: list[str] = []
    for route in routes:
        path = _concrete(route.path)
        expected = set(route.methods)
        options = await client.options(path)
        if options.status_code != 204 or _allow(options) != expected:
            wrong.append(f"OPTIONS {path}: {options.status_code} {options.headers.get('allow')}")
        unused = next(m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in expected)
        refused = await client.request(unused, path)
        if refused.status_code != 405 or _allow(refused) != expected:
            wrong.append(f"{unused} {path}: {refused.status_code} {refused.headers.get('allow')}")
    assert wrong == []


async def test_options_does_not_authenticate_but_the_methods_still_do(client: Client) -> None:
    options = await client.options(f"{API}/appointments")
    listing = await client.get(f"{API}/appointments")

    assert options.status_code == 204
    assert _allow(options) == {"GET", "POST", "OPTIONS"}
    assert options.content == b""
    assert listing.status_code == 401
