"""Faults on real servers: killed backends, a server restart, an exhausted pool, cancelled
queries, and a chain rollback (a db-sync fork) in the middle of keyset paging.

Each test checks the outcome for the caller (recovered by ``retry``, or a clear error) and that
the pool is usable afterwards with nothing leaked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from dbsync_core import blocks
from dbsync_core._exec import fetch_all, fetch_scalar, pages, stream
from dbsync_core.runtime import RetryPolicy, is_connection_error, is_transient, pool_status, retry
from tests.runtime_support import (
    black_hole,
    chain_rollback,
    engine_for,
    own_chain,
    slow_rows,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from dbsync_core._pg import PgServer
    from dbsync_core.records import Block
    from dbsync_core.testing.servers import PgInstance
    from tests.runtime_support import Chain

pytest_plugins = ["tests.fix_servers"]

#: Quick retries for tests: up to 10 attempts within 20 s, backoff capped at 0.3 s.
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.02, max_delay=0.3, max_time=20)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chain(dbsync_pg_server: PgServer) -> AsyncIterator[Chain]:
    """A 500-tx synthetic chain in this module's own database (the rollback test writes to it)."""
    async with own_chain(dbsync_pg_server) as made:
        yield made


@pytest_asyncio.fixture(loop_scope="session")
async def admin(chain: Chain) -> AsyncIterator[AsyncEngine]:
    """A writable engine on the chain's server, for killing backends and writing forks."""
    async with engine_for(chain.url, read_only=False, application_name="admin") as engine:
        yield engine


async def terminate(admin: AsyncEngine, pid: int) -> None:
    """pg_terminate_backend(pid), as an operator or a failover would."""
    async with admin.connect() as conn:
        assert await fetch_scalar(conn, select(func.pg_terminate_backend(pid)))


#: The application_name of the engines whose queries the tests kill or cancel.
VICTIM = f"victim_{uuid.uuid4().hex[:8]}"
#: The victims' running pg_sleep queries, in the admin connection's database (the module's own).
_SLEEPING = text(
    "state = 'active' AND query LIKE '%pg_sleep%' AND datname = current_database()"
    f" AND application_name = '{VICTIM}'"
)


async def active_sleeps(admin: AsyncEngine) -> int:
    """How many backends of the victim engine are running a pg_sleep query right now."""
    async with admin.connect() as conn:
        count = await fetch_scalar(
            conn, select(func.count()).select_from(text("pg_stat_activity")).where(_SLEEPING)
        )
    return int(count)


async def terminate_sleepers(admin: AsyncEngine) -> None:
    """Wait for a victim's pg_sleep query, then terminate its backend."""
    await wait_until(lambda: _running(admin), within=5)
    async with admin.connect() as conn:
        await fetch_scalar(
            conn,
            select(func.pg_terminate_backend(text("pid")))
            .select_from(text("pg_stat_activity"))
            .where(_SLEEPING),
        )


@contextlib.asynccontextmanager
async def background(coro: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``coro`` as a task for the block; cancelled if still running when the block ends."""
    task = asyncio.create_task(coro)
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def assert_pool_serves(engine: AsyncEngine, queries: int = 20) -> None:
    """``queries`` concurrent reads succeed, then no connection is checked out."""

    async def read() -> Block:
        async with engine.connect() as conn:
            return await blocks.chain_tip(conn)

    tips = await asyncio.gather(*(read() for _ in range(queries)))
    assert len({tip.id for tip in tips}) == 1
    assert pool_status(engine).checked_out == 0


# ---------------------------------------------------------------------------------------------
# pg_terminate_backend
# ---------------------------------------------------------------------------------------------


async def test_backend_killed_during_a_stream(chain, admin, caplog):
    """Killed mid-stream: retry re-reads it all on a new connection; without retry a clear
    connection error, and the pool stays usable."""
    async with engine_for(chain.url, pool_size=3) as engine:
        async with engine.connect() as conn:
            expected = await fetch_all(conn, blocks.blocks_by_epoch(5))
        kills = 0

        async def read_epoch(conn: AsyncConnection, kill: bool) -> list[Block]:
            nonlocal kills
            pid = await fetch_scalar(conn, select(func.pg_backend_pid()))
            seen: list[Block] = []
            async with contextlib.aclosing(
                stream(conn, blocks.blocks_by_epoch(5), batch_size=4)
            ) as rows:
                async for row in rows:
                    seen.append(row)
                    if kill and kills == 0 and len(seen) == 4:
                        kills += 1
                        await terminate(admin, pid)
                        await asyncio.sleep(0.1)  # the server's goodbye reaches asyncpg
            return seen

        assert await retry(engine, read_epoch, True, policy=FAST_RETRY) == expected
        assert kills == 1
        assert any("retrying" in r.getMessage() for r in caplog.records)

        kills = 0
        # The stream's own transaction cannot be rolled back on the dead connection: SQLAlchemy
        # reports that (the connection invalidated), the driver's error as its context.
        with pytest.raises(DBAPIError, match="connection is closed") as caught:
            async with engine.connect() as conn:
                await read_epoch(conn, True)
        assert caught.value.connection_invalidated
        assert is_connection_error(caught.value)
        await assert_pool_serves(engine)


async def test_backend_killed_during_fetch_all(chain, admin):
    """Killed while fetch_all waits: retry recovers; without it an asyncpg connection error."""
    async with engine_for(chain.url, pool_size=3, application_name=VICTIM) as engine:
        slow = slow_rows(10, 0.1)
        async with background(terminate_sleepers(admin)) as kill:
            rows = await retry(engine, fetch_all, slow, policy=FAST_RETRY)
            await kill
        assert [row.n for row in rows] == list(range(1, 11))

        async with background(terminate_sleepers(admin)) as kill, engine.connect() as conn:
            with pytest.raises(asyncpg.ConnectionDoesNotExistError) as caught:
                await fetch_all(conn, slow)
            await kill
        assert is_connection_error(caught.value)
        assert "terminating connection due to administrator command" in str(caught.value)
        assert isinstance(caught.value.__cause__, asyncpg.AdminShutdownError)
        await assert_pool_serves(engine)


async def _running(admin: AsyncEngine) -> bool:
    return await active_sleeps(admin) > 0


async def test_backend_killed_during_a_snapshot(chain, admin):
    """Killed inside a snapshot: retry(snapshot=True) runs it again in a new snapshot."""
    async with engine_for(chain.url, pool_size=3, application_name=VICTIM) as engine:
        attempts = 0

        async def tip_and_slow(conn: AsyncConnection) -> tuple[Block, int]:
            nonlocal attempts
            attempts += 1
            tip = await blocks.chain_tip(conn)
            rows = await fetch_all(conn, slow_rows(5, 0.1))
            return tip, len(rows)

        async with background(terminate_sleepers(admin)) as kill:
            tip, count = await retry(engine, tip_and_slow, snapshot=True, policy=FAST_RETRY)
            await kill
        assert attempts == 2
        assert count == 5
        assert tip.id > 0
        await assert_pool_serves(engine)


async def test_a_server_that_never_answers_is_a_retried_connect_timeout(caplog):
    """Connecting to a hung server times out after connect_timeout; retry tries again, then
    raises TimeoutError; nothing hangs."""
    async with black_hole() as port:
        url = f"postgresql://postgres@127.0.0.1:{port}/x"
        async with engine_for(url, connect_timeout=0.2) as engine:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await retry(
                    engine,
                    blocks.chain_tip,
                    policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01),
                )
            assert time.monotonic() - started < 2
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2


# ---------------------------------------------------------------------------------------------
# Server restart
# ---------------------------------------------------------------------------------------------


async def test_server_restart_under_load_is_survived_by_retry(scratch_primary: PgInstance, caplog):
    """Reads in flight while the server restarts: every read succeeds through retry."""
    caplog.set_level(logging.WARNING, logger="dbsync_core.runtime")
    async with (
        own_chain(scratch_primary, txs=200, seed=9) as chain,
        engine_for(chain.url, pool_size=5, max_overflow=0, connect_timeout=2) as engine,
    ):
        async with engine.connect() as conn:
            tip = await blocks.chain_tip(conn)
        restarted = threading.Event()

        def restart() -> None:
            time.sleep(0.2)
            scratch_primary.stop("fast")
            time.sleep(0.3)  # down for a while: connects are refused
            scratch_primary.start()
            restarted.set()

        reads = 0

        async def reader() -> None:
            nonlocal reads
            after = 0
            while after < 10:
                found = await retry(engine, blocks.chain_tip, policy=FAST_RETRY)
                assert found == tip
                reads += 1
                after += restarted.is_set()
                await asyncio.sleep(0.005)

        restarter = asyncio.create_task(asyncio.to_thread(restart))
        try:
            await asyncio.gather(*(reader() for _ in range(8)))
        finally:
            await restarter  # a thread cannot be cancelled: the server is up again after this
        retried = [r for r in caplog.records if "retrying" in r.getMessage()]
        assert retried, "the restart did not hit any read"
        assert reads >= 80
        await assert_pool_serves(engine)


# ---------------------------------------------------------------------------------------------
# Pool exhaustion
# ---------------------------------------------------------------------------------------------


async def test_pool_exhaustion_is_a_quick_clear_timeout(chain):
    """pool_size=2, no overflow: a third checkout fails in ~pool_timeout, then the pool works."""
    async with engine_for(chain.url, pool_size=2, max_overflow=0, pool_timeout=0.5) as engine:
        async with engine.connect() as one, engine.connect() as two:
            await blocks.chain_tip(one)
            await blocks.chain_tip(two)
            started = time.monotonic()
            with pytest.raises(PoolTimeoutError, match="QueuePool limit of size 2 overflow 0"):
                async with engine.connect():
                    pass
            waited = time.monotonic() - started
            assert 0.4 < waited < 1.5
            assert not is_transient(PoolTimeoutError("x"))
        await assert_pool_serves(engine)


# ---------------------------------------------------------------------------------------------
# Cancellation
# ---------------------------------------------------------------------------------------------


async def test_a_timeout_mid_fetch_cancels_the_query_on_the_server(chain, admin):
    """asyncio.timeout around a running query: the server query ends within a second, the pool
    serves the next 20 queries, nothing is leaked."""
    async with engine_for(chain.url, pool_size=4, application_name=VICTIM) as engine:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5), engine.connect() as conn:
                await fetch_scalar(conn, select(func.pg_sleep(30)))
        gone = await wait_until(lambda: _idle(admin), within=1)
        assert gone < 1
        await assert_pool_serves(engine)


async def test_cancelling_a_stream_mid_fetch_cancels_the_query_on_the_server(chain, admin):
    """task.cancel() while a stream waits for rows: the server query ends, the pool is fine."""
    async with engine_for(chain.url, pool_size=4, application_name=VICTIM) as engine:
        got_rows = asyncio.Event()

        async def consume() -> None:
            async with (
                engine.connect() as conn,
                contextlib.aclosing(stream(conn, slow_rows(200, 0.05), batch_size=5)) as rows,
            ):
                async for _ in rows:
                    got_rows.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(got_rows.wait(), 5)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gone = await wait_until(lambda: _idle(admin), within=1)
        assert gone < 1
        await assert_pool_serves(engine)


async def _idle(admin: AsyncEngine) -> bool:
    return await active_sleeps(admin) == 0


# ---------------------------------------------------------------------------------------------
# A chain rollback during keyset paging
# ---------------------------------------------------------------------------------------------


async def test_keyset_paging_across_chain_rollbacks(chain, admin):
    """Blocks deleted and re-added with new ids between pages: no duplicates, no survivor
    skipped, every replacement seen once (keyset on id never skips a surviving row)."""
    async with engine_for(chain.url) as engine:
        async with engine.connect() as conn:
            epoch = (await blocks.chain_tip(conn)).epoch_no
            assert epoch is not None
            at_start = await fetch_all(conn, blocks.blocks_by_epoch(epoch))
        assert len(at_start) >= 20
        query = blocks.blocks_by_epoch(epoch)
        read: list[Block] = []
        deleted: list[int] = []
        cursor: str | None = None
        page_number = 0
        while True:
            async with engine.connect() as conn:
                page = await pages(conn, query, page_size=4, cursor=cursor)
            read += page.items
            page_number += 1
            async with admin.connect() as wconn:
                if page_number == 2:  # a fork ahead of the reader: the last 5 blocks replaced
                    deleted += await chain_rollback(
                        wconn, epoch=epoch, after_id=at_start[-6].id, add=6, salt="fork-1"
                    )
                elif page_number == 4:  # a fork reaching behind the reader's position
                    deleted += await chain_rollback(
                        wconn, epoch=epoch, after_id=read[-3].id, add=4, salt="fork-2"
                    )
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        async with engine.connect() as conn:
            at_end = await fetch_all(conn, blocks.blocks_by_epoch(epoch))

    ids = [b.id for b in read]
    assert ids == sorted(set(ids)), "pages overlap or go backwards"
    assert len({b.hash for b in read}) == len(read)
    start_ids = {b.id for b in at_start}
    end_ids = {b.id for b in at_end}
    survivors = start_ids & end_ids
    assert survivors <= set(ids), "a block that survived the rollbacks was skipped"
    # Blocks read before a rollback removed them were real when read; nothing else is stale.
    assert set(ids) - end_ids <= set(deleted)
    # Every replacement block (new id, after the reader's position when written) was read once.
    assert end_ids - start_ids <= set(ids)
    assert len(deleted) > 5
    assert any(i in ids for i in deleted), "the second fork should reach behind the reader"
