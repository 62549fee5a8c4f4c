"""Helpers of the runtime tests: synthetic chains of a test's own, engines that must give back
every connection, waiting for a replica, SQLSTATEs of an exception chain."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import asyncpg
import attrs
from sqlalchemy import Text, func, select, text

from dbsync_core._pg import asyncpg_dsn, create_database, drop_database, unique_database_name
from dbsync_core.query import Query
from dbsync_core.runtime import create_engine, pool_status
from dbsync_core.synth import ChainConfig, SeedReport, seed_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from dbsync_core._pg import PgServer
    from dbsync_core.testing.servers import PgInstance

#: The read-only role docs/deployment.md tells operators to create (PgBouncer lets it in too).
READER_ROLE = "dbsync_reader"
#: PgBouncer's server connections per (user, database): smaller than the client pools, so that
#: a client's transactions land on different server connections.
BOUNCER_POOL_SIZE = 2
#: The database of the session's synthetic chain on the started primary.
CHAIN_DB = "chain"


@attrs.frozen
class Chain:
    """A synthetic chain in a database: its URL and what the generator knows of it."""

    url: URL = attrs.field(repr=lambda u: u.render_as_string(hide_password=True))
    report: SeedReport = attrs.field(repr=False)


async def wait_for_replay(primary: PgInstance, replica: PgInstance, within: float = 30) -> None:
    """Wait until the replica has replayed everything the primary wrote so far."""
    source = await asyncpg.connect(asyncpg_dsn(primary.url))
    target = await asyncpg.connect(asyncpg_dsn(replica.url))
    try:
        lsn = await source.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + within
        while not await target.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn):
            if time.monotonic() > deadline:
                msg = f"the replica has not replayed {lsn} after {within} s"
                raise AssertionError(msg)
            await asyncio.sleep(0.05)
    finally:
        await source.close()
        await target.close()


@contextlib.asynccontextmanager
async def own_chain(
    server: PgServer | PgInstance, *, txs: int = 500, seed: int = 3
) -> AsyncIterator[Chain]:
    """A synthetic chain in a new database of the test's own (it may write); dropped after."""
    name = unique_database_name("dbsync_rt")
    await create_database(server.url, name)
    try:
        url = server.database_url(name)
        report = await seed_database(url, ChainConfig(txs=txs, seed=seed))
        yield Chain(url, report)
    finally:
        await drop_database(server.url, name)


@contextlib.asynccontextmanager
async def engine_for(url: URL | str, **kw: Any) -> AsyncIterator[AsyncEngine]:
    """:func:`create_engine` (read-only by default); disposed after; asserts nothing leaked."""
    engine = create_engine(url, **kw)
    try:
        yield engine
        assert pool_status(engine).checked_out == 0, "a connection was not returned to the pool"
    finally:
        await engine.dispose()


def error_chain(exc: BaseException) -> list[BaseException]:
    """An exception and what it wraps (SQLAlchemy's ``orig``, ``__cause__``)."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [getattr(current, "orig", None), current.__cause__]
    return found


def sqlstates(exc: BaseException) -> set[str]:
    """Every SQLSTATE in an exception's chain."""
    states = (getattr(error, "sqlstate", None) for error in error_chain(exc))
    return {state for state in states if isinstance(state, str)}


@attrs.frozen(slots=True, weakref_slot=False)
class Tick:
    """A row of :func:`slow_rows`."""

    n: int
    slept: str


def slow_rows(count: int, each: float) -> Query[Tick]:
    """``count`` rows, the server sleeping ``each`` seconds for each (a slow query to cut)."""
    series = func.generate_series(1, count).table_valued("n").render_derived(name="series")
    statement = select(series.c.n.label("n"), func.pg_sleep(each).cast(Text).label("slept"))
    return Query.of(Tick, statement)


#: The newest blocks of an epoch written again as a fork: new hashes, new (higher) ids, the
#: same heights and slots, the same leaders. Appended after the epoch's current last block.
_FORK_BLOCKS = text(
    """
    INSERT INTO block (hash, epoch_no, slot_no, epoch_slot_no, block_no, previous_id,
                       slot_leader_id, size, time, tx_count, proto_major, proto_minor,
                       vrf_key, op_cert, op_cert_counter)
    SELECT sha256(b.hash || convert_to(:salt, 'UTF8') || int4send(g)), b.epoch_no,
           b.slot_no + g, b.epoch_slot_no + g, b.block_no + g, b.id, b.slot_leader_id, b.size,
           b.time + make_interval(secs => 20 * g), 0, b.proto_major, b.proto_minor, b.vrf_key,
           b.op_cert, b.op_cert_counter
    FROM (SELECT * FROM block WHERE epoch_no = :epoch ORDER BY id DESC LIMIT 1) AS b,
         generate_series(1, :add) AS g
    """
)


async def chain_rollback(
    conn: AsyncConnection, *, epoch: int, after_id: int, add: int, salt: str
) -> list[int]:
    """What db-sync does on a fork, in one transaction: delete the epoch's blocks after
    ``after_id`` (and their txs), then insert ``add`` new blocks with new ids. The deleted ids.
    """
    async with conn.begin():
        deleted = list(
            (
                await conn.execute(
                    text(
                        "SELECT id FROM block WHERE epoch_no = :epoch AND id > :after ORDER BY id"
                    ),
                    {"epoch": epoch, "after": after_id},
                )
            ).scalars()
        )
        await conn.execute(text("DELETE FROM tx WHERE block_id = ANY(:ids)"), {"ids": deleted})
        await conn.execute(text("DELETE FROM block WHERE id = ANY(:ids)"), {"ids": deleted})
        await conn.execute(_FORK_BLOCKS, {"epoch": epoch, "add": add, "salt": salt})
    return deleted


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 10) -> float:
    """Poll ``predicate`` every 20 ms until it holds; how long it took (fails after ``within``)."""
    started = time.monotonic()
    while not await predicate():
        if time.monotonic() - started > within:
            msg = f"still not true after {within} s"
            raise AssertionError(msg)
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers (a hung server)."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
