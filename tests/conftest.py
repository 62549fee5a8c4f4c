"""Shared fixtures. The PostgreSQL server and per-module databases come from the library's own
pytest plugin (``dbsync_core.testing.plugin``, loaded through its ``pytest11`` entry point)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dbsync_core._pg import PgServer, create_database, drop_database, unique_database_name

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """The db-sync schema as read from a database built by db-sync's own migrations."""
    data: dict[str, Any] = json.loads((DATA / "dbsync-schema.json").read_text())
    return data


FreshDb = Callable[[], contextlib.AbstractAsyncContextManager[AsyncEngine]]


@pytest.fixture(scope="session")
def fresh_db(dbsync_pg_server: PgServer) -> FreshDb:
    """Make another empty database (dropped on exit) when one per module is not enough."""

    @contextlib.asynccontextmanager
    async def make() -> AsyncIterator[AsyncEngine]:
        name = unique_database_name()
        await create_database(dbsync_pg_server.url, name)
        engine = create_async_engine(dbsync_pg_server.database_url(name))
        try:
            yield engine
        finally:
            await engine.dispose()
            await drop_database(dbsync_pg_server.url, name)

    return make
