"""Blocks: the chain tip, lookups by hash, number and slot, and keyset listings.

Builders return a :class:`~dbsync_core.query.Query` of :class:`~dbsync_core.records.Block` and
validate their arguments before any SQL exists; the ``async def`` runners execute them.
Statements are built once, on first use, so a builder call only binds values.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    LargeBinary,
    any_,
    bindparam,
    desc,
    literal_column,
    or_,
    select,
    type_coerce,
)

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core.codecs import (
    parse_hash,
    parse_hashes,
    parse_limit,
    parse_non_negative,
    parse_pool_id,
)
from dbsync_core.exceptions import InvalidInputError, NotFoundError
from dbsync_core.query import LIMIT_PARAM, Keyset, Query, make_query
from dbsync_core.records import Block
from dbsync_core.schema import block, pool_hash, slot_leader

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.ext.asyncio import AsyncConnection
    from sqlalchemy.types import TypeEngine

    from dbsync_core._rowbuild import RowMaker

__all__ = [
    "block_by_hash",
    "block_by_number",
    "block_by_slot",
    "blocks_by_epoch",
    "blocks_by_hashes",
    "blocks_by_numbers",
    "blocks_by_slot_leader",
    "chain_tip",
    "fetch_block",
    "fetch_latest_blocks",
    "latest_blocks",
    "tip",
]

_WORD31_MAX = 2**31 - 1
_MAX_BATCH = 10_000


def _block_key(record: Block) -> tuple[object, ...]:
    return (record.id,)


_BY_ID = Keyset(((block.c.id, False),), key=_block_key)
_BY_ID_DESC = Keyset(((block.c.id, True),), key=_block_key)


def _typed(column: ColumnElement[Any], type_: TypeEngine[Any]) -> ColumnElement[Any]:
    # Operators on db-sync's DOMAIN-typed columns warn on SQLAlchemy 2.1 (no operator class);
    # comparing through the base type renders the same SQL without the warning.
    return type_coerce(column, type_)


@functools.cache
def _base() -> Select[Any]:
    time_utc = block.c.time.op("AT TIME ZONE", return_type=DateTime(timezone=True))(
        literal_column("'UTC'")
    )
    return select(
        block.c.id,
        block.c.hash,
        block.c.epoch_no,
        block.c.slot_no,
        block.c.epoch_slot_no,
        block.c.block_no,
        block.c.previous_id,
        slot_leader.c.hash.label("slot_leader"),
        pool_hash.c.view.label("pool_id"),
        block.c.size,
        time_utc.label("time"),
        block.c.tx_count,
        block.c.proto_major,
        block.c.proto_minor,
        block.c.vrf_key,
        block.c.op_cert,
        block.c.op_cert_counter,
    ).select_from(
        block.join(slot_leader, slot_leader.c.id == block.c.slot_leader_id).outerjoin(
            pool_hash, pool_hash.c.id == slot_leader.c.pool_hash_id
        )
    )


@functools.cache
def _maker() -> RowMaker[Block]:
    return Query.of(Block, _base()).maker  # checks the labels against Block's fields once


@functools.cache
def _statement(name: str) -> Select[Any]:
    """The statement behind a builder, built once; ``<name>_desc`` lists newest first."""
    if name.endswith("_desc"):
        return _statement(name.removesuffix("_desc")).order_by(None).order_by(desc(block.c.id))
    base = _base()
    hash_ = _typed(block.c.hash, LargeBinary())
    block_no = _typed(block.c.block_no, Integer())
    statements: dict[str, Callable[[], Select[Any]]] = {
        "tip": lambda: base.order_by(desc(block.c.id)).limit(1),
        "latest": lambda: base.order_by(desc(block.c.id)).limit(
            bindparam(LIMIT_PARAM, type_=BigInteger)
        ),
        "by_hash": lambda: base.where(hash_ == bindparam("block_hash", type_=LargeBinary)),
        "by_hashes": lambda: base.where(
            hash_ == any_(bindparam("block_hashes", type_=ARRAY(LargeBinary)))
        ).order_by(block.c.id),
        "by_number": lambda: base.where(block_no == bindparam("block_no", type_=Integer)),
        "by_numbers": lambda: base.where(
            block_no == any_(bindparam("block_nos", type_=ARRAY(Integer)))
        ).order_by(block.c.id),
        "by_slot": lambda: base.where(
            _typed(block.c.slot_no, BigInteger()) == bindparam("slot_no", type_=BigInteger)
        ),
        "by_epoch": lambda: base.where(
            _typed(block.c.epoch_no, Integer()) == bindparam("epoch_no", type_=Integer)
        ).order_by(block.c.id),
        "by_leader": lambda: base.where(block.c.slot_leader_id.in_(_leader_ids())).order_by(
            block.c.id
        ),
    }
    return statements[name]()


def _leader_ids() -> Select[Any]:
    # The leader's own hash (a Byron delegate or a pool's key hash), or the leader row of a pool.
    # Aliases keep the subquery from correlating with the outer query's slot_leader/pool_hash.
    leader = slot_leader.alias("leader")
    pool = pool_hash.alias("leader_pool")
    wanted = bindparam("leader", type_=LargeBinary)
    pool_id = select(pool.c.id).where(_typed(pool.c.hash_raw, LargeBinary()) == wanted)
    return select(leader.c.id).where(
        or_(
            _typed(leader.c.hash, LargeBinary()) == wanted,
            leader.c.pool_hash_id == pool_id.scalar_subquery(),
        )
    )


def _query(
    name: str, params: dict[str, object], keyset: Keyset[Block] | None = None
) -> Query[Block]:
    return make_query(_statement(name), _maker(), params, keyset)


def _word31(value: int, arg: str) -> int:
    number = parse_non_negative(value, arg=arg)
    if number > _WORD31_MAX:
        msg = f"{arg}: expected 0..{_WORD31_MAX}, got {number}"
        raise InvalidInputError(msg)
    return number


def _word31_list(values: Iterable[int], arg: str) -> list[int]:
    if isinstance(values, str | bytes | bytearray) or not hasattr(values, "__iter__"):
        msg = f"{arg}: expected an iterable of ints, got {type(values).__name__}"
        raise InvalidInputError(msg)
    numbers: list[int] = []
    for index, value in enumerate(values):
        if index >= _MAX_BATCH:
            msg = f"{arg}: expected at most {_MAX_BATCH} items"
            raise InvalidInputError(msg)
        numbers.append(_word31(value, f"{arg}[{index}]"))
    return numbers


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------


def tip() -> Query[Block]:
    """The chain tip: the block with the highest id."""
    return _query("tip", {})


def latest_blocks(*, limit: int = 10) -> Query[Block]:
    """The newest ``limit`` blocks, newest first (keyset on id, descending)."""
    return _query("latest", {LIMIT_PARAM: parse_limit(limit)}, _BY_ID_DESC)


def block_by_hash(block_hash: str | bytes) -> Query[Block]:
    """The block with this hash (64 hex characters or 32 bytes)."""
    return _query("by_hash", {"block_hash": parse_hash(block_hash, arg="block_hash")})


def blocks_by_hashes(block_hashes: Iterable[str | bytes]) -> Query[Block]:
    """The blocks with these hashes, in one query, in chain (id) order; unknown ones are skipped."""
    hashes = parse_hashes(block_hashes, arg="block_hashes", max_items=_MAX_BATCH)
    return _query("by_hashes", {"block_hashes": hashes}, _BY_ID)


def block_by_number(block_no: int) -> Query[Block]:
    """The block at this height (``block_no``)."""
    return _query("by_number", {"block_no": _word31(block_no, "block_no")})


def blocks_by_numbers(block_nos: Iterable[int]) -> Query[Block]:
    """The blocks at these heights, in one query, in chain (id) order."""
    return _query("by_numbers", {"block_nos": _word31_list(block_nos, "block_nos")}, _BY_ID)


def block_by_slot(slot_no: int) -> Query[Block]:
    """The block in this absolute slot."""
    return _query("by_slot", {"slot_no": parse_non_negative(slot_no, arg="slot_no")})


def blocks_by_epoch(epoch_no: int, *, newest_first: bool = False) -> Query[Block]:
    """The blocks of an epoch in chain order (keyset on id; ``newest_first`` reverses it)."""
    params: dict[str, object] = {"epoch_no": _word31(epoch_no, "epoch_no")}
    return _listing("by_epoch", params, newest_first=newest_first)


def blocks_by_slot_leader(leader: str | bytes, *, newest_first: bool = False) -> Query[Block]:
    """The blocks made by a pool (``pool1…``, 56 hex or 28 bytes) or a Byron slot leader hash."""
    params: dict[str, object] = {"leader": parse_pool_id(leader, arg="leader")}
    return _listing("by_leader", params, newest_first=newest_first)


def _listing(name: str, params: dict[str, object], *, newest_first: bool) -> Query[Block]:
    if not isinstance(newest_first, bool):
        msg = f"newest_first: expected a bool, got {type(newest_first).__name__}"
        raise InvalidInputError(msg)
    if newest_first:
        return _query(name + "_desc", params, _BY_ID_DESC)
    return _query(name, params, _BY_ID)


# ---------------------------------------------------------------------------------------------
# Runners
# ---------------------------------------------------------------------------------------------


async def chain_tip(conn: AsyncConnection) -> Block:
    """The chain tip; :class:`~dbsync_core.exceptions.NotFoundError` on an empty database."""
    found = await fetch_optional(conn, tip())
    if found is None:
        msg = "the database holds no blocks"
        raise NotFoundError(msg)
    return found


async def fetch_block(conn: AsyncConnection, block_hash: str | bytes) -> Block | None:
    """The block with this hash, or None."""
    return await fetch_optional(conn, block_by_hash(block_hash))


async def fetch_latest_blocks(conn: AsyncConnection, *, limit: int = 10) -> list[Block]:
    """The newest ``limit`` blocks, newest first."""
    return await fetch_all(conn, latest_blocks(limit=limit))
