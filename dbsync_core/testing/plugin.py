"""pytest plugin: a real PostgreSQL server and a fresh database per test module.

Registered through the ``pytest11`` entry point, so installing ``dbsync_core[test]`` makes the
fixtures available. The server is, in order: ``DBSYNC_TEST_DSN`` if set; a testcontainers
PostgreSQL if a Docker engine answers a 2 s ping; an embedded PostgreSQL in a temporary directory.
Async fixtures run on pytest-asyncio's session loop (set ``asyncio_default_test_loop_scope =
"session"`` so your tests share it: pooled asyncpg connections belong to the loop that made them).

Fixtures:

- ``dbsync_pg_server`` (session): the :class:`~dbsync_core.testing.PgServer`.
- ``dbsync_database_url`` (module): a new, empty, uuid-named database; dropped afterwards.
- ``dbsync_engine`` (module): an ``AsyncEngine`` on that database; disposed afterwards.
- ``dbsync_conn`` (function): an ``AsyncConnection`` from that engine, rolled back afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dbsync_core._pg import (
    PgServer,
    create_database,
    drop_database,
    resolve_test_server,
    unique_database_name,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without pytest-asyncio only the server fixture exists
    _HAVE_PYTEST_ASYNCIO = False
else:
    _HAVE_PYTEST_ASYNCIO = True


@pytest.fixture(scope="session")
def dbsync_pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """The PostgreSQL server every dbsync fixture of this session uses."""
    with resolve_test_server(tmp_path_factory.mktemp("pg") / "pgdata") as server:
        yield server


if _HAVE_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture(scope="module", loop_scope="session")
    async def dbsync_database_url(dbsync_pg_server: PgServer) -> AsyncIterator[URL]:
        """A new empty database for this test module, dropped when the module ends."""
        name = unique_database_name()
        await create_database(dbsync_pg_server.url, name)
        try:
            yield dbsync_pg_server.database_url(name)
        finally:
            await drop_database(dbsync_pg_server.url, name)

    @pytest_asyncio.fixture(scope="module", loop_scope="session")
    async def dbsync_engine(dbsync_database_url: URL) -> AsyncIterator[AsyncEngine]:
        """An ``AsyncEngine`` on the module's database."""
        from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

        engine = create_async_engine(dbsync_database_url, pool_size=4, max_overflow=4)
        try:
            yield engine
        finally:
            await engine.dispose()

    @pytest_asyncio.fixture(loop_scope="session")
    async def dbsync_conn(dbsync_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """A connection on the module's database; whatever the test left open is rolled back."""
        async with dbsync_engine.connect() as conn:
            yield conn
            if conn.in_transaction():
                await conn.rollback()
