"""Query[R] composition, the executors, the row builders, transactions and numeric decoding.

Runs on the hand-made chain of ``test_blocks`` (in this module's own database).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
import pytest_asyncio
from asyncpg.exceptions import DivisionByZeroError
from sqlalchemy import (
    BigInteger,
    Numeric,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
    type_coerce,
)
from sqlalchemy.exc import ResourceClosedError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.asyncio.exc import AsyncContextNotStarted

from dbsync_core import _exec, blocks
from dbsync_core._exec import (
    decode_numeric,
    fetch_all,
    fetch_one,
    fetch_optional,
    fetch_scalar,
    install_codecs,
    pages,
    stream,
)
from dbsync_core._rowbuild import function_maker, record_maker
from dbsync_core.exceptions import InvalidInputError, NotFoundError
from dbsync_core.query import Keyset, Page, Query, decode_cursor, encode_cursor
from dbsync_core.records import Block
from dbsync_core.schema import block, tx
from tests.test_blocks import BLOCKS, TXS, load_chain, sent_queries


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chain(dbsync_engine: AsyncEngine) -> list[Block]:
    """The module's database with the hand-made chain loaded; returns its blocks."""
    async with dbsync_engine.connect() as conn:
        await load_chain(conn)
        await conn.commit()
    return BLOCKS


def _key_id(record: Block) -> tuple[object, ...]:
    return (record.id,)


ID_KEYSET = Keyset(((block.c.id, False),), key=_key_id)
EVERY_BLOCK = blocks._base().order_by(block.c.id)


def every_block() -> Query[Block]:
    """Every block in id order, keyset on id (the catalogue's block select, unfiltered)."""
    return Query(EVERY_BLOCK, blocks._maker(), keyset=ID_KEYSET)


# ---------------------------------------------------------------------------------------------
# Executors and composition
# ---------------------------------------------------------------------------------------------


async def test_fetch_all_returns_every_row_as_records(chain, dbsync_conn):
    """fetch_all returns every row as records, in the statement's order."""
    assert await fetch_all(dbsync_conn, every_block()) == chain


async def test_fetch_one_and_optional(chain, dbsync_conn):
    """fetch_one returns the first row or raises NotFoundError; fetch_optional returns None."""
    query = every_block()
    assert await fetch_one(dbsync_conn, query) == chain[0]
    assert await fetch_optional(dbsync_conn, query) == chain[0]
    empty = query.where(block.c.id < 0)
    with pytest.raises(NotFoundError):
        await fetch_one(dbsync_conn, empty)
    assert await fetch_optional(dbsync_conn, empty) is None


async def test_fetch_scalar_of_a_select_and_of_a_query(chain, dbsync_conn):
    """fetch_scalar returns the first column of the first row, or None without rows."""
    assert await fetch_scalar(dbsync_conn, select(func.count()).select_from(block)) == len(chain)
    assert await fetch_scalar(dbsync_conn, every_block()) == chain[0].id
    by_id = select(block.c.hash).where(block.c.id == bindparam("wanted"))
    assert await fetch_scalar(dbsync_conn, by_id, {"wanted": 3}) == chain[2].hash
    assert await fetch_scalar(dbsync_conn, select(block.c.id).where(block.c.id < 0)) is None


async def test_where_order_by_limit_compose(chain, dbsync_conn):
    """where() adds criteria, order_by() replaces the order, limit() caps the rows."""
    query = every_block().where(block.c.id > 10).where(block.c.tx_count == 1)
    expected = [b for b in chain if b.id > 10 and b.tx_count == 1]
    assert await fetch_all(dbsync_conn, query) == expected
    newest = query.order_by(block.c.id.desc())
    assert await fetch_all(dbsync_conn, newest) == expected[::-1]
    assert await fetch_all(dbsync_conn, newest.limit(3)) == expected[::-1][:3]
    assert await fetch_all(dbsync_conn, newest.limit(3).limit(1)) == expected[::-1][:1]
    # the original query is unchanged: queries are immutable
    assert await fetch_all(dbsync_conn, query) == expected


async def test_user_filters_on_a_builder(chain, dbsync_conn):
    """A catalogue builder takes user criteria on any schema column."""
    query = blocks.blocks_by_epoch(2).where(block.c.tx_count == 0).limit(2)
    expected = [b for b in chain if b.epoch_no == 2 and b.tx_count == 0][:2]
    assert await fetch_all(dbsync_conn, query) == expected


async def test_same_shape_with_other_values_gives_other_rows(chain, dbsync_conn):
    """Statements of one shape share compiled SQL yet each runs with its own literal values."""
    for wanted in (3, 5, 3, 40):
        query = every_block().where(block.c.id == wanted)
        assert await fetch_all(dbsync_conn, query) == [chain[wanted - 1]]


async def test_expanding_in_is_expanded_per_call(chain, dbsync_conn):
    """An expanding IN list works with lists of different lengths (the SQL differs per length)."""
    for ids in ([1], [2, 4], [5, 6, 7, 8], [1, 2]):
        query = every_block().where(block.c.id.in_(ids))
        assert [b.id for b in await fetch_all(dbsync_conn, query)] == ids
    named = every_block().where(block.c.id.in_(bindparam("ids", expanding=True)))
    assert [b.id for b in await fetch_all(dbsync_conn, named.bind(ids=[9, 10]))] == [9, 10]
    assert [b.id for b in await fetch_all(dbsync_conn, named.bind(ids=[3]))] == [3]


async def test_bind_supplies_named_parameters(chain, dbsync_conn):
    """bind() supplies named bindparams; missing or unknown ones raise InvalidInputError."""
    query = every_block().where(block.c.id == bindparam("wanted", type_=BigInteger))
    assert await fetch_all(dbsync_conn, query.bind(wanted=4)) == [chain[3]]
    assert await fetch_all(dbsync_conn, query.bind(wanted=6)) == [chain[5]]
    with pytest.raises(InvalidInputError, match="wanted"):
        await fetch_all(dbsync_conn, query)
    with pytest.raises(InvalidInputError, match="nonsense"):
        await fetch_all(dbsync_conn, query.bind(wanted=4, nonsense=1))


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3", None, 2**63])
def test_limit_rejects_bad_values(bad):
    """limit() takes an int ≥ 1 only, and raises InvalidInputError before any SQL exists."""
    with pytest.raises(InvalidInputError, match="limit"):
        every_block().limit(bad)


def test_query_of_checks_labels_against_fields():
    """Query.of refuses a select whose labels are not the record's fields in order."""

    @attrs.frozen
    class Pair:
        id: int
        hash: bytes

    assert Query.of(Pair, select(block.c.id, block.c.hash)).maker.one((1, b"x")) == Pair(1, b"x")
    with pytest.raises(ValueError, match="differ"):
        Query.of(Pair, select(block.c.hash, block.c.id))
    with pytest.raises(TypeError):
        Query.of(int, select(block.c.id))


async def test_records_equal_naive_construction(chain, dbsync_conn):
    """Records from the fast path equal Block(*row) over a plain SQLAlchemy execute."""
    query = every_block()
    naive = [Block(*row) for row in await dbsync_conn.execute(query.to_select())]
    assert await fetch_all(dbsync_conn, query) == naive == chain


# ---------------------------------------------------------------------------------------------
# Keyset: after() and pages()
# ---------------------------------------------------------------------------------------------


def _key_tx_count_id(record: Block) -> tuple[object, ...]:
    return (record.tx_count, record.id)


def _key_time_id(record: Block) -> tuple[object, ...]:
    return (record.time, record.id)


def _key_hash(record: Block) -> tuple[object, ...]:
    return (record.hash,)


tx_count = block.c.tx_count
TIME_UTC = blocks._base().selected_columns["time"].element  # the select's UTC expression
KEYSETS: dict[str, tuple[Keyset[Block], Any]] = {
    "id asc": (Keyset(((block.c.id, False),), key=_key_id), lambda b: b.id),
    "id desc": (Keyset(((block.c.id, True),), key=_key_id), lambda b: -b.id),
    # ties in tx_count broken by id, all one direction: a row-value comparison
    "tx_count desc, id desc": (
        Keyset(((tx_count, True), (block.c.id, True)), key=_key_tx_count_id),
        lambda b: (-b.tx_count, -b.id),
    ),
    # mixed directions: the expanded OR form
    "tx_count desc, id asc": (
        Keyset(((tx_count, True), (block.c.id, False)), key=_key_tx_count_id),
        lambda b: (-b.tx_count, b.id),
    ),
    "tx_count asc, id desc": (
        Keyset(((tx_count, False), (block.c.id, True)), key=_key_tx_count_id),
        lambda b: (b.tx_count, -b.id),
    ),
    # a timestamp and a bytes key, through the cursor token
    "time desc, id asc": (
        Keyset(((TIME_UTC, True), (block.c.id, False)), key=_key_time_id),
        lambda b: (-b.time.timestamp(), b.id),
    ),
    "hash asc": (Keyset(((block.c.hash, False),), key=_key_hash), lambda b: b.hash),
}


def _keyed(name: str) -> tuple[Query[Block], list[Block]]:
    keyset, sort_key = KEYSETS[name]
    return Query(EVERY_BLOCK, blocks._maker(), keyset=keyset), sorted(BLOCKS, key=sort_key)


@pytest.mark.parametrize("name", list(KEYSETS))
@pytest.mark.parametrize("page_size", [1, 4, 7, len(BLOCKS), len(BLOCKS) + 1])
async def test_pages_walk_everything_once(chain, dbsync_conn, name, page_size):
    """Keyset pages cover the whole result in key order, with no duplicates and no gaps."""
    query, expected = _keyed(name)
    walked: list[Block] = []
    cursor: str | None = None
    calls = 0
    while True:
        page = await pages(dbsync_conn, query, page_size=page_size, cursor=cursor)
        calls += 1
        assert isinstance(page, Page)
        assert len(page.items) <= page_size
        walked += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(page.items) == page_size
        assert cursor.replace("-", "").replace("_", "").isalnum()  # URL-safe
    assert walked == expected
    assert calls == max(1, -(-len(expected) // page_size))


@pytest.mark.parametrize("name", list(KEYSETS))
async def test_after_continues_after_a_key(chain, dbsync_conn, name):
    """after(key) returns the rows strictly after the key in keyset order."""
    query, expected = _keyed(name)
    for index in (0, 5, len(expected) - 1):
        key = query.key_of(expected[index])
        assert await fetch_all(dbsync_conn, query.after(key)) == expected[index + 1 :]
        # a second after() replaces the first, it does not narrow it
        later = query.after(query.key_of(expected[-1])).after(key)
        assert await fetch_all(dbsync_conn, later) == expected[index + 1 :]


async def test_after_fixes_the_order_to_the_key(chain, dbsync_conn):
    """after() orders by the keyset, whatever order_by() said before."""
    query, expected = _keyed("id asc")
    shuffled = query.order_by(block.c.tx_count, block.c.id.desc())
    assert await fetch_all(dbsync_conn, shuffled.after((10,))) == expected[10:]
    assert await fetch_all(dbsync_conn, shuffled.after((10,)).limit(2)) == expected[10:12]


def test_after_rejects_bad_keys():
    """after() wants a tuple of the keyset's arity without None, and a keyset at all."""
    query, _ = _keyed("tx_count desc, id asc")
    for bad in [(1,), (1, 2, 3), (None, 4), "ab", b"ab", 5]:
        with pytest.raises(InvalidInputError, match="after"):
            query.after(bad)  # type: ignore[arg-type]
    no_keyset = Query(every_block().statement, every_block().maker)
    with pytest.raises(InvalidInputError, match="keyset"):
        no_keyset.after((1,))


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]


async def test_cursor_tampering_is_rejected(chain, dbsync_conn):
    """A garbled, truncated, foreign or forged cursor raises InvalidInputError before SQL."""
    query, _ = _keyed("tx_count desc, id asc")
    page = await pages(dbsync_conn, query, page_size=3)
    token = page.next_cursor
    assert token is not None
    keyset = query.keyset
    assert keyset is not None
    other_query, _ = _keyed("id asc")
    other = (await pages(dbsync_conn, other_query, page_size=3)).next_cursor
    assert other is not None
    # a token made for the same order but carrying a value of the wrong type
    forged = encode_cursor(keyset, ("one", 4))
    bad_tokens: list[object] = [
        "",
        "x",
        token[:-2],
        token + "A",
        token + "=",
        token.replace("A", "+") if "A" in token else token + "+",
        _flip(token, 0),
        _flip(token, len(token) // 2),
        _flip(token, len(token) - 1),
        "A" * 5000,
        "!!!not base64!!!",
        other,
        forged,
        12,
        b"bytes",
    ]
    for bad in bad_tokens:
        async with sent_queries(dbsync_conn) as sent:
            with pytest.raises(InvalidInputError, match="cursor"):
                await pages(dbsync_conn, query, page_size=3, cursor=bad)  # type: ignore[arg-type]
        assert sent == [], bad
    # the genuine token still works, and decodes to the last row's key
    assert decode_cursor(keyset, token) == query.key_of(page.items[-1])


def test_cursor_version_is_checked():
    """A well-formed token of an unknown version is refused as such."""
    import base64  # noqa: PLC0415

    from dbsync_core import query as query_module  # noqa: PLC0415

    keyset = KEYSETS["id asc"][0]
    token = encode_cursor(keyset, (5,))
    blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    raw = bytes([9]) + blob[1:-8]
    forged = base64.urlsafe_b64encode(raw + query_module._tag(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidInputError, match="version"):
        decode_cursor(keyset, forged)


def test_cursor_round_trips_every_key_type():
    """Tokens carry ints, bytes, str, datetimes and decimals back unchanged."""
    columns = tuple((block.c.id, False) for _ in range(5))
    keyset: Keyset[Any] = Keyset(columns, key=lambda r: r)
    object.__setattr__(keyset, "types", (object,) * 5)
    values = (
        2**70,
        b"\x00\xff",
        "ä/b?c",
        datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
        Decimal("1.5"),
    )
    token = encode_cursor(keyset, values)
    assert decode_cursor(keyset, token) == values
    assert token.isascii()
    assert all(c.isalnum() or c in "-_" for c in token)


async def test_pages_rejects_bad_arguments_before_sql(chain, dbsync_engine):
    """pages() checks page_size, cursor and keyset before any SQL, even on a closed connection."""
    query, _ = _keyed("id asc")
    no_keyset = Query(every_block().statement, every_block().maker)
    calls: list[Any] = [
        lambda c: pages(c, query, page_size=0),
        lambda c: pages(c, query, page_size=10_001),
        lambda c: pages(c, query, page_size="5"),  # type: ignore[arg-type]
        lambda c: pages(c, query, page_size=5, cursor="garbage"),
        lambda c: pages(c, no_keyset, page_size=5),
        lambda c: fetch_all(c, every_block().bind(unknown=1)),
    ]
    async with dbsync_engine.connect() as conn:
        for call in calls:
            async with sent_queries(conn) as sent:
                with pytest.raises(InvalidInputError):
                    await call(conn)
            assert sent == []
    for call in calls:
        with pytest.raises(InvalidInputError):
            await call(conn)


# ---------------------------------------------------------------------------------------------
# stream()
# ---------------------------------------------------------------------------------------------


async def test_stream_yields_everything_in_order(chain, dbsync_conn):
    """stream() yields every row in order, whatever the batch size, and ends its transaction."""
    for batch_size in (1, 3, len(chain), 1000):
        got = [b async for b in stream(dbsync_conn, every_block(), batch_size=batch_size)]
        assert got == chain
        assert not dbsync_conn.in_transaction()


async def test_stream_runs_in_a_transaction_of_its_own(chain, dbsync_conn):
    """Without a caller's transaction stream() begins one for its cursor and commits it."""
    async with sent_queries(dbsync_conn) as sent:
        got = [b async for b in stream(dbsync_conn, every_block(), batch_size=10)]
    assert got == chain
    assert sent == ["BEGIN;", "COMMIT;"]  # asyncpg does not log cursor statements


async def test_stream_closed_early_ends_its_transaction(chain, dbsync_conn):
    """Breaking out of an aclosing() stream closes the cursor and its transaction."""
    async with contextlib.aclosing(stream(dbsync_conn, every_block(), batch_size=2)) as rows:
        async for record in rows:
            assert dbsync_conn.in_transaction()
            if record.id == 3:
                break
    assert not dbsync_conn.in_transaction()
    assert await fetch_one(dbsync_conn, every_block()) == chain[0]
    async with dbsync_conn.begin():  # a fresh transaction can begin: nothing is left open
        count = await fetch_scalar(dbsync_conn, select(func.count()).select_from(block))
        assert count == len(chain)


async def test_stream_abandoned_leaves_the_connection_usable(chain, dbsync_conn):
    """A stream dropped mid-way (plain break) leaves a usable connection, as autobegin would."""
    async for record in stream(dbsync_conn, every_block(), batch_size=2):
        if record.id == 3:
            break
    for _ in range(3):
        await asyncio.sleep(0)  # let the event loop finalise the abandoned generator
    assert await fetch_all(dbsync_conn, every_block().limit(2)) == chain[:2]
    assert [b async for b in stream(dbsync_conn, every_block(), batch_size=5)] == chain
    await dbsync_conn.rollback()
    assert not dbsync_conn.in_transaction()
    assert await fetch_one(dbsync_conn, every_block()) == chain[0]


async def test_stream_inside_the_callers_transaction(chain, dbsync_conn):
    """In the caller's transaction stream() neither begins nor ends one."""
    async with dbsync_conn.begin():
        async with sent_queries(dbsync_conn) as sent:
            got = [b async for b in stream(dbsync_conn, every_block(), batch_size=7)]
        assert got == chain
        assert dbsync_conn.in_transaction()
        assert "COMMIT;" not in sent
        assert "ROLLBACK;" not in sent
        # interleaving: another query while a stream is open
        async for record in stream(dbsync_conn, every_block(), batch_size=2):
            assert await fetch_one(dbsync_conn, blocks.block_by_hash(record.hash)) == record
    assert not dbsync_conn.in_transaction()


async def test_stream_on_an_autocommit_connection(chain, dbsync_engine):
    """On an AUTOCOMMIT connection stream() opens and ends a driver transaction of its own."""
    async with dbsync_engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        got = [b async for b in stream(auto, every_block(), batch_size=4)]
        assert got == chain
        driver = await _exec.acquire_driver(auto)
        assert not driver.is_in_transaction()
        async with contextlib.aclosing(stream(auto, every_block(), batch_size=2)) as rows:
            async for _ in rows:
                break
        assert not driver.is_in_transaction()
        assert await fetch_scalar(auto, select(func.count()).select_from(block)) == len(chain)


async def test_stream_rejects_bad_batch_size_at_call(chain, dbsync_conn):
    """stream() checks batch_size when called, before iteration and before any SQL."""
    bad: Any
    for bad in (0, -5, True, "10", 10**7):
        with pytest.raises(InvalidInputError, match="batch_size"):
            stream(dbsync_conn, every_block(), batch_size=bad)


async def test_stream_error_rolls_back_its_transaction(chain, dbsync_conn):
    """A failing streamed statement raises and leaves no transaction behind."""
    broken = every_block().where(literal_column("1/0") == 1)
    with pytest.raises(DivisionByZeroError):
        [b async for b in stream(dbsync_conn, broken, batch_size=2)]
    assert not dbsync_conn.in_transaction()
    assert await fetch_one(dbsync_conn, every_block()) == chain[0]


# ---------------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------------


async def test_plain_read_sends_no_begin(chain, dbsync_conn):
    """Outside a transaction a read is one statement: no BEGIN, no ROLLBACK, no transaction."""
    async with sent_queries(dbsync_conn) as sent:
        first = await fetch_scalar(dbsync_conn, select(func.now()))
        await asyncio.sleep(0.01)
        second = await fetch_scalar(dbsync_conn, select(func.now()))
        await fetch_all(dbsync_conn, blocks.latest_blocks(limit=2))
        await fetch_one(dbsync_conn, blocks.tip())
        await pages(dbsync_conn, blocks.latest_blocks(), page_size=2)
    assert first != second  # now() is the transaction's start: two transactions
    assert not dbsync_conn.in_transaction()
    assert not any(q.upper().startswith(("BEGIN", "ROLLBACK", "COMMIT")) for q in sent)
    assert len(sent) == 5


async def test_reads_join_the_callers_transaction(chain, dbsync_conn):
    """Inside conn.begin() reads run in that transaction (one BEGIN, then the reads)."""
    async with dbsync_conn.begin():
        async with sent_queries(dbsync_conn) as sent:
            first = await fetch_scalar(dbsync_conn, select(func.now()))
            await asyncio.sleep(0.01)
            second = await fetch_scalar(dbsync_conn, select(func.now()))
        assert first == second
        assert sent[0].startswith("BEGIN")
        assert sum(q.startswith("BEGIN") for q in sent) == 1
        assert len(sent) == 3


async def test_repeatable_read_snapshot_is_honoured(chain, dbsync_engine):
    """A read in a REPEATABLE READ transaction does not see a row committed after its snapshot."""
    async with dbsync_engine.connect() as conn, dbsync_engine.connect() as writer:
        snap = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with snap.begin():
            before = await fetch_scalar(snap, select(func.count()).select_from(block))
            new_id = 10_000
            await writer.execute(
                text(
                    "INSERT INTO block (id, hash, slot_leader_id, size, time, tx_count,"
                    " proto_major, proto_minor) VALUES"
                    " (:id, :hash, 1, 0, now(), 0, 0, 0)"
                ),
                {"id": new_id, "hash": bytes(31) + b"\x01"},
            )
            await writer.commit()
            try:
                assert await fetch_scalar(snap, select(func.count()).select_from(block)) == before
                tip = await blocks.chain_tip(snap)
                assert tip.id != new_id
                assert [b async for b in stream(snap, every_block())][-1].id != new_id
            finally:
                await writer.execute(text("DELETE FROM block WHERE id = :id"), {"id": new_id})
                await writer.commit()
        # a new read outside the snapshot sees the (now deleted again) table as it is
        assert await fetch_scalar(conn, select(func.count()).select_from(block)) == len(chain)


async def test_lazily_begun_transaction_is_started_before_the_read(chain, dbsync_engine):
    """If SQLAlchemy has begun but not yet started the driver transaction, the read starts it."""
    async with dbsync_engine.connect() as conn:
        await conn.begin()
        driver = await _exec.acquire_driver(conn)
        assert driver.is_in_transaction()
        await conn.rollback()
        await conn.begin()
        adapter = (await conn.get_raw_connection()).dbapi_connection
        assert adapter._transaction is None
        await fetch_one(conn, blocks.tip())
        assert driver.is_in_transaction()
        await conn.rollback()
        assert not driver.is_in_transaction()


# ---------------------------------------------------------------------------------------------
# numeric → int
# ---------------------------------------------------------------------------------------------


@attrs.frozen(weakref_slot=False)
class TxValue:
    id: int
    fee: int
    out_sum: int


async def test_lovelace_arrives_as_int(chain, dbsync_conn):
    """numeric(20,0) columns arrive as int, up to 2**64 - 1, in records and scalars."""
    query = Query.of(TxValue, select(tx.c.id, tx.c.fee, tx.c.out_sum).order_by(tx.c.id))
    found = await fetch_all(dbsync_conn, query)
    assert found == [TxValue(i, f, o) for i, _, f, o in TXS]
    assert all(type(v.fee) is int and type(v.out_sum) is int for v in found)
    total = await fetch_scalar(dbsync_conn, select(func.sum(tx.c.out_sum)))
    assert total == sum(o for *_, o in TXS)
    assert type(total) is int


async def test_numeric_codec_keeps_fractions_exact(chain, dbsync_conn):
    """Fractional, NaN and infinite numerics stay Decimal; integral ones become int."""
    cases = {
        "1.50::numeric": Decimal("1.50"),
        "-0.001::numeric": Decimal("-0.001"),
        "'NaN'::numeric": None,
        "'Infinity'::numeric": Decimal("Infinity"),
        "12345678901234567890123::numeric": 12345678901234567890123,
        "-7::numeric(20,0)": -7,
        "avg(x)::numeric FROM (VALUES (1), (2)) v(x)": Decimal("1.5"),
    }
    for sql, expected in cases.items():
        value = await fetch_scalar(dbsync_conn, select(literal_column(sql)))
        if expected is None:
            assert isinstance(value, Decimal)
            assert value.is_nan()
        else:
            assert value == expected
            assert type(value) is type(expected)
    array = await fetch_scalar(dbsync_conn, select(literal_column("ARRAY[1, 2.5]::numeric[]")))
    assert array == [1, Decimal("2.5")]
    # numeric parameters are encoded too
    echoed = select(type_coerce(bindparam("n", type_=Numeric()), Numeric()))
    for value in (10**30, Decimal("0.1"), 7):
        assert await fetch_scalar(dbsync_conn, echoed, {"n": value}) == value


def test_decode_numeric():
    """decode_numeric turns integral text into int and anything else into Decimal."""
    assert decode_numeric("18446744073709551615") == 2**64 - 1
    assert decode_numeric("-3") == -3
    assert decode_numeric("3.0") == Decimal("3.0")
    assert isinstance(decode_numeric("3.0"), Decimal)
    nan = decode_numeric("NaN")
    assert isinstance(nan, Decimal)
    assert nan.is_nan()


async def test_install_codecs_on_connect(chain, dbsync_database_url):
    """install_codecs as an engine connect handler decodes numeric to int on new connections."""
    engine = create_async_engine(dbsync_database_url)
    event.listen(engine.sync_engine, "connect", install_codecs)
    try:
        async with engine.connect() as conn:
            # through SQLAlchemy's own execute, before the library touched the connection
            value = await conn.scalar(select(literal_column("5::numeric(20,0)")))
            assert type(value) is int
            assert type(await fetch_scalar(conn, select(tx.c.fee).limit(1))) is int
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------
# Row builders
# ---------------------------------------------------------------------------------------------


def _sample_row(n: int = 1) -> tuple[Any, ...]:
    return (
        n,
        b"h" * 32,
        1,
        2,
        3,
        4,
        None,
        b"l" * 28,
        "pool1x",
        5,
        datetime(2020, 1, 1, tzinfo=UTC),
        6,
        7,
        8,
        "vrf",
        b"o" * 32,
        9,
    )


def test_generated_builder_matches_the_constructor():
    """Built records equal, hash like and are as frozen as records from Block(*row)."""
    maker = record_maker(Block, 17)
    assert maker.fast
    row = _sample_row()
    built, normal = maker.one(row), Block(*row)
    assert type(built) is Block
    assert built == normal
    assert hash(built) == hash(normal)
    assert repr(built) == repr(normal)
    assert attrs.asdict(built) == attrs.asdict(normal)
    assert attrs.evolve(built, id=2) == Block(*_sample_row(2))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.id = 5  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del built.hash
    rows = [_sample_row(n) for n in range(50)]
    assert maker.many(rows) == [Block(*r) for r in rows]
    assert record_maker(Block, 17) is maker  # generated once per (class, column count)


def test_builder_locals_cannot_clash_with_field_names():
    """Fields named like the generated code's own variables still build correctly."""

    @attrs.frozen(weakref_slot=False)
    class Awkward:
        r: int
        o: int
        out: int
        rows: int
        append: int
        new: int
        Cls: int

    maker = record_maker(Awkward, 7)
    assert maker.fast
    assert maker.one((1, 2, 3, 4, 5, 6, 7)) == Awkward(1, 2, 3, 4, 5, 6, 7)
    assert maker.many([(1, 2, 3, 4, 5, 6, 7)]) == [Awkward(1, 2, 3, 4, 5, 6, 7)]


def test_builder_falls_back_to_init_when_init_does_more():
    """Classes with validators, converters, post-init or a weakref slot are built via __init__."""
    seen: list[int] = []

    @attrs.frozen
    class WithWeakref:
        a: int

    @attrs.frozen(weakref_slot=False)
    class WithConverter:
        a: int = attrs.field(converter=int)

    @attrs.frozen(weakref_slot=False)
    class WithPostInit:
        a: int

        def __attrs_post_init__(self) -> None:
            seen.append(self.a)

    cases: list[tuple[type[Any], object, int]] = [
        (WithWeakref, 1, 1),
        (WithConverter, "2", 2),
        (WithPostInit, 3, 3),
    ]
    for cls, value, expected in cases:
        maker = record_maker(cls, 1)
        assert not maker.fast
        assert maker.one((value,)).a == expected
    assert seen == [3]
    with pytest.raises(ValueError, match="2 columns"):
        record_maker(WithWeakref, 2)


def test_builder_handles_subclassed_records():
    """A record inheriting fields from a frozen base builds with the fast path."""

    @attrs.frozen(weakref_slot=False)
    class Base:
        a: int

    @attrs.frozen(weakref_slot=False)
    class Child(Base):
        b: str

    maker = record_maker(Child, 2)
    built = maker.one((1, "x"))
    assert built == Child(1, "x")
    assert type(built) is Child
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.a = 2  # type: ignore[misc]


def test_function_maker_builds_any_shape():
    """function_maker wraps any row function for queries that are not attrs records."""
    maker = function_maker(lambda row: row[0] * 2)
    assert maker.one((4,)) == 8
    assert maker.many([(1,), (2,)]) == [2, 4]


@attrs.frozen(weakref_slot=False)
class Number:
    n: int


async def test_gc_state_is_restored_after_large_results(dbsync_conn):
    """The GC pause around building large results restores the collector's previous state."""
    query = Query.of(Number, select(func.generate_series(1, 5000).label("n")))
    assert gc.isenabled()
    rows = await fetch_all(dbsync_conn, query)
    assert rows == [Number(n) for n in range(1, 5001)]
    assert len(rows) >= _exec.GC_PAUSE_ROWS
    assert gc.isenabled()
    gc.disable()
    try:
        assert len(await fetch_all(dbsync_conn, query)) == len(rows)
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------------------------


async def test_closed_connection_raises_after_argument_checks(chain, dbsync_engine):
    """A closed connection raises SQLAlchemy's error; a fresh one works after invalidation."""
    async with dbsync_engine.connect() as conn:
        pass
    with pytest.raises(ResourceClosedError):
        await fetch_all(conn, every_block())
    async with dbsync_engine.connect() as conn:
        await conn.invalidate()
        assert await fetch_one(conn, every_block()) == BLOCKS[0]


async def test_unstarted_connection_raises(chain, dbsync_engine):
    """An AsyncConnection that was never started raises SQLAlchemy's not-started error."""
    conn = AsyncConnection(dbsync_engine)
    with pytest.raises(AsyncContextNotStarted):
        await fetch_all(conn, every_block())
