"""ReplicaRouter on a real primary and its streaming replica (started by the tests): reads spread,
a stopped replica costs no read and comes back after a health check, a lagging replica is
skipped, a snapshot stays on one server.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from dbsync_core import blocks
from dbsync_core._exec import fetch_scalar
from dbsync_core._pg import asyncpg_dsn
from dbsync_core.runtime import ReplicaRouter, RetryPolicy, health_check, pool_status, retry
from dbsync_core.testing.servers import free_port
from tests.runtime_support import CHAIN_DB, black_hole, engine_for, wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from dbsync_core.testing.servers import PgInstance
    from tests.runtime_support import Chain

pytest_plugins = ["tests.fix_servers"]

RETRY = RetryPolicy(max_attempts=8, base_delay=0.02, max_delay=0.3, max_time=20)


@pytest_asyncio.fixture(loop_scope="session")
async def engines(
    pg_primary: PgInstance, pg_replica: PgInstance, cluster_chain: Chain
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Engines on the chain database of the primary and of the replica."""
    async with (
        engine_for(pg_primary.database_url(CHAIN_DB), pool_size=5) as primary,
        engine_for(pg_replica.database_url(CHAIN_DB), pool_size=5, connect_timeout=2) as replica,
    ):
        yield primary, replica


async def on_replica(conn: AsyncConnection) -> bool:
    """Whether ``conn`` is on the standby; reads the chain tip too (a real read)."""
    await blocks.chain_tip(conn)
    return bool(await fetch_scalar(conn, select(func.pg_is_in_recovery())))


async def test_reads_spread_over_primary_and_replica(engines):
    """round_robin with read_primary alternates servers; least_busy spreads concurrent reads."""
    primary, replica = engines
    async with ReplicaRouter(primary, [replica], read_primary=True) as router:
        where: collections.Counter[bool] = collections.Counter()
        for _ in range(40):
            async with router.connect() as conn:
                where[await on_replica(conn)] += 1
        assert where == {True: 20, False: 20}
    async with ReplicaRouter(
        primary, [replica], strategy="least_busy", read_primary=True
    ) as router:
        where.clear()

        async def read() -> None:
            async with router.connect() as conn:
                where[await on_replica(conn)] += 1
                await asyncio.sleep(0.01)

        await asyncio.gather(*(read() for _ in range(40)))
        assert where[True] >= 10
        assert where[False] >= 10
        assert all(state.in_flight == 0 for state in router.status())


async def test_replicas_take_the_reads_and_the_primary_is_the_fallback(engines):
    """Without read_primary every read goes to a replica; with none usable, to the primary."""
    primary, replica = engines
    dead = engine_for(f"postgresql://postgres@127.0.0.1:{free_port()}/{CHAIN_DB}")
    async with dead as nowhere:
        async with ReplicaRouter(primary, [replica, nowhere]) as router:
            states = router.status()
            assert [s.up for s in states] == [True, True, False]
            assert states[2].error is not None
            for _ in range(10):
                async with router.connect() as conn:
                    assert await on_replica(conn)
        async with ReplicaRouter(primary, [nowhere]) as router, router.connect() as conn:
            assert not await on_replica(conn)


async def test_a_stopped_replica_costs_no_read_and_comes_back(engines, pg_replica: PgInstance):
    """500 reads over 20 tasks with retry while the replica stops: none fails; restarted, the
    replica takes reads again after a health check."""
    primary, replica = engines
    stopped = threading.Event()

    def stop() -> None:
        pg_replica.stop("fast")
        stopped.set()

    where: collections.Counter[bool] = collections.Counter()
    done = 0

    async def reader(count: int) -> None:
        nonlocal done
        for _ in range(count):
            where[await retry(router, on_replica, policy=RETRY)] += 1
            done += 1
            if done == 100:
                stopper.append(asyncio.create_task(asyncio.to_thread(stop)))
            await asyncio.sleep(0.002)

    stopper: list[asyncio.Task[None]] = []
    try:
        async with ReplicaRouter(primary, [replica], health_interval=0.2) as router:
            await asyncio.gather(*(reader(25) for _ in range(20)))
            await asyncio.gather(*stopper)
            assert done == 500
            assert where[True] >= 100  # the replica served reads before it stopped
            replica_state = router.status()[1]
            assert not replica_state.up
            assert not replica_state.usable
            before = where[True]
            for _ in range(20):
                async with router.connect() as conn:
                    assert not await on_replica(conn)
            assert where[True] == before

            await asyncio.to_thread(pg_replica.start)
            await wait_until(_usable(router), within=10)
            async with router.connect() as conn:
                assert await on_replica(conn)
    finally:
        if not pg_replica.running:
            await asyncio.to_thread(pg_replica.start)
    assert pool_status(primary).checked_out == 0
    assert pool_status(replica).checked_out == 0


def _usable(router: ReplicaRouter):
    async def check() -> bool:
        return router.status()[1].usable

    return check


async def test_a_lagging_replica_is_skipped_until_it_catches_up(
    engines, pg_primary: PgInstance, pg_replica: PgInstance
):
    """Replay paused past max_lag: reads go to the primary; resumed: back to the replica."""
    primary, replica = engines
    standby = await asyncpg.connect(asyncpg_dsn(pg_replica.url))
    writer = await asyncpg.connect(asyncpg_dsn(pg_primary.url))
    try:
        async with ReplicaRouter(
            primary, [replica], max_lag=timedelta(seconds=0.5), health_interval=3600
        ) as router:

            async def caught_up() -> bool:
                return (await router.check())[1].usable

            # A standby whose WAL receiver has not (re)connected yet has no known lag.
            await wait_until(caught_up, within=10)
            async with router.connect() as conn:
                assert await on_replica(conn)
            await standby.execute("SELECT pg_wal_replay_pause()")
            await writer.execute("CREATE TABLE IF NOT EXISTS lag_probe (at timestamptz)")
            await writer.execute("INSERT INTO lag_probe VALUES (now())")

            async def lagging() -> bool:
                report = await health_check(replica)
                return report.replay_lag is not None and report.replay_lag > timedelta(seconds=0.5)

            await wait_until(lagging, within=10)
            states = await router.check()
            assert states[1].up
            assert not states[1].usable
            assert states[1].lag is not None
            assert states[1].lag > timedelta(seconds=0.5)
            for _ in range(5):
                async with router.connect() as conn:
                    assert not await on_replica(conn)

            await standby.execute("SELECT pg_wal_replay_resume()")
            await wait_until(caught_up, within=10)
            async with router.connect() as conn:
                assert await on_replica(conn)
    finally:
        with contextlib.suppress(asyncpg.PostgresError):
            await standby.execute("SELECT pg_wal_replay_resume()")
        await writer.execute("DROP TABLE IF EXISTS lag_probe")
        await standby.close()
        await writer.close()


async def test_a_router_snapshot_stays_on_one_server(engines):
    """router.snapshot() runs every query on one server in one REPEATABLE READ transaction;
    deferrable snapshots go to the primary."""
    primary, replica = engines
    async with ReplicaRouter(primary, [replica], read_primary=True) as router:
        for _ in range(4):
            async with router.snapshot() as conn:
                port = await fetch_scalar(conn, select(func.inet_server_port()))

                async def other() -> None:
                    async with router.connect() as elsewhere:
                        await blocks.chain_tip(elsewhere)

                await asyncio.gather(*(other() for _ in range(4)))
                for _ in range(3):
                    assert await fetch_scalar(conn, select(func.inet_server_port())) == port
                isolation = select(func.current_setting("transaction_isolation"))
                assert await fetch_scalar(conn, isolation) == "repeatable read"
        async with router.snapshot(deferrable=True) as conn:
            assert not await on_replica(conn)
            assert await fetch_scalar(conn, isolation) == "serializable"


async def test_a_failed_connect_moves_the_same_request_to_another_server(engines):
    """A replica refusing connections is taken out while connecting; the request still gets a
    connection (the primary), with no retry needed."""
    primary, _ = engines
    async with (
        engine_for(f"postgresql://postgres@127.0.0.1:{free_port()}/x") as nowhere,
        ReplicaRouter(primary, [nowhere], health_interval=3600) as router,
    ):
        router._replicas[0].up = True  # as if it had passed its last check
        started = time.monotonic()
        async with router.connect() as conn:
            assert not await on_replica(conn)
        assert time.monotonic() - started < 2
        assert not router.status()[1].up


async def test_a_hung_replica_is_skipped_after_its_connect_timeout(engines):
    """A replica that accepts but never answers: the read moves to the primary after the
    replica's connect_timeout, and the replica leaves the rotation."""
    primary, _ = engines
    async with (
        black_hole() as port,
        engine_for(f"postgresql://postgres@127.0.0.1:{port}/x", connect_timeout=0.3) as hung,
        ReplicaRouter(primary, [hung], health_interval=3600, health_timeout=0.3) as router,
    ):
        assert not router.status()[1].up  # the first health check timed out
        router._replicas[0].up = True  # as if it had passed its last check
        started = time.monotonic()
        async with router.connect() as conn:
            assert not await on_replica(conn)
        assert time.monotonic() - started < 1.5
        assert not router.status()[1].up


async def test_router_close_stops_the_health_checks(engines):
    """After close() no health-check task is left running."""
    primary, replica = engines
    router = ReplicaRouter(primary, [replica], health_interval=0.05)
    async with router.connect() as conn:  # starts the checks on first use
        assert await on_replica(conn)
    await asyncio.sleep(0.2)
    await router.close()
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert not any(name.startswith("dbsync_core: replica") for name in names)
    with pytest.raises(RuntimeError, match="closed"):
        await router.start()
