"""Epochs: totals (the ``epoch`` view, or computed when db-sync does not keep it), the
statistics ORM guides compute in two queries (here one), and protocol parameters.

Streaming every transaction of an epoch is :func:`dbsync_core.txs.epoch_txs` with
:func:`dbsync_core.stream` (keyset, constant memory; no OFFSET).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Numeric,
    bindparam,
    cast,
    func,
    select,
    type_coerce,
)

from dbsync_core._exec import fetch_optional
from dbsync_core.codecs import parse_non_negative
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import Layout, layout_of
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import EpochParams, EpochStats, EpochSummary
from dbsync_core.schema import block, epoch, epoch_param, tx
from dbsync_core.txs import utc

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core._rowbuild import RowMaker

__all__ = [
    "epoch_params",
    "epoch_stats",
    "epoch_summaries",
    "epoch_summary",
    "fetch_epoch_params",
    "fetch_epoch_stats",
    "fetch_epoch_summary",
]

_WORD31_MAX = 2**31 - 1


def _epoch_no(value: int, arg: str = "epoch_no") -> int:
    number = parse_non_negative(value, arg=arg)
    if number > _WORD31_MAX:
        msg = f"{arg}: expected 0..{_WORD31_MAX}, got {number}"
        raise InvalidInputError(msg)
    return number


def _summary_key(record: EpochSummary) -> tuple[object, ...]:
    return (record.no,)


@functools.cache
def _summary_statement(from_view: bool) -> Select[Any]:
    if from_view:
        no = type_coerce(epoch.c.no, BigInteger())
        return select(
            no.label("no"),
            utc(epoch.c.start_time).label("start_time"),
            utc(epoch.c.end_time).label("end_time"),
            epoch.c.blk_count,
            epoch.c.tx_count,
            type_coerce(epoch.c.fees, Numeric()).label("fees"),
            type_coerce(epoch.c.out_sum, Numeric()).label("out_sum"),
        )
    # db-sync keeps no epoch rows (disable_epoch): aggregate the epoch's blocks and txs.
    per_block = (
        select(
            block.c.epoch_no,
            block.c.time,
            func.count(tx.c.id).label("txs"),
            func.coalesce(func.sum(tx.c.fee), 0).label("fees"),
            func.coalesce(func.sum(tx.c.out_sum), 0).label("out_sum"),
        )
        .select_from(block.outerjoin(tx, tx.c.block_id == block.c.id))
        .where(block.c.epoch_no.is_not(None))
        .group_by(block.c.id)
        .subquery("per_block")
    )
    no = type_coerce(per_block.c.epoch_no, BigInteger())
    return select(
        no.label("no"),
        utc(func.min(per_block.c.time)).label("start_time"),
        utc(func.max(per_block.c.time)).label("end_time"),
        func.count().label("blk_count"),
        func.sum(per_block.c.txs).label("tx_count"),
        func.sum(per_block.c.fees).label("fees"),
        func.sum(per_block.c.out_sum).label("out_sum"),
    ).group_by(per_block.c.epoch_no)


@functools.cache
def _summary_query(
    from_view: bool,
) -> tuple[Select[Any], Select[Any], RowMaker[EpochSummary], Keyset[EpochSummary]]:
    base = _summary_statement(from_view)
    column = base.selected_columns.no
    wanted = bindparam("epoch_no", type_=BigInteger)
    one = base.where(column == wanted) if from_view else base.having(column == wanted)
    maker = Query.of(EpochSummary, base).maker
    keyset = Keyset(((column, False),), key=_summary_key)
    return one, base.order_by(column), maker, keyset


def _from_view(layout: Layout | None) -> bool:
    if layout is None:
        return True
    if not isinstance(layout, Layout):
        msg = f"layout: expected a Layout, got {type(layout).__name__}"
        raise InvalidInputError(msg)
    return layout.epoch_view and layout.epoch_enabled


def epoch_summary(epoch_no: int, *, layout: Layout | None = None) -> Query[EpochSummary]:
    """An epoch's block and tx counts, fees, output sum, first and last block time."""
    one, _listing, maker, _keyset = _summary_query(_from_view(layout))
    return make_query(one, maker, {"epoch_no": _epoch_no(epoch_no)})


def epoch_summaries(*, layout: Layout | None = None) -> Query[EpochSummary]:
    """Every epoch's summary, oldest first (keyset on the epoch number)."""
    _one, listing, maker, keyset = _summary_query(_from_view(layout))
    return make_query(listing, maker, {}, keyset)


@functools.cache
def _stats_statement() -> tuple[Select[Any], RowMaker[EpochStats]]:
    wanted = bindparam("epoch_no", type_=Integer)
    blocks = (
        select(block.c.id, block.c.time)
        .where(type_coerce(block.c.epoch_no, Integer()) == wanted)
        .subquery("epoch_blocks")
    )
    fee = tx.c.fee
    txs = (
        select(
            func.count(tx.c.id).label("tx_count"),
            func.coalesce(func.sum(fee), 0).label("total_fees"),
            func.coalesce(func.avg(type_coerce(fee, Numeric())), 0).label("average_fee"),
            func.coalesce(func.sum(tx.c.size), 0).label("total_size"),
        )
        .select_from(tx.join(blocks, blocks.c.id == tx.c.block_id))
        .subquery("epoch_txs")
    )
    stats = (
        select(
            func.count(blocks.c.id).label("block_count"),
            utc(func.min(blocks.c.time)).label("start_time"),
            utc(func.max(blocks.c.time)).label("end_time"),
        )
        .select_from(blocks)
        .subquery("epoch_stats")
    )
    statement = select(
        type_coerce(wanted, Integer()).label("epoch_no"),
        txs.c.tx_count,
        txs.c.total_fees,
        cast(txs.c.average_fee, Float()).label("average_fee"),
        txs.c.total_size,
        stats.c.block_count,
        stats.c.start_time,
        stats.c.end_time,
    ).select_from(txs.join(stats, type_coerce(1, Integer()) == 1))
    return statement, Query.of(EpochStats, statement).maker


def epoch_stats(epoch_no: int) -> Query[EpochStats]:
    """Transactions (count, fees, average fee, size) and blocks (count, time span) of an epoch,
    in one query; zeros for an epoch with no blocks."""
    statement, maker = _stats_statement()
    return make_query(statement, maker, {"epoch_no": _epoch_no(epoch_no)})


@functools.cache
def _params_statement() -> tuple[Select[Any], RowMaker[EpochParams]]:
    skip = {"id", "block_id", "cost_model_id"}
    columns = [c for c in epoch_param.c if c.name not in skip]
    statement = select(*columns).where(
        type_coerce(epoch_param.c.epoch_no, Integer()) == bindparam("epoch_no", type_=Integer)
    )
    return statement, Query.of(EpochParams, statement).maker


def epoch_params(epoch_no: int) -> Query[EpochParams]:
    """The protocol parameters of an epoch (Shelley on; none for Byron epochs)."""
    statement, maker = _params_statement()
    return make_query(statement, maker, {"epoch_no": _epoch_no(epoch_no)})


async def fetch_epoch_summary(conn: AsyncConnection, epoch_no: int) -> EpochSummary | None:
    """An epoch's totals (None for an epoch with no blocks yet)."""
    epoch_summary(epoch_no)  # validate before any round trip
    return await fetch_optional(conn, epoch_summary(epoch_no, layout=await layout_of(conn)))


async def fetch_epoch_stats(conn: AsyncConnection, epoch_no: int) -> EpochStats:
    """The statistics of an epoch (zeros when it has no blocks)."""
    found = await fetch_optional(conn, epoch_stats(epoch_no))
    assert found is not None  # an aggregate always returns one row
    return found


async def fetch_epoch_params(conn: AsyncConnection, epoch_no: int) -> EpochParams | None:
    """The protocol parameters of an epoch, or None."""
    return await fetch_optional(conn, epoch_params(epoch_no))
