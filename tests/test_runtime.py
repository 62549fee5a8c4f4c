"""The production runtime on the session's PostgreSQL: the engine factory (read-only sessions,
timeouts, secrets), pool statistics, the health check, snapshots, retries and a load test.

Servers the tests stop or put behind PgBouncer are in test_runtime_pgbouncer,
test_runtime_replicas and test_faults.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import random
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_type

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from dbsync_core import blocks
from dbsync_core._exec import fetch_one, fetch_scalar
from dbsync_core.exceptions import InvalidInputError, NotFoundError
from dbsync_core.records import Block
from dbsync_core.runtime import (
    HealthReport,
    PoolStatus,
    RetryPolicy,
    create_engine,
    health_check,
    is_connection_error,
    is_transient,
    pool_status,
    retry,
    snapshot,
)
from dbsync_core.testing.servers import free_port
from tests.runtime_support import engine_for, error_chain, own_chain, sqlstates

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from dbsync_core._pg import PgServer
    from tests.runtime_support import Chain

pytest_plugins = ["tests.fix_servers"]

SECRET = "S3cr3t-pa55w0rd"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chain(dbsync_pg_server: PgServer) -> AsyncIterator[Chain]:
    """A 500-tx synthetic chain in this module's own database (tests may write to it)."""
    async with own_chain(dbsync_pg_server) as made:
        yield made


INSERT_BLOCKS = text(
    """
    INSERT INTO block (hash, epoch_no, slot_no, epoch_slot_no, block_no, previous_id,
                       slot_leader_id, size, time, tx_count, proto_major, proto_minor,
                       vrf_key, op_cert, op_cert_counter)
    SELECT sha256(b.hash || int4send(g)), b.epoch_no, b.slot_no + g, b.epoch_slot_no + g,
           b.block_no + g, b.id, b.slot_leader_id, b.size, b.time + make_interval(secs => 20 * g),
           0, b.proto_major, b.proto_minor, b.vrf_key, b.op_cert, b.op_cert_counter
    FROM (SELECT * FROM block ORDER BY id DESC LIMIT 1) AS b, generate_series(1, :n) AS g
    """
)


# ---------------------------------------------------------------------------------------------
# create_engine
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u@127.0.0.1:5432/db",
        "postgresql+asyncpg://u@127.0.0.1:5432/db",
        "postgres://u@127.0.0.1:5432/db",
        make_url("postgresql://u@127.0.0.1:5432/db"),
    ],
)
async def test_create_engine_rewrites_the_dsn_to_asyncpg(dsn):
    """postgresql://, postgres:// and postgresql+asyncpg:// (str or URL) give an asyncpg engine."""
    engine = create_engine(dsn)
    try:
        assert engine.url.drivername == "postgresql+asyncpg"
        assert (engine.url.host, engine.url.port, engine.url.database) == ("127.0.0.1", 5432, "db")
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "dsn", ["mysql://u@127.0.0.1/db", "postgresql+psycopg://u@127.0.0.1/db", "not a url", ""]
)
def test_create_engine_refuses_other_drivers(dsn):
    """Other schemes and unparseable strings raise InvalidInputError naming the dsn argument."""
    with pytest.raises(InvalidInputError, match=r"^dsn: "):
        create_engine(dsn)


async def test_sessions_carry_read_only_timeout_and_application_name(dbsync_pg_server):
    """Every session starts read-only, with the statement timeout and the application name."""
    async with (
        engine_for(
            dbsync_pg_server.url, statement_timeout=timedelta(seconds=1.5), application_name="svc"
        ) as engine,
        engine.connect() as conn,
    ):
        shown = [
            await fetch_scalar(conn, select(func.current_setting(name)))
            for name in ("default_transaction_read_only", "statement_timeout", "application_name")
        ]
        assert shown == ["on", "1500ms", "svc"]
        assert pool_status(engine) == PoolStatus(size=10, checked_out=1, overflow=0, checked_in=0)


async def test_own_connect_args_and_pool_class_are_kept(dbsync_pg_server):
    """connect_args' server_settings are merged with the engine's; NullPool works unsized."""
    async with (
        engine_for(
            dbsync_pg_server.url,
            connect_args={"server_settings": {"search_path": "pg_catalog"}},
            poolclass=NullPool,
        ) as engine,
        engine.connect() as conn,
    ):
        shown = [
            await fetch_scalar(conn, select(func.current_setting(name)))
            for name in ("search_path", "default_transaction_read_only")
        ]
        assert shown == ["pg_catalog", "on"]
        assert pool_status(engine) == PoolStatus(0, 0, 0, 0)


async def test_read_only_engine_refuses_writes_and_changes_nothing(chain):
    """INSERT, UPDATE, DDL and a writing function fail with 25006 through a read-only engine."""
    async with engine_for(chain.url) as engine:
        async with engine.connect() as conn:
            before = await fetch_scalar(conn, select(func.count()).select_from(text("block")))
            tip = await blocks.chain_tip(conn)
        writes = [
            (
                "INSERT INTO block (hash, size, slot_leader_id, time, tx_count, proto_major,"
                " proto_minor) VALUES ('\\x00'::bytea, 0, 1, now(), 0, 0, 0)"
            ),
            "UPDATE block SET size = size + 1",
            "DELETE FROM block",
            "CREATE TABLE intruder (id int)",
            "SELECT nextval('block_id_seq')",
        ]
        for sql in writes:
            async with engine.connect() as conn:
                with pytest.raises(DBAPIError) as caught:
                    await conn.execute(text(sql))
                assert "25006" in sqlstates(caught.value), sql
                chain_types = [type(error) for error in error_chain(caught.value)]
                assert asyncpg.ReadOnlySQLTransactionError in chain_types
        async with engine.connect() as conn:  # the executors' fast path, outside a transaction
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await fetch_scalar(conn, select(func.nextval("block_id_seq")))
        async with engine.connect() as conn:
            assert await fetch_scalar(conn, select(func.count()).select_from(text("block"))) == (
                before
            )
            assert await blocks.chain_tip(conn) == tip
            assert await fetch_scalar(conn, select(func.to_regclass("intruder"))) is None


async def test_statement_timeout_cancels_a_long_query_server_side(dbsync_pg_server):
    """A query running past statement_timeout fails with 57014; the connection stays usable."""
    async with (
        engine_for(dbsync_pg_server.url, statement_timeout=0.2) as engine,
        engine.connect() as conn,
    ):
        started = time.monotonic()
        with pytest.raises(asyncpg.QueryCanceledError):
            await fetch_scalar(conn, select(func.pg_sleep(5)))
        assert time.monotonic() - started < 2
        assert await fetch_scalar(conn, select(func.abs(-3))) == 3


async def test_secrets_never_appear_in_errors_reprs_or_logs(caplog):
    """A DSN password shows in no exception text, repr, health report or log record."""
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    dsn = f"postgresql://svc:{SECRET}@127.0.0.1:{port}/cexplorer"
    engine = create_engine(dsn, connect_timeout=2)
    texts: list[str] = [repr(engine), str(engine), str(engine.url), repr(engine.url)]
    try:
        with pytest.raises(OSError) as caught:
            async with engine.connect():
                pass
        chain: list[BaseException | None] = [caught.value]
        while chain:
            error = chain.pop()
            if error is not None:
                texts += [str(error), repr(error)]
                chain += [error.__cause__, error.__context__]
        report = await health_check(engine, timeout=2)
        assert not report.healthy
        texts.append(repr(report))
        with pytest.raises(OSError):
            await retry(
                engine,
                fetch_scalar,
                select(func.now()),
                policy=RetryPolicy(max_attempts=2, base_delay=0.01),
            )
    finally:
        await engine.dispose()
    # Bad DSNs: the error names the argument and never repeats the string
    for bad in (
        f"postgresql://svc:{SECRET}@127.0.0.1:notaport/db",
        f"mysql://svc:{SECRET}@127.0.0.1/db",
    ):
        with pytest.raises(InvalidInputError) as bad_dsn:
            create_engine(bad)
        texts += [str(bad_dsn.value), repr(bad_dsn.value), str(bad_dsn.value.__context__)]
    assert any("retrying" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(repr(record.exc_info[1]))
    assert all(SECRET not in entry for entry in texts)


# ---------------------------------------------------------------------------------------------
# Pool statistics and health
# ---------------------------------------------------------------------------------------------


async def test_pool_status_counts_checked_out_overflow_and_idle(dbsync_pg_server):
    """pool_status follows checkouts into the overflow and back to the idle pool."""
    async with engine_for(dbsync_pg_server.url, pool_size=2, max_overflow=2) as engine:
        assert pool_status(engine) == PoolStatus(size=2, checked_out=0, overflow=0, checked_in=0)
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            for conn in (a, b, c):
                await fetch_scalar(conn, select(func.now()))
            assert pool_status(engine) == PoolStatus(2, checked_out=3, overflow=1, checked_in=0)
        assert pool_status(engine) == PoolStatus(2, checked_out=0, overflow=0, checked_in=2)


async def test_health_check_reports_version_latency_and_role(dbsync_pg_server):
    """A reachable primary is healthy, with its version, a latency, and no replay lag."""
    async with engine_for(dbsync_pg_server.url) as engine:
        report = await health_check(engine)
    assert isinstance(report, HealthReport)
    assert report.healthy
    assert report.error is None
    assert report.server_version is not None
    assert report.server_version.split(".")[0].isdigit()
    assert 0 < report.latency < 2
    assert (report.in_recovery, report.replay_lag) == (False, None)
    assert report.pool.checked_out == 0


async def test_health_check_of_a_dead_server_is_unhealthy_not_an_exception():
    """A closed port gives healthy=False with the error text, within the timeout."""
    async with engine_for(f"postgresql://postgres@127.0.0.1:{free_port()}/x") as engine:
        started = time.monotonic()
        report = await health_check(engine, timeout=1)
    assert not report.healthy
    assert report.error is not None
    assert "Error" in report.error
    assert time.monotonic() - started < 1.5


async def test_connections_the_server_closed_are_replaced_at_checkout(chain):
    """Idle pooled connections killed by the server are discarded at checkout, not handed out."""
    async with (
        engine_for(chain.url, pool_size=3) as engine,
        engine_for(chain.url, read_only=False, application_name="killer") as admin,
    ):
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            pids = [await fetch_scalar(x, select(func.pg_backend_pid())) for x in (a, b, c)]
        async with admin.connect() as conn:
            for pid in pids:
                await fetch_scalar(conn, select(func.pg_terminate_backend(pid)))
        await asyncio.sleep(0.2)  # the end of each stream reaches asyncpg
        for _ in range(6):
            async with engine.connect() as conn:
                pid = await fetch_scalar(conn, select(func.pg_backend_pid()))
                assert pid not in pids
                assert await blocks.chain_tip(conn)


# ---------------------------------------------------------------------------------------------
# snapshot()
# ---------------------------------------------------------------------------------------------


async def test_snapshot_does_not_see_blocks_written_meanwhile(chain):
    """Two reads in one snapshot agree while a writer adds blocks; a read after sees them."""
    async with (
        engine_for(chain.url) as engine,
        engine_for(chain.url, read_only=False) as writer,
    ):
        async with snapshot(engine) as conn:
            tip = await blocks.chain_tip(conn)
            latest = await blocks.fetch_latest_blocks(conn, limit=5)
            async with writer.begin() as wconn:
                await wconn.execute(INSERT_BLOCKS, {"n": 3})
            assert await blocks.chain_tip(conn) == tip
            assert await blocks.fetch_latest_blocks(conn, limit=5) == latest
            isolation = await fetch_scalar(
                conn, select(func.current_setting("transaction_isolation"))
            )
            assert isolation == "repeatable read"
            readonly = await fetch_scalar(
                conn, select(func.current_setting("transaction_read_only"))
            )
            assert readonly == "on"
        async with engine.connect() as conn:
            new_tip = await blocks.chain_tip(conn)
            assert new_tip.id > tip.id
            assert [b.id for b in await blocks.fetch_latest_blocks(conn, limit=4)][3] == tip.id


async def test_snapshot_of_a_connection_then_the_connection_is_as_before(chain):
    """snapshot(conn) pins one transaction; afterwards the connection runs normal statements."""
    async with engine_for(chain.url) as engine, engine.connect() as conn:
        async with snapshot(conn, deferrable=True) as same:
            assert same is conn
            settings = [
                await fetch_scalar(conn, select(func.current_setting(name)))
                for name in (
                    "transaction_isolation",
                    "transaction_read_only",
                    "transaction_deferrable",
                )
            ]
            assert settings == ["serializable", "on", "on"]
        assert not conn.in_transaction()
        await conn.begin()
        assert await fetch_scalar(conn, select(func.current_setting("transaction_isolation"))) == (
            "read committed"
        )
        await conn.rollback()


async def test_snapshot_refuses_a_connection_already_in_a_transaction(chain):
    """A connection in a transaction cannot change isolation: a clear error, nothing sent."""
    async with engine_for(chain.url) as engine, engine.connect() as conn:
        await conn.begin()
        with pytest.raises(InvalidInputError, match="already in a transaction"):
            snapshot(conn)
        await conn.rollback()


async def test_snapshot_ends_its_transaction_when_the_block_fails(chain):
    """An error in the block propagates; the transaction is rolled back; nothing is leaked."""
    async with engine_for(chain.url) as engine:
        with pytest.raises(NotFoundError):
            async with snapshot(engine) as conn:
                await fetch_one(conn, blocks.block_by_hash(bytes(32)))
        async with engine.connect() as conn:
            async with snapshot(conn):
                await blocks.chain_tip(conn)
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await fetch_scalar(conn, select(func.abs(1) / 0))
            assert not conn.in_transaction()
            assert await blocks.chain_tip(conn)


# ---------------------------------------------------------------------------------------------
# retry()
# ---------------------------------------------------------------------------------------------

TRANSIENT: list[BaseException] = [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("cannot perform operation: connection is closed"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("crash shutdown"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.SerializationError("could not serialize access"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(104, "Connection reset by peer"),
    OSError("Multiple exceptions: [Errno 111] Connect call failed"),
    DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True),
]
NOT_TRANSIENT: list[BaseException] = [
    InvalidInputError("block_hash: expected 64 hex characters"),
    NotFoundError("the query returned no row"),
    asyncpg.PostgresSyntaxError("syntax error at or near"),
    asyncpg.UndefinedTableError('relation "x" does not exist'),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.InterfaceError("cursor cannot be created outside of a transaction"),
    TimeoutError(),
    PoolTimeoutError("QueuePool limit of size 2 overflow 0 reached"),
    ValueError("nope"),
    DBAPIError("SELECT 1", None, Exception("bad"), connection_invalidated=False),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_faults_are_retried(error):
    """Lost connections, shutdowns, refused connects, 40001, 40P01, 53300 are transient."""
    assert is_transient(error)
    wrapped = DBAPIError("SELECT 1", None, error)  # as SQLAlchemy wraps it
    wrapped.__cause__ = error
    assert is_transient(wrapped)


@pytest.mark.parametrize("error", NOT_TRANSIENT, ids=lambda e: type(e).__name__)
def test_other_errors_are_not_retried(error):
    """Bad input, not found, SQL errors, timeouts and pool exhaustion are not transient."""
    assert not is_transient(error)
    assert not is_connection_error(error)


def test_serialization_failures_are_transient_but_not_connection_errors():
    """40001 and 40P01 are retried without taking a server out of rotation."""
    for error in (asyncpg.SerializationError("x"), asyncpg.DeadlockDetectedError("x")):
        assert is_transient(error)
        assert not is_connection_error(error)


def test_backoff_is_exponential_with_full_jitter():
    """Retry n sleeps uniformly in [0, min(max_delay, base * 2**(n-1))]."""
    policy = RetryPolicy(base_delay=0.1, max_delay=0.5)
    random.seed(7)
    for number, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (40, 0.5), (10_000, 0.5)]:
        samples = [policy.backoff(number) for _ in range(400)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8
        assert min(samples) < ceiling * 0.2


async def test_retry_runs_again_on_fresh_connections_after_transient_faults(chain, caplog):
    """Two serialization failures, then success: three attempts, each on its own checkout."""
    seen: list[AsyncConnection] = []

    async def flaky(conn: AsyncConnection, block_no: int) -> int:
        seen.append(conn)
        if len(seen) < 3:
            raise asyncpg.SerializationError("could not serialize access")
        return (await fetch_one(conn, blocks.block_by_number(block_no))).id

    async with engine_for(chain.url) as engine:
        found = await retry(engine, flaky, 5, policy=RetryPolicy(base_delay=0.01))
        async with engine.connect() as conn:
            assert found == (await fetch_one(conn, blocks.block_by_number(5))).id
    assert len(seen) == 3
    assert len({id(conn) for conn in seen}) == 3
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2


async def test_retry_stops_at_non_transient_errors_attempts_and_time(chain):
    """Not transient: one attempt; transient: max_attempts, or fewer when max_time runs out."""
    calls = 0

    async def failing(conn: AsyncConnection, error: BaseException) -> None:
        nonlocal calls
        calls += 1
        raise error

    async with engine_for(chain.url) as engine:
        with pytest.raises(InvalidInputError):
            await retry(engine, lambda conn: blocks.fetch_block(conn, "zz"))
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await retry(engine, failing, asyncpg.PostgresSyntaxError("x"))
        assert calls == 1
        calls = 0
        policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001)
        with pytest.raises(asyncpg.DeadlockDetectedError):
            await retry(engine, failing, asyncpg.DeadlockDetectedError("x"), policy=policy)
        assert calls == 3
        calls = 0
        policy = RetryPolicy(max_attempts=100, base_delay=0.05, max_delay=0.05, max_time=0.3)
        started = time.monotonic()
        with pytest.raises(asyncpg.SerializationError):
            await retry(engine, failing, asyncpg.SerializationError("x"), policy=policy)
        assert time.monotonic() - started < 0.6
        assert 2 <= calls < 100


async def test_retry_in_a_snapshot_and_with_an_attempt_timeout(chain):
    """snapshot=True runs each attempt in a snapshot; attempt_timeout cancels a slow attempt."""
    async with engine_for(chain.url) as engine:

        async def isolation(conn: AsyncConnection) -> str:
            value = await fetch_scalar(conn, select(func.current_setting("transaction_isolation")))
            return str(value)

        assert await retry(engine, isolation, snapshot=True) == "repeatable read"
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await retry(
                engine,
                fetch_scalar,
                select(func.pg_sleep(5)),
                policy=RetryPolicy(attempt_timeout=0.2),
            )
        assert time.monotonic() - started < 2
        assert await retry(engine, fetch_scalar, select(func.abs(-4))) == 4


async def test_retry_and_snapshot_types_follow_the_function(chain):
    """retry returns what fn returns (checked by mypy), the arguments go to fn in order."""
    async with engine_for(chain.url) as engine:
        tip = await retry(engine, blocks.chain_tip)
        assert_type(tip, Block)
        found = await retry(engine, fetch_one, blocks.block_by_hash(tip.hash))
        assert_type(found, Block)
        latest = await retry(engine, lambda conn: blocks.fetch_latest_blocks(conn, limit=2))
        assert_type(latest, list[Block])
        async with snapshot(engine) as conn:
            assert_type(conn, AsyncConnection)
        assert found == tip == latest[0]


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------


async def test_ten_thousand_concurrent_lookups_over_a_pool_of_twenty(chain, capsys):
    """10,000 lookups by hash, 200 at a time, over 20 connections: no errors, nothing leaked."""
    async with engine_for(chain.url, pool_size=20, max_overflow=0) as engine:
        async with engine.connect() as conn:
            known = [b.hash for b in await blocks.fetch_latest_blocks(conn, limit=150)]
        rng = random.Random(5)
        wanted = [rng.choice(known) for _ in range(10_000)]
        gate = asyncio.Semaphore(200)
        errors: list[BaseException] = []

        async def lookup(block_hash: bytes) -> Any:
            async with gate:
                try:
                    async with engine.connect() as conn:
                        return await fetch_one(conn, blocks.block_by_hash(block_hash))
                except Exception as exc:  # noqa: BLE001  (counted, asserted below)
                    errors.append(exc)
                    return None

        started = time.perf_counter()
        found = await asyncio.gather(*(lookup(h) for h in wanted))
        elapsed = time.perf_counter() - started
        assert errors == []
        assert [b.hash for b in found] == wanted
        assert pool_status(engine).checked_out == 0
        assert pool_status(engine).checked_in <= 20
    with capsys.disabled():
        print(  # noqa: T201  (the throughput is reported, not asserted)
            f"\n[load] 10,000 lookups (fetch_one block_by_hash), 200 concurrent, pool 20: "
            f"{elapsed:.2f} s, {10_000 / elapsed:,.0f} lookups/s"
        )


# ---------------------------------------------------------------------------------------------
# The deployment guide
# ---------------------------------------------------------------------------------------------


def test_every_python_example_in_the_deployment_guide_compiles():
    """Each ```python block of docs/deployment.md is valid Python (top-level await allowed)."""
    doc = (Path(__file__).parent.parent / "docs" / "deployment.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
    assert len(examples) >= 8
    for example in examples:
        compile(example, "docs/deployment.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
