"""The block catalogue on a small hand-made chain: every builder, its runner and its bad input.

The chain (genesis, Byron epoch-boundary blocks, Byron blocks, Shelley blocks of two pools) is
written with plain SQL INSERTs; :data:`BLOCKS` is its ground truth as records built the normal way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import pytest_asyncio
from sqlalchemy import event, text

from dbsync_core import blocks
from dbsync_core._exec import fetch_all, fetch_one, fetch_optional, pages, stream
from dbsync_core.codecs import pool_id_text
from dbsync_core.exceptions import InvalidInputError, NotFoundError
from dbsync_core.records import Block
from dbsync_core.schema import create_schema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from dbsync_core.query import Query

# ---------------------------------------------------------------------------------------------
# The hand-made chain (also used by test_query_core)
# ---------------------------------------------------------------------------------------------

POOL_1 = bytes([0x11]) * 28
POOL_2 = bytes([0x22]) * 28
GENESIS_LEADER = bytes([0x01]) * 28
BYRON_LEADER = bytes([0x02]) * 28
POOLS = {1: POOL_1, 2: POOL_2}
# slot_leader id -> (hash, pool_hash id)
LEADERS = {1: (GENESIS_LEADER, None), 2: (BYRON_LEADER, None), 3: (POOL_1, 1), 4: (POOL_2, 2)}
START = datetime(2017, 9, 23, 21, 44, 51, tzinfo=UTC).replace(tzinfo=None)  # naive, as stored


def _hash(n: int) -> bytes:
    return hashlib.sha256(f"block {n}".encode()).digest()


def _rows() -> list[dict[str, Any]]:
    """Block rows in id order: genesis, then per epoch an EBB (Byron) and ten blocks."""
    rows: list[dict[str, Any]] = []

    def add(**values: Any) -> None:
        block_id = len(rows) + 1
        row = {
            "id": block_id,
            "hash": _hash(block_id),
            "epoch_no": None,
            "slot_no": None,
            "epoch_slot_no": None,
            "block_no": None,
            "previous_id": block_id - 1 or None,
            "slot_leader_id": 2,
            "size": 500 + block_id,
            "time": START + timedelta(seconds=20 * block_id),
            "tx_count": block_id % 3,  # ties, for keysets with a non-unique first column
            "proto_major": 0,
            "proto_minor": 0,
            "vrf_key": None,
            "op_cert": None,
            "op_cert_counter": None,
        }
        row.update(values)
        rows.append(row)

    add(slot_leader_id=1, previous_id=None, size=0)  # genesis: no epoch, slot or height
    height = 0
    for epoch in range(4):
        byron = epoch < 2
        if byron:  # epoch-boundary block: an epoch, but no slot and no height
            add(epoch_no=epoch)
        for index in range(10):
            extra: dict[str, Any] = {}
            if not byron:
                extra = {
                    "slot_leader_id": 3 + index % 2,
                    "proto_major": 8,
                    "vrf_key": f"vrf_vk1{epoch}{index}",
                    "op_cert": _hash(-height),
                    "op_cert_counter": index,
                }
            add(
                epoch_no=epoch,
                slot_no=epoch * 21600 + index * 2,
                epoch_slot_no=index * 2,
                block_no=height,
                proto_major=extra.pop("proto_major", 1),
                **extra,
            )
            height += 1
    return rows


ROWS = _rows()


def _record(row: dict[str, Any]) -> Block:
    leader_hash, pool = LEADERS[row["slot_leader_id"]]
    return Block(
        id=row["id"],
        hash=row["hash"],
        epoch_no=row["epoch_no"],
        slot_no=row["slot_no"],
        epoch_slot_no=row["epoch_slot_no"],
        block_no=row["block_no"],
        previous_id=row["previous_id"],
        slot_leader=leader_hash,
        pool_id=None if pool is None else pool_id_text(POOLS[pool]),
        size=row["size"],
        time=row["time"].replace(tzinfo=UTC),
        tx_count=row["tx_count"],
        proto_major=row["proto_major"],
        proto_minor=row["proto_minor"],
        vrf_key=row["vrf_key"],
        op_cert=row["op_cert"],
        op_cert_counter=row["op_cert_counter"],
    )


#: The ground truth: every block as a record, in id order.
BLOCKS = [_record(row) for row in ROWS]

#: tx rows (id, block_id, fee, out_sum): lovelace up to the largest numeric(20,0) value.
TXS = [
    (1, 3, 0, 0),
    (2, 3, 170_000, 18_446_744_073_709_551_615),
    (3, 30, 2**63, 45_000_000_000_000_000),
]


async def load_chain(conn: AsyncConnection) -> None:
    """Create the schema and insert the chain, in the caller's transaction."""
    await create_schema(conn)
    await conn.execute(
        text("INSERT INTO pool_hash (id, hash_raw, view) VALUES (:id, :hash_raw, :view)"),
        [{"id": k, "hash_raw": v, "view": pool_id_text(v)} for k, v in POOLS.items()],
    )
    await conn.execute(
        text(
            "INSERT INTO slot_leader (id, hash, pool_hash_id, description)"
            " VALUES (:id, :hash, :pool, :description)"
        ),
        [
            {"id": k, "hash": h, "pool": p, "description": "Pool" if p else "Genesis"}
            for k, (h, p) in LEADERS.items()
        ],
    )
    columns = list(ROWS[0])
    await conn.execute(
        text(
            f"INSERT INTO block ({', '.join(columns)})"
            f" VALUES ({', '.join(':' + c for c in columns)})"
        ),
        ROWS,
    )
    await conn.execute(
        text(
            "INSERT INTO tx (id, hash, block_id, block_index, out_sum, fee, deposit, size,"
            " valid_contract, script_size)"
            " VALUES (:id, :hash, :block_id, 0, :out_sum, :fee, 0, 200, true, 0)"
        ),
        [
            {"id": i, "hash": _hash(1000 + i), "block_id": b, "fee": f, "out_sum": o}
            for i, b, f, o in TXS
        ],
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chain(dbsync_engine: AsyncEngine) -> list[Block]:
    """The module's database with the hand-made chain loaded; returns its blocks."""
    async with dbsync_engine.connect() as conn:
        await load_chain(conn)
        await conn.commit()
    return BLOCKS


@contextlib.asynccontextmanager
async def sent_queries(conn: AsyncConnection) -> AsyncIterator[list[str]]:
    """Every statement the driver under ``conn`` sends while the block runs."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    seen: list[str] = []

    def log(record: Any) -> None:
        seen.append(record.query)

    driver.add_query_logger(log)
    try:
        yield seen
        for _ in range(3):  # asyncpg calls the loggers soon after, not during
            await asyncio.sleep(0)
    finally:
        driver.remove_query_logger(log)


# ---------------------------------------------------------------------------------------------
# Builders: labels and results
# ---------------------------------------------------------------------------------------------

HASH_HEX = _hash(5).hex()
FIELDS = [field.name for field in attrs.fields(Block)]

BUILDERS: dict[str, Callable[[], Query[Block]]] = {
    "tip": blocks.tip,
    "latest_blocks": lambda: blocks.latest_blocks(limit=3),
    "block_by_hash": lambda: blocks.block_by_hash(HASH_HEX),
    "blocks_by_hashes": lambda: blocks.blocks_by_hashes([HASH_HEX]),
    "block_by_number": lambda: blocks.block_by_number(4),
    "blocks_by_numbers": lambda: blocks.blocks_by_numbers([4]),
    "block_by_slot": lambda: blocks.block_by_slot(2),
    "blocks_by_epoch": lambda: blocks.blocks_by_epoch(1),
    "blocks_by_epoch(newest_first)": lambda: blocks.blocks_by_epoch(1, newest_first=True),
    "blocks_by_slot_leader": lambda: blocks.blocks_by_slot_leader(POOL_1),
    "blocks_by_slot_leader(newest_first)": lambda: blocks.blocks_by_slot_leader(
        POOL_1, newest_first=True
    ),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_selected_labels_are_the_block_fields(name):
    """Each builder selects exactly Block's fields, in field order (rows build by position)."""
    query = BUILDERS[name]()
    assert list(query.to_select().selected_columns.keys()) == FIELDS
    assert list(query.statement.selected_columns.keys()) == FIELDS


@pytest.mark.parametrize("name", list(BUILDERS))
async def test_records_equal_naive_construction(chain, dbsync_conn, name):
    """Each builder's records equal Block(*row) over a plain SQLAlchemy execute of its select."""
    query = BUILDERS[name]()
    result = await dbsync_conn.execute(query.to_select(), dict(query.params))
    naive = [Block(*row) for row in result]
    assert naive
    assert await fetch_all(dbsync_conn, query) == naive


async def test_chain_tip_is_the_highest_id(chain, dbsync_conn):
    """chain_tip returns the block with the highest id, timestamps tz-aware UTC."""
    tip = await blocks.chain_tip(dbsync_conn)
    assert tip == chain[-1]
    assert tip.time.tzinfo is not None
    assert tip.time.utcoffset() == timedelta(0)
    assert tip.time == ROWS[-1]["time"].replace(tzinfo=UTC)
    assert await fetch_one(dbsync_conn, blocks.tip()) == tip


async def test_chain_tip_of_an_empty_database_raises(fresh_db):
    """On a db-sync database without blocks chain_tip raises NotFoundError."""
    async with fresh_db() as engine, engine.connect() as conn:
        await create_schema(conn)
        with pytest.raises(NotFoundError, match="no blocks"):
            await blocks.chain_tip(conn)
        assert await blocks.fetch_latest_blocks(conn) == []


async def test_latest_blocks_newest_first(chain, dbsync_conn):
    """latest_blocks returns the newest `limit` blocks, newest first; the runner agrees."""
    assert await fetch_all(dbsync_conn, blocks.latest_blocks(limit=4)) == chain[::-1][:4]
    assert await blocks.fetch_latest_blocks(dbsync_conn, limit=2) == chain[::-1][:2]
    assert await blocks.fetch_latest_blocks(dbsync_conn) == chain[::-1][:10]


async def test_block_by_hash_hex_and_bytes(chain, dbsync_conn):
    """block_by_hash finds a block by hex (any case) or bytes; an unknown hash finds nothing."""
    target = chain[7]
    assert await fetch_one(dbsync_conn, blocks.block_by_hash(target.hash)) == target
    assert await fetch_one(dbsync_conn, blocks.block_by_hash(target.hash.hex().upper())) == target
    assert await blocks.fetch_block(dbsync_conn, target.hash.hex()) == target
    assert await blocks.fetch_block(dbsync_conn, bytes(32)) is None
    with pytest.raises(NotFoundError):
        await fetch_one(dbsync_conn, blocks.block_by_hash(bytes(32)))


async def test_blocks_by_hashes_one_query_in_id_order(chain, dbsync_conn):
    """blocks_by_hashes sends one query and returns known blocks once each, in id order."""
    wanted = [chain[20].hash, bytes(32), chain[3].hash.hex(), chain[20].hash, chain[0].hash]
    async with sent_queries(dbsync_conn) as sent:
        found = await fetch_all(dbsync_conn, blocks.blocks_by_hashes(wanted))
    assert found == [chain[0], chain[3], chain[20]]
    assert len(sent) == 1
    assert "ANY" in sent[0]
    assert await fetch_all(dbsync_conn, blocks.blocks_by_hashes([])) == []


async def test_block_by_number_and_slot(chain, dbsync_conn):
    """block_by_number and block_by_slot find the block at a height and in a slot."""
    by_height = {b.block_no: b for b in chain if b.block_no is not None}
    by_slot = {b.slot_no: b for b in chain if b.slot_no is not None}
    assert await fetch_one(dbsync_conn, blocks.block_by_number(0)) == by_height[0]
    assert await fetch_one(dbsync_conn, blocks.block_by_number(25)) == by_height[25]
    assert await fetch_optional(dbsync_conn, blocks.block_by_number(9999)) is None
    assert await fetch_one(dbsync_conn, blocks.block_by_slot(21600 + 4)) == by_slot[21604]
    assert await fetch_optional(dbsync_conn, blocks.block_by_slot(1)) is None


async def test_blocks_by_numbers_in_id_order(chain, dbsync_conn):
    """blocks_by_numbers returns the blocks at the given heights in id order."""
    by_height = {b.block_no: b for b in chain if b.block_no is not None}
    found = await fetch_all(dbsync_conn, blocks.blocks_by_numbers([30, 2, 10**6, 2, 15]))
    assert found == [by_height[2], by_height[15], by_height[30]]


@pytest.mark.parametrize("newest_first", [False, True])
async def test_blocks_by_epoch_pages_through_the_epoch(chain, dbsync_conn, newest_first):
    """blocks_by_epoch lists an epoch (EBB included) and pages through it without gaps."""
    for epoch in range(4):
        expected = [b for b in chain if b.epoch_no == epoch]
        if newest_first:
            expected.reverse()
        query = blocks.blocks_by_epoch(epoch, newest_first=newest_first)
        assert await fetch_all(dbsync_conn, query) == expected
        walked: list[Block] = []
        cursor = None
        while True:
            page = await pages(dbsync_conn, query, page_size=3, cursor=cursor)
            walked += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        assert walked == expected
    assert await fetch_all(dbsync_conn, blocks.blocks_by_epoch(99)) == []


async def test_blocks_by_slot_leader_accepts_pool_ids_and_leader_hashes(chain, dbsync_conn):
    """blocks_by_slot_leader takes pool1…, hex or bytes of a pool, or a Byron leader's hash."""
    pool_1 = [b for b in chain if b.slot_leader == POOL_1]
    assert pool_1
    assert all(b.pool_id == pool_id_text(POOL_1) for b in pool_1)
    for leader in (pool_id_text(POOL_1), POOL_1.hex(), POOL_1):
        assert await fetch_all(dbsync_conn, blocks.blocks_by_slot_leader(leader)) == pool_1
    newest = blocks.blocks_by_slot_leader(POOL_1, newest_first=True)
    assert await fetch_all(dbsync_conn, newest) == pool_1[::-1]
    byron = [b for b in chain if b.slot_leader == BYRON_LEADER]
    assert all(b.pool_id is None for b in byron)
    assert await fetch_all(dbsync_conn, blocks.blocks_by_slot_leader(BYRON_LEADER)) == byron
    assert await fetch_all(dbsync_conn, blocks.blocks_by_slot_leader(bytes(28))) == []


async def test_stream_of_a_listing(chain, dbsync_conn):
    """A block listing streams in keyset order in small batches."""
    query = blocks.blocks_by_slot_leader(POOL_2, newest_first=True)
    streamed = [b async for b in stream(dbsync_conn, query, batch_size=2)]
    assert streamed == [b for b in reversed(chain) if b.slot_leader == POOL_2]


async def test_special_blocks_have_nulls(chain, dbsync_conn):
    """Genesis has no epoch, slot or height; a Byron EBB has an epoch but no slot or height."""
    genesis, ebb = await fetch_all(dbsync_conn, blocks.blocks_by_hashes([_hash(1), _hash(2)]))
    assert (genesis.epoch_no, genesis.slot_no, genesis.block_no, genesis.previous_id) == (
        None,
        None,
        None,
        None,
    )
    assert (ebb.epoch_no, ebb.slot_no, ebb.block_no, ebb.previous_id) == (0, None, None, 1)


# ---------------------------------------------------------------------------------------------
# Bad input: raised by the builder, before any SQL (even with a closed connection)
# ---------------------------------------------------------------------------------------------

BAD_INPUT: list[tuple[str, Callable[[], object]]] = [
    ("latest_blocks limit=0", lambda: blocks.latest_blocks(limit=0)),
    ("latest_blocks limit=-1", lambda: blocks.latest_blocks(limit=-1)),
    ("latest_blocks limit=True", lambda: blocks.latest_blocks(limit=True)),
    ("latest_blocks limit='5'", lambda: blocks.latest_blocks(limit="5")),  # type: ignore[arg-type]
    ("latest_blocks huge", lambda: blocks.latest_blocks(limit=10**9)),
    ("block_by_hash short hex", lambda: blocks.block_by_hash("abcd")),
    ("block_by_hash not hex", lambda: blocks.block_by_hash("zz" * 32)),
    ("block_by_hash 28 bytes", lambda: blocks.block_by_hash(bytes(28))),
    ("block_by_hash int", lambda: blocks.block_by_hash(5)),  # type: ignore[arg-type]
    ("blocks_by_hashes str", lambda: blocks.blocks_by_hashes("ab" * 32)),
    ("blocks_by_hashes bad item", lambda: blocks.blocks_by_hashes([HASH_HEX, "xyz"])),
    ("blocks_by_hashes too many", lambda: blocks.blocks_by_hashes([HASH_HEX] * 10_001)),
    ("block_by_number -1", lambda: blocks.block_by_number(-1)),
    ("block_by_number > int4", lambda: blocks.block_by_number(2**31)),
    ("block_by_number str", lambda: blocks.block_by_number("1")),  # type: ignore[arg-type]
    ("block_by_number float", lambda: blocks.block_by_number(1.0)),  # type: ignore[arg-type]
    ("blocks_by_numbers bad item", lambda: blocks.blocks_by_numbers([1, -2])),
    ("blocks_by_numbers str", lambda: blocks.blocks_by_numbers("12")),  # type: ignore[arg-type]
    ("blocks_by_numbers too many", lambda: blocks.blocks_by_numbers([1] * 10_001)),
    ("block_by_slot -1", lambda: blocks.block_by_slot(-1)),
    ("block_by_slot > int8", lambda: blocks.block_by_slot(2**63)),
    ("blocks_by_epoch -1", lambda: blocks.blocks_by_epoch(-1)),
    ("blocks_by_epoch None", lambda: blocks.blocks_by_epoch(None)),  # type: ignore[arg-type]
    ("blocks_by_epoch newest_first", lambda: blocks.blocks_by_epoch(1, newest_first=1)),  # type: ignore[arg-type]
    ("blocks_by_slot_leader bech32", lambda: blocks.blocks_by_slot_leader("pool1qqqq")),
    ("blocks_by_slot_leader stake", lambda: blocks.blocks_by_slot_leader("stake1" + "q" * 50)),
    ("blocks_by_slot_leader 32 bytes", lambda: blocks.blocks_by_slot_leader(bytes(32))),
    ("blocks_by_slot_leader short hex", lambda: blocks.blocks_by_slot_leader("11" * 27)),
]


@pytest.mark.parametrize(("label", "build"), BAD_INPUT, ids=[label for label, _ in BAD_INPUT])
def test_builders_reject_bad_input(label, build):
    """Every builder rejects malformed arguments with InvalidInputError naming the argument."""
    with pytest.raises(InvalidInputError) as caught:
        build()
    assert isinstance(caught.value, ValueError)
    first_word = str(caught.value).split(":", 1)[0].split("[", 1)[0]
    assert first_word in {
        "limit",
        "block_hash",
        "block_hashes",
        "block_no",
        "block_nos",
        "slot_no",
        "epoch_no",
        "newest_first",
        "leader",
    }, label


RUNNER_BAD_INPUT: list[tuple[str, Callable[[AsyncConnection], Any]]] = [
    ("fetch_block", lambda conn: blocks.fetch_block(conn, "nothex")),
    ("fetch_latest_blocks", lambda conn: blocks.fetch_latest_blocks(conn, limit=0)),
]


@pytest.mark.parametrize(
    ("label", "run"), RUNNER_BAD_INPUT, ids=[label for label, _ in RUNNER_BAD_INPUT]
)
async def test_runners_reject_bad_input_before_any_sql(chain, dbsync_engine, label, run):
    """Runners raise InvalidInputError without a query, and before noticing a closed connection."""
    cursor_executes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        cursor_executes.append(statement)

    event.listen(dbsync_engine.sync_engine, "before_cursor_execute", count)
    try:
        async with dbsync_engine.connect() as conn:
            async with sent_queries(conn) as sent:  # what the driver sends, fast path included
                with pytest.raises(InvalidInputError):
                    await run(conn)
            assert sent == []
    finally:
        event.remove(dbsync_engine.sync_engine, "before_cursor_execute", count)
    assert cursor_executes == []
    # conn is closed now: the argument error still comes first
    with pytest.raises(InvalidInputError):
        await run(conn)
