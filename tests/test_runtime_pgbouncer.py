"""The library behind PgBouncer in transaction mode (started by the tests, in front of a primary
they start): the block catalogue gives what a direct connection gives, no prepared statement is
left on a shared server connection, and the session settings reach the server another way.

PgBouncer's ``default_pool_size`` (2) is below the client pools' size, so a client's
transactions run on different server connections, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dbsync_core import blocks
from dbsync_core._exec import fetch_all, fetch_one, fetch_scalar, pages, stream
from dbsync_core.runtime import is_transient, pool_status, snapshot
from tests.runtime_support import (
    BOUNCER_POOL_SIZE,
    CHAIN_DB,
    READER_ROLE,
    engine_for,
    sqlstates,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from dbsync_core.records import Block
    from dbsync_core.testing.servers import PgBouncer, PgInstance
    from tests.runtime_support import Chain

pytest_plugins = ["tests.fix_servers"]

DOCS = Path(__file__).parent.parent / "docs" / "deployment.md"


@pytest_asyncio.fixture(loop_scope="session")
async def bounced(pg_bouncer: PgBouncer, cluster_chain: Chain) -> AsyncIterator[AsyncEngine]:
    """create_engine(..., pgbouncer=True) on the chain through PgBouncer, 6 client connections."""
    url = pg_bouncer.database_url(CHAIN_DB)
    async with engine_for(url, pgbouncer=True, pool_size=6, max_overflow=0) as engine:
        yield engine


@pytest_asyncio.fixture(loop_scope="session")
async def direct(cluster_chain: Chain) -> AsyncIterator[AsyncEngine]:
    """create_engine on the primary itself, for comparison."""
    async with engine_for(cluster_chain.url) as engine:
        yield engine


async def catalogue_reads(conn: AsyncConnection, epochs: list[int]) -> dict[str, object]:
    """The block catalogue's runners and every executor, as one result to compare."""
    tip = await blocks.chain_tip(conn)
    latest = await blocks.fetch_latest_blocks(conn, limit=25)
    by_hash = [await fetch_one(conn, blocks.block_by_hash(b.hash)) for b in latest[::5]]
    paged: list[Block] = []
    for epoch in epochs:
        cursor = None
        while True:
            page = await pages(conn, blocks.blocks_by_epoch(epoch), page_size=7, cursor=cursor)
            paged += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    async with contextlib.aclosing(
        stream(conn, blocks.blocks_by_epoch(epochs[-1]), batch_size=5)
    ) as rows:
        streamed = [row async for row in rows]
    return {
        "tip": tip,
        "latest": latest,
        "by_hash": by_hash,
        "paged": paged,
        "streamed": streamed,
        "all": await fetch_all(conn, blocks.blocks_by_epoch(epochs[0])),
    }


async def test_catalogue_through_pgbouncer_equals_a_direct_connection(bounced, direct):
    """chain_tip, latest blocks, lookups, pages and streams through PgBouncer, 24 clients at
    once, give exactly what the primary gives directly."""
    async with direct.connect() as conn:
        tip = await blocks.chain_tip(conn)
        assert tip.epoch_no is not None
        epochs = list(range(max(0, tip.epoch_no - 2), tip.epoch_no + 1))
        expected = await catalogue_reads(conn, epochs)
    assert len(expected["paged"]) > 40  # type: ignore[arg-type]

    async def client() -> dict[str, object]:
        async with bounced.connect() as conn:
            return await catalogue_reads(conn, epochs)

    results = await asyncio.gather(*(client() for _ in range(24)))
    assert all(result == expected for result in results)
    assert pool_status(bounced).checked_out == 0


async def test_statements_hop_between_server_connections(bounced):
    """One client connection's statements run on several server connections (PgBouncer's
    transaction pooling), and every one of them still works."""
    pids: set[int] = set()

    async def client() -> None:
        async with bounced.connect() as conn:
            for _ in range(20):
                pids.add(await fetch_scalar(conn, select(func.pg_backend_pid())))
                await blocks.chain_tip(conn)
                await asyncio.sleep(0)

    await asyncio.gather(*(client() for _ in range(6)))
    assert len(pids) == BOUNCER_POOL_SIZE


async def test_no_prepared_statement_is_left_on_server_connections(bounced):
    """After lookups, pages and streams, the server connections hold no prepared statement."""
    async with bounced.connect() as conn:
        tip = await blocks.chain_tip(conn)
        assert tip.epoch_no is not None
        for _ in range(3):
            await catalogue_reads(conn, [tip.epoch_no])
    async with bounced.connect() as one, bounced.connect() as two:
        seen = {}
        for conn in (one, two):  # two transactions at once hold both server connections
            await conn.begin()
            pid = await fetch_scalar(conn, select(func.pg_backend_pid()))
            seen[pid] = await fetch_scalar(
                conn, select(func.count()).select_from(text("pg_prepared_statements"))
            )
        for conn in (one, two):
            await conn.rollback()
    assert len(seen) == BOUNCER_POOL_SIZE
    assert set(seen.values()) == {0}


async def test_a_stream_survives_other_queries_on_its_connection(bounced, direct):
    """Lookups on the streaming connection between rows do not disturb the stream's portal."""
    async with direct.connect() as conn:
        tip = await blocks.chain_tip(conn)
        assert tip.epoch_no is not None
        expected = await fetch_all(conn, blocks.blocks_by_epoch(tip.epoch_no))
    async with bounced.connect() as conn:
        seen = []
        async with contextlib.aclosing(
            stream(conn, blocks.blocks_by_epoch(tip.epoch_no), batch_size=3)
        ) as rows:
            async for row in rows:
                seen.append(row)
                assert await fetch_one(conn, blocks.block_by_hash(row.hash)) == row
    assert seen == expected


async def test_a_snapshot_through_pgbouncer_stays_on_one_server_connection(
    bounced, pg_primary: PgInstance, cluster_chain
):
    """A snapshot's queries all run on one server connection and see one moment."""
    async with (
        engine_for(pg_primary.database_url(CHAIN_DB), read_only=False) as writer,
        snapshot(bounced) as conn,
    ):
        first_pid = await fetch_scalar(conn, select(func.pg_backend_pid()))
        count = await fetch_scalar(conn, select(func.count()).select_from(text("pg_class")))

        async def busy() -> None:
            async with bounced.connect() as other:
                for _ in range(10):
                    await blocks.chain_tip(other)

        await asyncio.gather(*(busy() for _ in range(4)))
        async with writer.begin() as wconn:
            await wconn.execute(text("CREATE TABLE seen_by_nobody (id int)"))
        for _ in range(5):
            assert await fetch_scalar(conn, select(func.pg_backend_pid())) == first_pid
        assert await fetch_scalar(conn, select(func.count()).select_from(text("pg_class"))) == count
    async with (
        engine_for(pg_primary.database_url(CHAIN_DB), read_only=False) as writer,
        writer.begin() as wconn,
    ):
        await wconn.execute(text("DROP TABLE seen_by_nobody"))


async def test_read_only_through_pgbouncer(bounced):
    """Through PgBouncer every transaction begins READ ONLY: writes fail with 25006."""
    async with bounced.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            await conn.execute(text("CREATE TABLE intruder (id int)"))
        assert "25006" in sqlstates(caught.value)
    async with snapshot(bounced) as conn:
        ro = await fetch_scalar(conn, select(func.current_setting("transaction_read_only")))
        assert ro == "on"


async def test_application_name_and_statement_timeout_through_pgbouncer(
    pg_bouncer: PgBouncer, pg_primary: PgInstance, cluster_chain
):
    """application_name reaches the server; the statement timeout cancels the query from the
    client (asyncpg command_timeout) and the server stops running it."""
    url = pg_bouncer.database_url(CHAIN_DB)
    async with (
        engine_for(url, pgbouncer=True, application_name="bounced", statement_timeout=0.3) as eng,
        engine_for(pg_primary.url, read_only=False) as admin,
        eng.connect() as conn,
    ):
        name = await fetch_scalar(conn, select(func.current_setting("application_name")))
        assert name == "bounced"
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await fetch_scalar(conn, select(func.pg_sleep(5)))
        assert time.monotonic() - started < 2

        async def no_sleep() -> bool:
            async with admin.connect() as aconn:
                running = await fetch_scalar(
                    aconn,
                    select(func.count())
                    .select_from(text("pg_stat_activity"))
                    .where(text("state = 'active' AND query LIKE '%pg_sleep%'"))
                    .where(text("pid <> pg_backend_pid()")),
                )
            return int(running) == 0

        assert await wait_until(no_sleep, within=1) < 1
        assert await blocks.chain_tip(conn)


async def test_without_the_flag_pgbouncer_refuses_the_session_settings(
    pg_bouncer: PgBouncer, cluster_chain
):
    """A plain read-only engine cannot even connect: PgBouncer rejects the startup parameter
    (08P01, not retried)."""
    async with engine_for(pg_bouncer.database_url(CHAIN_DB)) as engine:
        with pytest.raises(DBAPIError, match="unsupported startup parameter") as caught:
            async with engine.connect() as conn:
                await blocks.chain_tip(conn)
    assert "08P01" in sqlstates(caught.value)
    assert not is_transient(caught.value)


async def test_without_the_flag_cached_prepared_statements_break(
    pg_bouncer: PgBouncer, cluster_chain
):
    """Without pgbouncer=True a statement prepared on one server connection is missing on the
    next one: asyncpg's InvalidSQLStatementNameError (26000)."""
    url = pg_bouncer.database_url(CHAIN_DB)
    async with (
        engine_for(url, read_only=False, pool_size=2) as engine,
        engine.connect() as one,
        engine.connect() as two,
    ):
        await blocks.chain_tip(one)  # prepared (named, cached) on the server connection S
        await two.begin()
        await blocks.chain_tip(two)  # two's transaction now holds S
        with pytest.raises(asyncpg.InvalidSQLStatementNameError, match="does not exist"):
            await blocks.chain_tip(one)  # runs on the other server connection
        await two.rollback()


def _documented_role_sql() -> str:
    """The read-only role SQL of docs/deployment.md (the ```sql block after the role heading)."""
    doc = DOCS.read_text()
    found = re.search(r"## A read-only role.*?```sql\n(.*?)```", doc, re.DOTALL)
    assert found, "docs/deployment.md lost its read-only role SQL"
    return found.group(1)


async def test_the_documented_read_only_role_through_pgbouncer(
    pg_bouncer: PgBouncer, pg_primary: PgInstance, cluster_chain
):
    """The role docs/deployment.md creates reads everything and writes nothing, even on the
    executors' fast path outside a transaction, and carries its statement timeout."""
    sql = _documented_role_sql().replace("cexplorer", CHAIN_DB)
    admin = await asyncpg.connect(
        host=pg_primary.url.host, port=pg_primary.port, user="postgres", database=CHAIN_DB
    )
    try:
        await admin.execute(sql)
        url = pg_bouncer.database_url(CHAIN_DB, user=READER_ROLE)
        async with engine_for(url, pgbouncer=True, read_only=False) as engine:
            async with engine.connect() as conn:
                assert await blocks.chain_tip(conn)
                # The fast path, outside a transaction: the implicit transaction is read-only.
                settings = [
                    await fetch_scalar(conn, select(func.current_setting(name)))
                    for name in ("transaction_read_only", "statement_timeout")
                ]
                assert settings == ["on", "30s"]
                with pytest.raises(asyncpg.PostgresError) as refused:
                    await fetch_scalar(conn, select(func.nextval("block_id_seq")))
                assert refused.value.sqlstate in {"25006", "42501"}
            async with engine.connect() as conn:
                with pytest.raises(DBAPIError) as caught:
                    await conn.execute(text("DELETE FROM block"))
                assert sqlstates(caught.value) & {"25006", "42501"}
    finally:
        await admin.execute(f"DROP OWNED BY {READER_ROLE}; DROP ROLE {READER_ROLE}")
        await admin.close()
