"""dbsync_core: typed, async, fast reads of a cardano-db-sync PostgreSQL database.

Tables live in :mod:`dbsync_core.schema`, input codecs in :mod:`dbsync_core.codecs`, the
synthetic chain in :mod:`dbsync_core.synth`. Queries are :class:`Query` objects run by the
executors re-exported here (``fetch_all``, ``fetch_one``, ``stream``, ``pages``, …).

The names below are loaded on first use (PEP 562): ``import dbsync_core`` itself costs next to
nothing, and a service pays only for the modules it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dbsync_core.exceptions import (
    DbsyncError,
    InvalidInputError,
    NotFoundError,
    SchemaExistsError,
    UnsupportedSchemaError,
)

if TYPE_CHECKING:
    from dbsync_core._exec import (
        decode_numeric,
        fetch_all,
        fetch_one,
        fetch_optional,
        fetch_scalar,
        install_codecs,
        pages,
        stream,
    )
    from dbsync_core.layout import Layout, SpentMode, detect_layout
    from dbsync_core.query import Keyset, Page, Query
    from dbsync_core.records import Block
    from dbsync_core.runtime import (
        HealthReport,
        PoolStatus,
        ReplicaRouter,
        RetryPolicy,
        create_engine,
        health_check,
        is_transient,
        pool_status,
        retry,
        snapshot,
    )
    from dbsync_core.schema import create_schema

__all__ = [
    "Block",
    "DbsyncError",
    "HealthReport",
    "InvalidInputError",
    "Keyset",
    "Layout",
    "NotFoundError",
    "Page",
    "PoolStatus",
    "Query",
    "ReplicaRouter",
    "RetryPolicy",
    "SchemaExistsError",
    "SpentMode",
    "UnsupportedSchemaError",
    "__version__",
    "create_engine",
    "create_schema",
    "decode_numeric",
    "detect_layout",
    "fetch_all",
    "fetch_one",
    "fetch_optional",
    "fetch_scalar",
    "health_check",
    "install_codecs",
    "is_transient",
    "pages",
    "pool_status",
    "retry",
    "snapshot",
    "stream",
]

# Where each lazily loaded name lives.
_LAZY = {
    **dict.fromkeys(
        (
            "decode_numeric", "fetch_all", "fetch_one", "fetch_optional", "fetch_scalar",
            "install_codecs", "pages", "stream",
        ),
        "dbsync_core._exec",
    ),
    **dict.fromkeys(("Layout", "SpentMode", "detect_layout"), "dbsync_core.layout"),
    **dict.fromkeys(("Keyset", "Page", "Query"), "dbsync_core.query"),
    "Block": "dbsync_core.records",
    **dict.fromkeys(
        (
            "HealthReport", "PoolStatus", "ReplicaRouter", "RetryPolicy", "create_engine",
            "health_check", "is_transient", "pool_status", "retry", "snapshot",
        ),
        "dbsync_core.runtime",
    ),
    "create_schema": "dbsync_core.schema",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # the next access is a plain attribute lookup
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            return version("dbsync_core")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0+unknown"
    msg = f"module 'dbsync_core' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
