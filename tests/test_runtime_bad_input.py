"""Hostile input, driven by Hypothesis, into every public function of ``dbsync_core.blocks`` (and
the executors' paging arguments) and of ``dbsync_core.runtime``.

Wrong types, wrong lengths, bad checksums, SQL fragments, NUL bytes, huge batches, negative and
huge numbers: the only exception allowed is ``InvalidInputError``, no SQL reaches the server for
a rejected value (counted at the asyncpg level and by SQLAlchemy's cursor events), and no
connection is left checked out. The number of rejected inputs is reported at the end.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from dbsync_core import blocks
from dbsync_core._exec import pages, stream
from dbsync_core.codecs import pool_id_text
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.runtime import (
    ReplicaRouter,
    RetryPolicy,
    create_engine,
    health_check,
    pool_status,
    retry,
    snapshot,
)
from tests.runtime_support import own_chain

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core._pg import PgServer

#: Rejected inputs per function, reported when the module ends.
REJECTED: collections.Counter[str] = collections.Counter()

SQL_FRAGMENTS = [
    "'; DROP TABLE block; --",
    "1; DELETE FROM tx; --",
    "' OR '1'='1",
    "') UNION SELECT * FROM pg_shadow --",
    "$1",
    "%(block_hash)s",
    "\\x00",
    "\x00",
    "ab\x00cd",
    "00" * 31 + "\x00\x00",
    "pool1'; DROP TABLE pool_hash; --",
    "postgresql://x:y@127.0.0.1:1/db'; DROP TABLE block; --",
    "\u202e" + "ab" * 32,
    "ab" * 32 + "\n",
    " " + "ab" * 32,
    "AB" * 32 + "'",
]

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_POOL = pool_id_text(bytes(range(28)))


@st.composite
def broken_bech32(draw: st.DrawFn) -> str:
    """A pool id with one character changed: the checksum no longer matches."""
    index = draw(st.integers(5, len(_POOL) - 1))
    replacement = draw(st.sampled_from(_BECH32).filter(lambda c: c != _POOL[index]))
    return _POOL[:index] + replacement + _POOL[index + 1 :]


hostile: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([-1, 0, 2**31, 2**63, 10**9, -(2**63)]),
    st.floats(),
    st.decimals(),
    st.sampled_from([float("nan"), float("inf"), Decimal("NaN"), 1.0, 0.5, -0.0]),
    st.text(max_size=80),
    st.sampled_from(SQL_FRAGMENTS),
    st.binary(max_size=70),
    st.binary(max_size=64).filter(lambda b: len(b) not in (28, 32)).map(bytes.hex),
    st.text(alphabet="0123456789abcdefgxyz", min_size=64, max_size=64),
    broken_bech32(),
    st.lists(st.integers(), max_size=4),
    st.lists(st.sampled_from(SQL_FRAGMENTS), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.timedeltas(),
    st.complex_numbers(),
    st.builds(object),
    st.just(b"\x00" * 32 + b"\x00"),
)
huge_batches = st.sampled_from(
    [
        ["ab" * 32] * 10_001,
        [bytes(32)] * 10_001,
        [1] * 10_001,
        list(range(10_001)),
        range(2**40),
    ]
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def counted(
    dbsync_pg_server: PgServer, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[AsyncEngine, list[str]]]:
    """An engine on a small synthetic chain whose every statement is recorded: what asyncpg
    sends (the executors' fast path) and what SQLAlchemy's cursor runs."""
    sent: list[str] = []

    def log_driver(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda q: sent.append(q.query))

    def log_cursor(*args: Any) -> None:
        sent.append(args[2])

    async with own_chain(dbsync_pg_server, txs=100, seed=11) as chain:
        engine = create_engine(chain.url, pool_size=2, max_overflow=0)
        event.listen(engine.sync_engine, "connect", log_driver)
        event.listen(engine.sync_engine, "before_cursor_execute", log_cursor)
        try:
            async with engine.connect() as conn:
                await blocks.chain_tip(conn)  # warm: the dialect's first-connect queries
            yield engine, sent
            assert pool_status(engine).checked_out == 0
        finally:
            await engine.dispose()
    total = sum(REJECTED.values())
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\n[bad input] {total:,} hostile inputs rejected with InvalidInputError over "
                f"{len(REJECTED)} functions, no SQL sent for any"
            )


async def _settle() -> None:
    """Let asyncpg deliver query-log callbacks (it calls them soon after, not during)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def _call(make: Callable[[], Any]) -> Any:
    result = make()
    if inspect.isawaitable(result):
        result = await result
    if inspect.isasyncgen(result):
        await result.aclose()
    return result


async def rejects(label: str, make: Callable[[], Any], sent: list[str]) -> None:
    """Call; if the value is rejected, it must be InvalidInputError with no SQL sent."""
    await _settle()
    before = len(sent)
    try:
        result = await _call(make)
    except InvalidInputError:
        await _settle()
        assert sent[before:] == [], f"{label}: SQL sent for rejected input: {sent[before:]}"
        REJECTED[label] += 1
        return
    if isinstance(result, AsyncEngine):
        await result.dispose()


# ---------------------------------------------------------------------------------------------
# dbsync_core.blocks
# ---------------------------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[Any], object]] = {
    "latest_blocks": lambda v: blocks.latest_blocks(limit=v),
    "block_by_hash": blocks.block_by_hash,
    "blocks_by_hashes": blocks.blocks_by_hashes,
    "block_by_number": blocks.block_by_number,
    "blocks_by_numbers": blocks.blocks_by_numbers,
    "block_by_slot": blocks.block_by_slot,
    "blocks_by_epoch": blocks.blocks_by_epoch,
    "blocks_by_epoch(newest_first)": lambda v: blocks.blocks_by_epoch(1, newest_first=v),
    "blocks_by_slot_leader": blocks.blocks_by_slot_leader,
    "blocks_by_slot_leader(newest_first)": lambda v: blocks.blocks_by_slot_leader(
        _POOL, newest_first=v
    ),
}
RUNNERS: dict[str, Callable[[AsyncConnection, Any], object]] = {
    "fetch_block": blocks.fetch_block,
    "fetch_latest_blocks": lambda conn, v: blocks.fetch_latest_blocks(conn, limit=v),
    "pages(page_size)": lambda conn, v: pages(conn, blocks.blocks_by_epoch(1), page_size=v),
    "pages(cursor)": lambda conn, v: pages(conn, blocks.blocks_by_epoch(1), page_size=5, cursor=v),
    "stream(batch_size)": lambda conn, v: stream(conn, blocks.blocks_by_epoch(1), batch_size=v),
}


@settings(max_examples=1500, deadline=None)
@given(name=st.sampled_from(sorted(BUILDERS)), value=st.one_of(hostile, huge_batches))
def test_block_builders_reject_hostile_input(name, value):
    """Every builder of dbsync_core.blocks raises only InvalidInputError for bad values."""
    try:
        BUILDERS[name](value)
    except InvalidInputError:
        REJECTED[name] += 1


@settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(sorted(RUNNERS)), value=st.one_of(hostile, huge_batches))
async def test_block_runners_reject_hostile_input_before_any_sql(counted, name, value):
    """Runners and paging arguments: InvalidInputError before any SQL, connection returned."""
    engine, sent = counted
    async with engine.connect() as conn:
        await rejects(name, lambda: RUNNERS[name](conn, value), sent)
    assert pool_status(engine).checked_out == 0


async def test_chain_tip_takes_no_arguments_but_the_connection(counted):
    """chain_tip has no value argument to get wrong; it reads the tip."""
    engine, _ = counted
    async with engine.connect() as conn:
        assert (await blocks.chain_tip(conn)).id > 0
    assert blocks.tip().params == {}


# ---------------------------------------------------------------------------------------------
# dbsync_core.runtime
# ---------------------------------------------------------------------------------------------

_DSN = "postgresql://svc@127.0.0.1:5432/cexplorer"
_ENGINE_ARGS = [
    "read_only",
    "pool_size",
    "max_overflow",
    "pool_timeout",
    "statement_timeout",
    "application_name",
    "pgbouncer",
    "pool_recycle",
    "pool_pre_ping",
    "connect_timeout",
]
_POLICY_ARGS = ["max_attempts", "base_delay", "max_delay", "max_time", "attempt_timeout"]
_ROUTER_ARGS = ["strategy", "max_lag", "health_interval", "health_timeout", "read_primary"]


async def _noop(conn: AsyncConnection) -> None:
    return None


def runtime_calls(engine: AsyncEngine) -> dict[str, Callable[[Any], object]]:
    """Each runtime function with one argument left to the strategy."""
    calls: dict[str, Callable[[Any], object]] = {
        "create_engine(dsn)": create_engine,
        "snapshot(source)": snapshot,
        "snapshot(deferrable)": lambda v: snapshot(engine, deferrable=v),
        "retry(source)": lambda v: retry(v, _noop),
        "retry(fn)": lambda v: retry(engine, v),
        "retry(policy)": lambda v: retry(engine, _noop, policy=v),
        "retry(snapshot)": lambda v: retry(engine, _noop, snapshot=v),
        "health_check(engine)": health_check,
        "health_check(timeout)": lambda v: health_check(engine, timeout=v),
        "pool_status": pool_status,
        "ReplicaRouter(primary)": lambda v: ReplicaRouter(v, []),
        "ReplicaRouter(replicas)": lambda v: ReplicaRouter(engine, v),
    }
    for arg in _ENGINE_ARGS:
        calls[f"create_engine({arg})"] = _with_keyword(create_engine, _DSN, arg=arg)
    for arg in _POLICY_ARGS:
        calls[f"RetryPolicy({arg})"] = _with_keyword(RetryPolicy, arg=arg)
    for arg in _ROUTER_ARGS:
        calls[f"ReplicaRouter({arg})"] = _with_keyword(ReplicaRouter, engine, [], arg=arg)
    return calls


def _with_keyword(
    function: Callable[..., object], *args: object, arg: str
) -> Callable[[Any], object]:
    """``function(*args, <arg>=value)`` as a function of the value."""
    return lambda value: function(*args, **{arg: value})


_RUNTIME_NAMES = sorted(runtime_calls(cast("AsyncEngine", None)))


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(_RUNTIME_NAMES),
    value=st.one_of(hostile, st.sampled_from([timedelta(0), timedelta(days=-1), timedelta.max])),
)
async def test_runtime_functions_reject_hostile_input_before_any_sql(counted, name, value):
    """create_engine, RetryPolicy, snapshot, retry, health_check, pool_status, ReplicaRouter:
    InvalidInputError for bad values, no SQL, no connection left checked out."""
    engine, sent = counted
    await rejects(name, lambda: runtime_calls(engine)[name](value), sent)
    assert pool_status(engine).checked_out == 0


def test_runtime_errors_name_the_argument():
    """The message starts with the argument's name, like the codecs' errors."""
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: create_engine(_DSN, pool_size=0), "pool_size: "),
        (lambda: create_engine(_DSN, statement_timeout=-1), "statement_timeout: "),
        (lambda: create_engine(_DSN, application_name="a\x00b"), "application_name: "),
        (lambda: create_engine(b"postgresql://"), "dsn: "),  # type: ignore[arg-type]
        (lambda: RetryPolicy(max_attempts=0), "max_attempts: "),
        (lambda: RetryPolicy(base_delay=float("nan")), "base_delay: "),
        (lambda: snapshot("engine"), "source: "),  # type: ignore[arg-type]
        (lambda: pool_status(None), "engine: "),  # type: ignore[arg-type]
    ]
    for make, prefix in cases:
        with pytest.raises(InvalidInputError) as caught:
            make()
        assert str(caught.value).startswith(prefix)
        assert isinstance(caught.value, ValueError)
