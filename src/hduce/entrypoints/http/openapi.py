"""The OpenAPI document and its viewer at ``/schema``.

* The viewer is Scalar, served from this package (``static/``, pinned by version and
  SHA-256): installations may have no Internet access, and a CDN would see who reads
  the documentation. Its page loads nothing from another host, runs no inline script
  (the configuration is a data attribute) and is served under ``VIEWER_CSP``.
* A request body that refuses unknown fields (``forbid_unknown_fields``) says so:
  ``additionalProperties: false``, so clients and fuzzers are not told that any extra
  key is fine when the server answers it with a 400.
* Optional bodies are ``required: false``, optional header and query parameters are not
  nullable (``conform_operations``).
* The document declares the security schemes (``auth/schemes.py``) and, for every
  operation behind an authenticating guard, its requirement; public operations have none.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec
from litestar import Litestar, Request
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import (
    Components,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.router import Router
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router

from hduce.entrypoints.http.auth.schemes import GUARDED_SAFE, GUARDED_UNSAFE, SECURITY_SCHEMES
from hduce.entrypoints.http.auth.security import SAFE_METHODS, authenticates

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

STATIC_DIR: Final = Path(__file__).parent / "static"
SCALAR_VERSION: Final = "1.76.4"
#: Of ``static/scalar-<version>/standalone.js`` (``@scalar/api-reference``, unmodified).
SCALAR_SHA256: Final = "93951f1794b0463b87ab58d0557a6610075af79a9f94c2a3f261c993bc7f3913"
SCALAR_DIR: Final = STATIC_DIR / f"scalar-{SCALAR_VERSION}"
#: Below the documentation path; the version in the path lets browsers keep it for good.
SCALAR_ASSETS_PATH: Final = f"/static/scalar-{SCALAR_VERSION}"

_SCALAR_OPTIONS: Final = {
    # Each of these would reach a scalar.com host (the CSP refuses them anyway).
    "withDefaultFonts": False,
    "telemetry": False,
    "agent": {"disabled": True},
    "mcp": {"disabled": True},
    "showDeveloperTools": "never",
}


class OfflineScalar(ScalarRenderPlugin):
    """Scalar from this package: no CDN script, stylesheet or favicon, no inline script."""

    def __init__(self, docs_path: str) -> None:
        super().__init__(
            js_url=f"{docs_path.rstrip('/')}{SCALAR_ASSETS_PATH}/standalone.js",
            favicon="",
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        document_url = self.get_openapi_json_route(request)
        configuration = {"url": document_url, **_SCALAR_OPTIONS}
        title = html.escape(str(openapi_schema["info"]["title"]))
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n'
            "<head>\n"
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n"
            "</head>\n"
            "<body>\n"
            "<noscript>The API reference needs JavaScript; the document itself is at "
            f'<a href="{html.escape(document_url)}">openapi.json</a>.</noscript>\n'
            f'<div id="api-reference" data-configuration="{html.escape(json.dumps(configuration))}">'
            "</div>\n"
            f'<script src="{html.escape(self.js_url)}"></script>\n'
            "</body>\n"
            "</html>\n"
        ).encode()

    def receive_router(self, router: Router) -> None:
        router.register(
            create_static_files_router(
                path=SCALAR_ASSETS_PATH,
                directories=[SCALAR_DIR],
                name="scalar-assets",
                cache_control=CacheControlHeader(public=True, max_age=31_536_000, immutable=True),
                include_in_schema=False,
            )
        )


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's msgspec struct schemas, plus ``additionalProperties: false`` for the
    structs that refuse unknown fields (Litestar 2.25 leaves it out).

    Registered as an app plugin: Litestar asks app plugins before its own."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def openapi_config(*, path: str, version: str, description: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="HDUCE",
        version=version,
        description=description,
        path=path,
        render_plugins=[OfflineScalar(path)],
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),
    )


def _conforming(base: type[Operation], *, optional_body: bool) -> type[Operation]:
    """``base`` (Litestar's ``Operation`` or a handler's own subclass), minus what the
    server does not accept.

    * An optional header or query parameter (``str | None``) is documented by Litestar
      as ``oneOf: [string, null]``; neither can carry a JSON null (the text ``null`` is
      a 400), so the null branch goes: leaving the parameter out is how to say "none".
    * With ``optional_body``: ``requestBody.required: false``.
    """

    @dataclass
    class Conforming(base):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            if hasattr(base, "__post_init__"):
                base.__post_init__(self)
            for parameter in self.parameters or ():
                if isinstance(parameter, Parameter) and isinstance(parameter.schema, Schema):
                    _drop_null_branch(parameter.schema)
            if optional_body and isinstance(self.request_body, RequestBody):
                self.request_body.required = False

    Conforming.__name__ = Conforming.__qualname__ = f"Conforming{base.__name__}"
    Conforming._hduce_conforming = True
    return Conforming


def _drop_null_branch(schema: Schema) -> None:
    branches = [b for b in schema.one_of or () if not (isinstance(b, Schema) and b.type == "null")]
    if schema.one_of is None or len(branches) != 1:
        return
    (kept,) = branches
    schema.one_of = None
    if isinstance(kept, Reference):
        schema.all_of = [kept]
        return
    # The branch's keywords; the ones set on the parameter's schema itself win.
    for name in (f.name for f in fields(kept)):
        if getattr(schema, name) is None and getattr(kept, name) is not None:
            setattr(schema, name, getattr(kept, name))


def conform_operations(app: Litestar) -> None:
    """Document every operation through ``_conforming``, its body optional where the
    handler's has a default (Litestar 2.25 marks every body required, and then a request
    without one, which the server accepts, reads as a violation of the document). Must
    run before the document is generated."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if getattr(handler.operation_class, "_hduce_conforming", False):
                continue  # another app built from the same handlers did it
            body = handler.parsed_fn_signature.parameters.get("data")
            optional = body is not None and body.has_default
            handler.operation_class = _conforming(handler.operation_class, optional_body=optional)


def declare_security(app: Litestar) -> None:
    """Give every operation behind ``requires_auth``/``requires_role`` its requirement.

    Derived from the guards, so the document cannot drift from what is enforced. Must
    run before the document is first generated (Litestar builds it lazily).
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.security or not any(authenticates(g) for g in handler.resolve_guards()):
                continue
            safe = handler.http_methods <= SAFE_METHODS
            handler.security = list(GUARDED_SAFE if safe else GUARDED_UNSAFE)
