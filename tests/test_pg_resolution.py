"""How the test server is chosen, and the helpers that create and drop databases."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from dbsync_core._pg import (
    PgServer,
    asyncpg_dsn,
    create_database,
    docker_available,
    drop_database,
    resolve_test_server,
    sqlalchemy_url,
    unique_database_name,
)


def test_dsn_wins_and_is_rewritten_for_asyncpg(tmp_path):
    """DBSYNC_TEST_DSN is used as given, with the asyncpg driver."""
    env = {"DBSYNC_TEST_DSN": "postgresql://postgres:s3cret@db.example:6543/postgres"}
    with resolve_test_server(tmp_path, env=env) as server:
        assert server.kind == "dsn"
        assert server.url.drivername == "postgresql+asyncpg"
        assert server.url.port == 6543
        assert "s3cret" not in repr(server)


def test_forcing_docker_without_an_engine_is_an_error(tmp_path, monkeypatch):
    """DBSYNC_TEST_PG=docker with no engine fails loudly instead of falling back."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    if docker_available():
        pytest.fail("this test needs a machine without a Docker engine")
    with pytest.raises(RuntimeError, match="no Docker engine"):  # noqa: SIM117
        with resolve_test_server(tmp_path, env={"DBSYNC_TEST_PG": "docker"}):
            pass


def test_unknown_backend_is_rejected(tmp_path):
    """A misspelt DBSYNC_TEST_PG is rejected."""
    with pytest.raises(RuntimeError, match="must be 'docker' or 'embedded'"):  # noqa: SIM117
        with resolve_test_server(tmp_path, env={"DBSYNC_TEST_PG": "sqlite"}):
            pass


def test_url_helpers_round_trip():
    """URLs convert between SQLAlchemy's asyncpg form and asyncpg's plain DSN."""
    url = sqlalchemy_url("postgresql://postgres@/postgres?host=/tmp/sock")
    assert url.drivername == "postgresql+asyncpg"
    assert url.query == {"host": "/tmp/sock"}
    assert asyncpg_dsn(url) == "postgresql://postgres@/postgres?host=%2Ftmp%2Fsock"
    assert unique_database_name() != unique_database_name()


async def test_create_and_drop_database(dbsync_pg_server: PgServer, dbsync_engine):
    """A created database exists until dropped, even with a connection still open to it."""
    name = unique_database_name()
    await create_database(dbsync_pg_server.url, name)
    holder = await asyncpg.connect(asyncpg_dsn(dbsync_pg_server.database_url(name)))
    try:
        async with dbsync_engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
            )
            assert found == 1
            await drop_database(dbsync_pg_server.url, name)
            found = await conn.scalar(
                text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
            )
            assert found == 0
    finally:
        await holder.close()


async def test_each_module_gets_its_own_empty_database(dbsync_conn, dbsync_database_url):
    """The module's database is the connection's, named with a uuid, and starts empty."""
    current = await dbsync_conn.scalar(text("SELECT current_database()"))
    assert current == dbsync_database_url.database
    assert dbsync_database_url.database.startswith("dbsync_test_")
    tables = await dbsync_conn.scalar(
        text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    )
    assert tables == 0
