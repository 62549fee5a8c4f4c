"""Transaction workloads beyond the core set: streams (an epoch; the whole chain) and the batch
lookup of 1,000 hashes.

A stream consumes every row as an application would, touching a few fields (count, fees, ids,
sizes); the three paths compute the same summary, which is what the gate compares.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from benchmarks.orm import BlockModel, TxModel
from dbsync_core import Query, stream
from dbsync_core._bench import (
    CORE,
    FLOOR,
    ORM,
    Env,
    Impl,
    Workload,
    all_txs_query,
    floor_sql,
    orm_session,
    orm_txs,
    plain,
)
from dbsync_core.txs import epoch_txs, fetch_txs, txs_by_hashes

if TYPE_CHECKING:
    from dbsync_core.records import Tx

__all__ = ["batch_tx_hashes_workload", "stream_all_txs_workload", "stream_epoch_txs_workload"]

#: Rows per round trip, on every path.
BATCH = 1000

# Positions of the fields a stream consumes, in Tx order (the floor reads Records by position).
_ID, _FEE, _SIZE = 0, 10, 12


def _stream_workload(
    env: Env,
    key: str,
    title: str,
    query: Query[Tx],
    orm_stmt: Any,
    *,
    warmup: int | None,
    max_rounds: int,
) -> Workload:
    sql, args = floor_sql(query, env.core.sync_engine.dialect)

    async def floor() -> Any:
        rows = fees = ids = size = 0
        cursor = await env.floor.cursor(sql, *args)  # the held connection is in a transaction
        while True:
            batch = await cursor.fetch(BATCH)
            for r in batch:
                rows += 1
                fees += r[_FEE]
                ids += r[_ID]
                size += r[_SIZE]
            if len(batch) < BATCH:
                return (rows, fees, ids, size)

    async def core() -> Any:
        rows = fees = ids = size = 0
        async with contextlib.aclosing(stream(env.core, query, batch_size=BATCH)) as txs:
            async for t in txs:
                rows += 1
                fees += t.fee
                ids += t.id
                size += t.size
        return (rows, fees, ids, size)

    async def orm() -> Any:
        rows = fees = ids = size = 0
        async with orm_session(env) as session:
            result = await session.stream_scalars(orm_stmt.execution_options(yield_per=BATCH))
            async for t in result:
                rows += 1
                fees += t.fee
                ids += t.id
                size += t.size
        return (rows, fees, ids, size)

    return Workload(
        key,
        title,
        {FLOOR: Impl(floor, plain), CORE: Impl(core, plain), ORM: Impl(orm, plain)},
        max_rounds=max_rounds,
        warmup=warmup,
        note="rows streamed in batches of 1,000 through a server-side cursor",
        count=lambda answer: int(answer[0]),
    )


def stream_epoch_txs_workload(env: Env) -> Workload:
    """Every transaction of the busiest epoch, streamed (the guide pages with OFFSET and no
    ORDER BY, which skips and repeats rows; the ORM streams with ``yield_per`` instead)."""
    epoch_no = env.facts.epoch_no
    orm_stmt = (
        select(TxModel)
        .join(TxModel.block)
        .options(contains_eager(TxModel.block))
        .where(BlockModel.epoch_no == epoch_no)
        .order_by(TxModel.id)
    )
    return _stream_workload(
        env,
        "stream_epoch_txs",
        f"stream every tx of epoch {epoch_no} ({env.facts.epoch_txs:,})",
        epoch_txs(epoch_no),
        orm_stmt,
        warmup=None,
        max_rounds=5,
    )


def stream_all_txs_workload(env: Env) -> Workload:
    """Every transaction of the chain in id order (a keyset query), streamed."""
    orm_stmt = select(TxModel).options(joinedload(TxModel.block)).order_by(TxModel.id)
    return _stream_workload(
        env,
        "stream_all_txs",
        f"stream every tx of the chain ({env.facts.tx_span:,})",
        all_txs_query(),
        orm_stmt,
        warmup=0,  # no parameters: no plan to settle
        max_rounds=3,
    )


def batch_tx_hashes_workload(env: Env) -> Workload:
    """1,000 transactions by hash in one call (``= ANY($1)``; the ORM: ``IN``)."""
    hashes = list(env.facts.tx_hashes)
    sql, args = floor_sql(txs_by_hashes(hashes), env.core.sync_engine.dialect)

    async def floor() -> Any:
        return await env.floor.fetch(sql, *args)

    async def core() -> Any:
        return await fetch_txs(env.core, hashes)

    async def orm() -> Any:
        # The guide gathers one query per key on one session, which SQLAlchemy refuses
        # (a session is not safe for concurrent use): one IN query instead.
        async with orm_session(env) as session:
            stmt = (
                select(TxModel)
                .options(joinedload(TxModel.block))
                .where(TxModel.hash.in_(hashes))
                .order_by(TxModel.id)
            )
            return (await session.execute(stmt)).scalars().all()

    return Workload(
        "batch_tx_hashes",
        f"{len(hashes):,} txs by hash, one call",
        {FLOOR: Impl(floor, plain), CORE: Impl(core, plain), ORM: Impl(orm, orm_txs)},
    )
