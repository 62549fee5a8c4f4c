"""Fixtures: real servers started by the tests (a primary, its streaming replica, PgBouncer) and
synthetic chains on them. A plugin module: test modules list it in ``pytest_plugins``.

The servers come from :mod:`dbsync_core.testing.servers` and live for the session (a primary
that a test restarts is its own, function-scoped). Everything is stopped and deleted at the end,
also when a test fails.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from dbsync_core._pg import create_database, unique_database_name
from dbsync_core.synth import ChainConfig, seed_database
from dbsync_core.testing.servers import (
    PgBouncer,
    PgInstance,
    find_pgbouncer,
    pgbouncer,
    postgres_server,
    server_workspace,
    streaming_replica,
)
from tests.runtime_support import (
    BOUNCER_POOL_SIZE,
    CHAIN_DB,
    READER_ROLE,
    Chain,
    wait_for_replay,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def server_dir() -> Iterator[Path]:
    """A private temporary directory for the servers' data; deleted at the end of the session."""
    with server_workspace() as path:
        yield path


@pytest.fixture(scope="session")
def pg_primary(server_dir: Path) -> Iterator[PgInstance]:
    """A PostgreSQL primary on a free loopback port (streaming replication enabled)."""
    with postgres_server(server_dir, "primary") as server:
        yield server


@pytest.fixture(scope="session")
def pg_replica(pg_primary: PgInstance, server_dir: Path) -> Iterator[PgInstance]:
    """A hot standby of ``pg_primary`` (``pg_basebackup -R``), streaming."""
    with streaming_replica(pg_primary, server_dir, "replica") as server:
        yield server


@pytest.fixture(scope="session")
def pg_bouncer(pg_primary: PgInstance, server_dir: Path) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of ``pg_primary``.

    PgBouncer is a system package (no wheel exists): CI installs it and there its absence is a
    failure; on a developer's machine without it, the PgBouncer tests are skipped, saying why.
    """
    try:
        find_pgbouncer()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{exc} (CI runs these tests)")
    with pgbouncer(
        server_dir,
        pg_primary,
        pool_mode="transaction",
        default_pool_size=BOUNCER_POOL_SIZE,
        users=("postgres", READER_ROLE),
    ) as bouncer:
        yield bouncer


@pytest.fixture
def scratch_primary(server_dir: Path) -> Iterator[PgInstance]:
    """A primary of the test's own (for tests that stop or restart it)."""
    with postgres_server(server_dir, unique_database_name("scratch")) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cluster_chain(pg_primary: PgInstance, pg_replica: PgInstance) -> Chain:
    """A 2,000-tx synthetic chain (seed 1) on the primary, loaded directly, replayed by the
    replica. Read-only for tests: many share it."""
    await create_database(pg_primary.url, CHAIN_DB)
    url = pg_primary.database_url(CHAIN_DB)
    report = await seed_database(url, ChainConfig(txs=2000, seed=1))
    await wait_for_replay(pg_primary, pg_replica)
    return Chain(url, report)
