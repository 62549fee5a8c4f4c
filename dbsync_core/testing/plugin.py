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
- ``dbsync_chain_factory`` (session): ``await factory(txs=…, seed=…, variant=…)`` gives a
  :class:`SyntheticDb`, a database holding a synthetic db-sync chain and its ground truth;
  databases are made once per (config, variant) and shared by the session.
- ``dbsync_chain`` (function): the chain asked for by ``@pytest.mark.dbsync_chain(txs=…,
  seed=…, variant=Variant(…))`` (default: 2,000 txs, seed 0, default variant).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from dbsync_core._pg import (
    PgServer,
    create_database,
    drop_database,
    resolve_test_server,
    unique_database_name,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from dbsync_core.synth import SeedReport, Variant

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without pytest-asyncio only the server fixture exists
    _HAVE_PYTEST_ASYNCIO = False
else:
    _HAVE_PYTEST_ASYNCIO = True


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``dbsync_chain`` marker."""
    config.addinivalue_line(
        "markers", "dbsync_chain(txs, seed, variant): the synthetic chain dbsync_chain loads"
    )


@attrs.frozen
class SyntheticDb:
    """A database holding a synthetic chain: where it is and what the generator knows of it."""

    url: URL = attrs.field(repr=lambda u: u.render_as_string(hide_password=True))
    report: SeedReport = attrs.field(repr=False)

    @property
    def variant(self) -> Variant:
        """The db-sync configuration the chain was written as."""
        return self.report.variant


@pytest.fixture(scope="session")
def dbsync_pg_server() -> Iterator[PgServer]:
    """The PostgreSQL server every dbsync fixture of this session uses."""
    # Not under pytest's basetemp: pytest deletes old basetemp dirs when other sessions start,
    # which would pull the data directory from under a running server.
    with (
        tempfile.TemporaryDirectory(prefix="dbsync-pg-") as scratch,
        resolve_test_server(Path(scratch) / "pgdata") as server,
    ):
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

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def dbsync_chain_factory(
        dbsync_pg_server: PgServer,
    ) -> AsyncIterator[Callable[..., Awaitable[SyntheticDb]]]:
        """Load synthetic chains on demand; each (config, variant) once per session."""
        from dbsync_core.synth import ChainConfig, Variant, seed_database  # noqa: PLC0415

        made: dict[tuple[ChainConfig, Variant], SyntheticDb] = {}

        async def make(
            txs: int = 2000, seed: int = 0, variant: Variant | None = None, **config: Any
        ) -> SyntheticDb:
            key = (ChainConfig(txs=txs, seed=seed, **config), variant or Variant())
            if key not in made:
                name = unique_database_name("dbsync_chain")
                await create_database(dbsync_pg_server.url, name)
                url = dbsync_pg_server.database_url(name)
                try:
                    report = await seed_database(url, key[0], key[1])
                except BaseException:
                    await drop_database(dbsync_pg_server.url, name)
                    raise
                made[key] = SyntheticDb(url, report)
            return made[key]

        try:
            yield make
        finally:
            for db in made.values():
                assert db.url.database is not None
                await drop_database(dbsync_pg_server.url, db.url.database)

    @pytest_asyncio.fixture(loop_scope="session")
    async def dbsync_chain(
        request: pytest.FixtureRequest,
        dbsync_chain_factory: Callable[..., Awaitable[SyntheticDb]],
    ) -> SyntheticDb:
        """The chain of the test's ``dbsync_chain`` marker (default 2,000 txs, seed 0)."""
        marker = request.node.get_closest_marker("dbsync_chain")
        kwargs = dict(marker.kwargs) if marker else {}
        return await dbsync_chain_factory(**kwargs)
