"""The worker process: consumers, outbox relay and sweeps, without HTTP.

Imported before anything of the worker (``hduce worker`` imports ``.runner``), this
loads advanced-alchemy (the column types of ``hduce.adapters.sql.models``) without
Litestar. advanced-alchemy imports ``litestar.dto.data_structures`` for one optional
type whenever Litestar is installed, and that import loads all of Litestar (about
200 modules, 6 to 7 MB) into a process that serves no HTTP. With that one module
marked missing during the import, advanced-alchemy uses its own stand-in for the
type (as it does where Litestar is not installed); HDUCE uses only its column types
and registry. The mark is removed at once: Litestar still imports normally later.
"""

from __future__ import annotations

import sys

_LITESTAR_DTO = "litestar.dto.data_structures"


def _import_advanced_alchemy_without_litestar() -> None:
    if "advanced_alchemy" in sys.modules or _LITESTAR_DTO in sys.modules:
        return  # already imported (a test process, the CLI's own imports): nothing to save
    sys.modules[_LITESTAR_DTO] = None  # type: ignore[assignment]  # "not installed"
    try:
        import advanced_alchemy.types  # noqa: F401
    finally:
        del sys.modules[_LITESTAR_DTO]


_import_advanced_alchemy_without_litestar()
