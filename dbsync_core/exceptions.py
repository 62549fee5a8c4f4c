"""The library's exceptions: a small hierarchy, each subclassing the built-in it reads as.

Driver errors (asyncpg, SQLAlchemy) pass through unwrapped unless the library adds information.
"""

from __future__ import annotations

__all__ = [
    "DbsyncError",
    "InvalidInputError",
    "NotFoundError",
    "SchemaExistsError",
    "UnsupportedSchemaError",
]


class DbsyncError(Exception):
    """Base class of every exception dbsync_core raises itself."""


class InvalidInputError(DbsyncError, ValueError):
    """An argument is malformed; raised before any SQL is sent."""


class NotFoundError(DbsyncError, LookupError):
    """A query that must return a row returned none."""


class UnsupportedSchemaError(DbsyncError):
    """The database is not a db-sync schema this library can read."""


class SchemaExistsError(DbsyncError):
    """Refusing to create a schema in a database that already holds tables."""
