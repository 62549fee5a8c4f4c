"""dbsync_core: typed, async, fast reads of a cardano-db-sync PostgreSQL database.

Tables live in :mod:`dbsync_core.schema`; the exceptions in :mod:`dbsync_core.exceptions`.
"""

from __future__ import annotations

from typing import Any

from dbsync_core.exceptions import (
    DbsyncError,
    InvalidInputError,
    NotFoundError,
    SchemaExistsError,
    UnsupportedSchemaError,
)
from dbsync_core.schema import create_schema

__all__ = [
    "DbsyncError",
    "InvalidInputError",
    "NotFoundError",
    "SchemaExistsError",
    "UnsupportedSchemaError",
    "__version__",
    "create_schema",
]


def __getattr__(name: str) -> Any:
    # Computed on first use: reading package metadata costs a few ms at import time.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            return version("dbsync_core")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0+unknown"
    msg = f"module 'dbsync_core' has no attribute {name!r}"
    raise AttributeError(msg)
