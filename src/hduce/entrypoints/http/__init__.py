"""HTTP entry point: the Litestar application and its cross-cutting pieces.

The modules here are the application and what every feature shares: ``app``
(``create_app``) and ``health``, which it always mounts beside ``/metrics`` and
``/schema``; ``problems`` (RFC 9457 error bodies), ``request_context`` (request ids,
access log), ``inputs`` (what request values may be: text without NUL, dates and
instants in range), ``decoding`` (which holds every route to those rules and reads
values strictly) and ``examples`` (the values of the OpenAPI examples).

Each package is one feature (``auth``, ``admin``, ``clinic``, ``appointments``,
``notifications``), all of the same shape:

* ``__init__``: ``route_handlers()``, the controllers to mount under ``/api/v1``;
* one module per resource holding its controller (``doctors``, ``transitions``...);
* ``schemas``: the request and response bodies (a package with one module per
  resource when a single file grows past ~400 lines);
* ``responses``, when needed: what several controllers answer with (documented
  problem responses, headers, response builders).
"""

# First: Litestar without advanced-alchemy (the module says why).
from hduce.entrypoints import _litestar  # noqa: F401

# isort: split
from hduce.application.ports import ReadinessProbe, ReadinessProbes
from hduce.entrypoints.http.app import API_PREFIX, BackgroundService, create_app

__all__ = ["API_PREFIX", "BackgroundService", "ReadinessProbe", "ReadinessProbes", "create_app"]
