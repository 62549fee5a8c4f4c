"""Testing helpers: a real PostgreSQL for your tests (see :mod:`dbsync_core.testing.plugin`)."""

from __future__ import annotations

from dbsync_core._pg import PgServer

__all__ = ["PgServer"]
