"""Transactions: by hash (one or many), of a block, of an epoch, by metadata label; their
outputs (with assets and spent-by), inputs (spent, collateral and reference, resolved to the
outputs they name) and metadata.

Builders validate their arguments and return a :class:`~dbsync_core.query.Query`; the
``async def`` runners detect the database's layout (once per engine) and run them.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    and_,
    any_,
    bindparam,
    literal,
    literal_column,
    select,
    type_coerce,
    union_all,
)

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core._outputs import (
    MAX_BATCH,
    Shape,
    assets_of,
    output_view,
    shape_of,
    spent_by_hash,
)
from dbsync_core._rowbuild import RowMaker, function_maker, record_maker
from dbsync_core.blocks import block_by_hash
from dbsync_core.codecs import parse_hash, parse_hashes, parse_non_negative
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import Layout, layout_of
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import Block, BlockWithTxs, Tx, TxIn, TxMetadata, TxOut
from dbsync_core.schema import (
    block,
    collateral_tx_in,
    reference_tx_in,
    tx,
    tx_in,
    tx_metadata,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "block_txs",
    "block_with_txs",
    "epoch_txs",
    "fetch_block_with_txs",
    "fetch_tx",
    "fetch_tx_inputs",
    "fetch_tx_metadata",
    "fetch_tx_outputs",
    "fetch_txs",
    "tx_by_hash",
    "tx_inputs",
    "tx_metadata_of",
    "tx_outputs",
    "txs_by_hashes",
    "txs_by_metadata_label",
]

_WORD31_MAX = 2**31 - 1
_WORD64_MAX = 2**64 - 1


def utc(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """db-sync's ``timestamp without time zone`` (holding UTC) as an aware timestamp."""
    return column.op("AT TIME ZONE", return_type=DateTime(timezone=True))(literal_column("'UTC'"))


def _tx_key(record: Tx) -> tuple[object, ...]:
    return (record.id,)


BY_TX_ID = Keyset(((tx.c.id, False),), key=_tx_key)
BY_TX_ID_DESC = Keyset(((tx.c.id, True),), key=_tx_key)


@functools.cache
def tx_select() -> Select[Any]:
    """Every :class:`Tx` column, from ``tx`` joined to its block."""
    return select(
        tx.c.id,
        tx.c.hash,
        tx.c.block_id,
        block.c.hash.label("block_hash"),
        block.c.block_no,
        block.c.epoch_no,
        block.c.slot_no,
        utc(block.c.time).label("time"),
        tx.c.block_index,
        tx.c.out_sum,
        tx.c.fee,
        tx.c.deposit,
        tx.c.size,
        tx.c.invalid_before,
        tx.c.invalid_hereafter,
        tx.c.valid_contract,
        tx.c.script_size,
        tx.c.treasury_donation,
    ).select_from(tx.join(block, block.c.id == tx.c.block_id))


@functools.cache
def tx_maker() -> RowMaker[Tx]:
    """The row builder of :func:`tx_select` (labels checked against :class:`Tx` once)."""
    return Query.of(Tx, tx_select()).maker


@functools.cache
def _tx_statement(name: str) -> Select[Any]:
    base = tx_select()
    if name == "by_hash":
        return base.where(tx.c.hash == bindparam("tx_hash", type_=LargeBinary))
    if name == "by_hashes":
        wanted = any_(bindparam("tx_hashes", type_=ARRAY(LargeBinary)))
        return base.where(tx.c.hash == wanted).order_by(tx.c.id)
    if name == "by_block":
        return base.where(block.c.hash == bindparam("block_hash", type_=LargeBinary)).order_by(
            tx.c.id
        )
    if name == "by_epoch":
        epoch = type_coerce(block.c.epoch_no, Integer())
        return base.where(epoch == bindparam("epoch_no", type_=Integer)).order_by(tx.c.id)
    msg = f"unknown tx statement {name!r}"
    raise AssertionError(msg)


def _word31(value: int, arg: str) -> int:
    number = parse_non_negative(value, arg=arg)
    if number > _WORD31_MAX:
        msg = f"{arg}: expected 0..{_WORD31_MAX}, got {number}"
        raise InvalidInputError(msg)
    return number


# ------------------------------------------------------------------------------ txs


def tx_by_hash(tx_hash: str | bytes) -> Query[Tx]:
    """The transaction with this hash (64 hex characters or 32 bytes)."""
    params = {"tx_hash": parse_hash(tx_hash, arg="tx_hash")}
    return make_query(_tx_statement("by_hash"), tx_maker(), params)


def txs_by_hashes(tx_hashes: Iterable[str | bytes]) -> Query[Tx]:
    """The transactions with these hashes, in one query (``= ANY``), in chain order."""
    hashes = parse_hashes(tx_hashes, arg="tx_hashes", max_items=MAX_BATCH)
    return make_query(_tx_statement("by_hashes"), tx_maker(), {"tx_hashes": hashes}, BY_TX_ID)


def block_txs(block_hash: str | bytes) -> Query[Tx]:
    """The transactions of a block, in block order (keyset on id)."""
    params = {"block_hash": parse_hash(block_hash, arg="block_hash")}
    return make_query(_tx_statement("by_block"), tx_maker(), params, BY_TX_ID)


def epoch_txs(epoch_no: int) -> Query[Tx]:
    """Every transaction of an epoch, in chain order (keyset on id): stream or page it."""
    params = {"epoch_no": _word31(epoch_no, "epoch_no")}
    return make_query(_tx_statement("by_epoch"), tx_maker(), params, BY_TX_ID)


# ------------------------------------------------------------------------------ outputs


def _out_key(record: TxOut) -> tuple[object, ...]:
    return (record.id,)


def _tx_out_row(row: Sequence[Any]) -> TxOut:
    return _TX_OUT_MAKER.one(
        (row[0], row[1], row[2], row[3], row[4], row[5],
         assets_of(row[6], row[7], row[8], row[9]), row[10], row[11], row[12], row[13])
    )  # fmt: skip


_TX_OUT_MAKER = record_maker(TxOut, 11)
TX_OUT_MAKER: RowMaker[TxOut] = function_maker(_tx_out_row)


@functools.cache
def tx_out_select(shape: Shape) -> Select[Any]:
    """:class:`TxOut` columns over the output view of ``shape`` (assets as four arrays)."""
    ov = output_view(shape)
    return select(
        ov.c.id,
        ov.c.tx_hash,
        ov.c.index,
        ov.c.address,
        ov.c.stake_address,
        ov.c.value,
        ov.c.policies,
        ov.c.names,
        ov.c.fingerprints,
        ov.c.quantities,
        ov.c.data_hash,
        ov.c.inline_datum_hash,
        ov.c.reference_script_hash,
        spent_by_hash(shape, ov).label("spent_by_tx_hash"),
    )


@functools.cache
def _keyset_out(shape: Shape) -> Keyset[TxOut]:
    return Keyset(((output_view(shape).c.id, False),), key=_out_key)


@functools.cache
def _outputs_statement(shape: Shape) -> Select[Any]:
    ov = output_view(shape)
    return (
        tx_out_select(shape)
        .where(ov.c.tx_hash == bindparam("tx_hash", type_=LargeBinary))
        .order_by(ov.c.index)
    )


def tx_outputs(tx_hash: str | bytes, *, layout: Layout | None = None) -> Query[TxOut]:
    """The outputs of a transaction in index order, with assets and the spending tx."""
    shape = shape_of(layout)
    params = {"tx_hash": parse_hash(tx_hash, arg="tx_hash")}
    return make_query(_outputs_statement(shape), TX_OUT_MAKER, params, _keyset_out(shape))


# ------------------------------------------------------------------------------ inputs


def _tx_in_row(row: Sequence[Any]) -> TxIn:
    return _TX_IN_MAKER.one(
        (row[0], row[1], row[2], row[3], row[4], row[5], assets_of(row[6], row[7], row[8], row[9]))
    )


_TX_IN_MAKER = record_maker(TxIn, 7)
TX_IN_MAKER: RowMaker[TxIn] = function_maker(_tx_in_row)


@functools.cache
def _inputs_statement(shape: Shape) -> Select[Any]:
    ov = output_view(shape)
    spender = tx.alias("spender")
    producer = tx.alias("producer")
    wanted = bindparam("tx_hash", type_=LargeBinary)

    def resolved(kind: str, link: Any, rank: int) -> Select[Any]:
        # An input names (producing tx id, index); LEFT JOIN: prune may have deleted it.
        return (
            select(
                literal(kind, String).label("kind"),
                producer.c.hash.label("tx_hash"),
                type_coerce(link.c.tx_out_index, SmallInteger()).label("index"),
                ov.c.address,
                ov.c.stake_address,
                ov.c.value,
                ov.c.policies,
                ov.c.names,
                ov.c.fingerprints,
                ov.c.quantities,
                literal(rank, Integer).label("rank"),
            )
            .select_from(
                link.join(spender, spender.c.id == link.c.tx_in_id)
                .join(producer, producer.c.id == link.c.tx_out_id)
                .outerjoin(
                    ov, and_(ov.c.tx_id == link.c.tx_out_id, ov.c.index == link.c.tx_out_index)
                )
            )
            .where(spender.c.hash == wanted)
        )

    if shape.by_tx_in:
        spends = resolved("spend", tx_in, 0)
    else:
        spends = select(
            literal("spend", String).label("kind"),
            ov.c.tx_hash,
            ov.c.index,
            ov.c.address,
            ov.c.stake_address,
            ov.c.value,
            ov.c.policies,
            ov.c.names,
            ov.c.fingerprints,
            ov.c.quantities,
            literal(0, Integer).label("rank"),
        ).where(
            ov.c.consumed_by_tx_id
            == select(spender.c.id).where(spender.c.hash == wanted).scalar_subquery()
        )
    parts = union_all(
        spends,
        resolved("collateral", collateral_tx_in, 1),
        resolved("reference", reference_tx_in, 2),
    ).subquery("inputs")
    # Inputs in the ledger's order: by (producing tx hash, index) within each kind.
    return select(*[c for c in parts.c if c.name != "rank"]).order_by(
        parts.c.rank, parts.c.tx_hash, parts.c.index
    )


def tx_inputs(tx_hash: str | bytes, *, layout: Layout | None = None) -> Query[TxIn]:
    """A transaction's inputs (spent, collateral, reference), resolved to their outputs.

    For a transaction whose scripts failed, the spent inputs are its collateral, as db-sync
    records it. Under db-sync's ``prune`` mode, outputs spent long ago are gone: their inputs
    are not found (``consumed`` keeps them).
    """
    shape = shape_of(layout)
    params = {"tx_hash": parse_hash(tx_hash, arg="tx_hash")}
    return make_query(_inputs_statement(shape), TX_IN_MAKER, params)


# ------------------------------------------------------------------------------ metadata


def _metadata_row(row: Sequence[Any]) -> TxMetadata:
    value = row[3]
    decoded = json.loads(value) if isinstance(value, str) else value
    return _METADATA_MAKER.one((row[0], row[1], row[2], decoded, row[4]))


_METADATA_MAKER = record_maker(TxMetadata, 5)
METADATA_MAKER: RowMaker[TxMetadata] = function_maker(_metadata_row)


def _metadata_key(record: TxMetadata) -> tuple[object, ...]:
    return (record.id,)


_BY_METADATA_ID = Keyset(((tx_metadata.c.id, False),), key=_metadata_key)


@functools.cache
def _metadata_statement(name: str) -> Select[Any]:
    base = select(
        tx_metadata.c.id,
        tx.c.hash.label("tx_hash"),
        tx_metadata.c.key,
        tx_metadata.c.json,
        tx_metadata.c.bytes.label("cbor"),
    ).select_from(tx_metadata.join(tx, tx.c.id == tx_metadata.c.tx_id))
    if name == "of_tx":
        return base.where(tx.c.hash == bindparam("tx_hash", type_=LargeBinary)).order_by(
            tx_metadata.c.key, tx_metadata.c.id
        )
    key = type_coerce(tx_metadata.c.key, Numeric(20, 0))
    return base.where(key == bindparam("label", type_=Numeric(20, 0))).order_by(tx_metadata.c.id)


def tx_metadata_of(tx_hash: str | bytes) -> Query[TxMetadata]:
    """The metadata of a transaction, one record per label, by label."""
    params = {"tx_hash": parse_hash(tx_hash, arg="tx_hash")}
    return make_query(_metadata_statement("of_tx"), METADATA_MAKER, params)


def txs_by_metadata_label(label: int) -> Query[TxMetadata]:
    """Every metadata entry with this label (e.g. 721, 674), in chain order (keyset on id).

    db-sync has no index on ``tx_metadata.key``; see :mod:`dbsync_core.indexes` for the one to
    add before using this on a large database.
    """
    value = parse_non_negative(label, arg="label")
    if value > _WORD64_MAX:
        msg = f"label: expected 0..{_WORD64_MAX}, got {value}"
        raise InvalidInputError(msg)
    return make_query(
        _metadata_statement("by_label"), METADATA_MAKER, {"label": value}, _BY_METADATA_ID
    )


# ------------------------------------------------------------------------------ block + txs


def _block_tx_row(row: Sequence[Any]) -> tuple[Block, Tx | None]:
    block_record = _BLOCK_MAKER.one(row[:17])
    tx_record = _TX_MAKER.one(row[17:]) if row[17] is not None else None
    return block_record, tx_record


_BLOCK_MAKER = record_maker(Block, 17)
_TX_MAKER = record_maker(Tx, 18)


@functools.cache
def _block_with_txs_statement() -> Select[Any]:
    blocks = block_by_hash(b"\x00" * 32).statement.subquery("b")
    txs = tx_select().subquery("t")
    return (
        select(*blocks.c, *txs.c)
        .select_from(blocks.outerjoin(txs, txs.c.block_id == blocks.c.id))
        .order_by(txs.c.block_index)
    )


def block_with_txs(block_hash: str | bytes) -> Query[tuple[Block, Tx | None]]:
    """One round trip for a block and its transactions (rows of (block, tx or None))."""
    params = {"block_hash": parse_hash(block_hash, arg="block_hash")}
    return make_query(_block_with_txs_statement(), function_maker(_block_tx_row), params)


# ------------------------------------------------------------------------------ runners


async def fetch_tx(conn: AsyncConnection, tx_hash: str | bytes) -> Tx | None:
    """The transaction with this hash, or None."""
    return await fetch_optional(conn, tx_by_hash(tx_hash))


async def fetch_txs(conn: AsyncConnection, tx_hashes: Iterable[str | bytes]) -> list[Tx]:
    """The transactions with these hashes (one query), in chain order; unknown ones skipped."""
    return await fetch_all(conn, txs_by_hashes(tx_hashes))


async def fetch_tx_outputs(conn: AsyncConnection, tx_hash: str | bytes) -> list[TxOut]:
    """The outputs of a transaction, with assets and spent-by, in the database's layout."""
    tx_outputs(tx_hash)  # validate before any round trip
    return await fetch_all(conn, tx_outputs(tx_hash, layout=await layout_of(conn)))


async def fetch_tx_inputs(conn: AsyncConnection, tx_hash: str | bytes) -> list[TxIn]:
    """The inputs of a transaction, resolved, in the database's layout."""
    tx_inputs(tx_hash)  # validate before any round trip
    return await fetch_all(conn, tx_inputs(tx_hash, layout=await layout_of(conn)))


async def fetch_tx_metadata(conn: AsyncConnection, tx_hash: str | bytes) -> list[TxMetadata]:
    """The metadata entries of a transaction."""
    return await fetch_all(conn, tx_metadata_of(tx_hash))


async def fetch_block_with_txs(
    conn: AsyncConnection, block_hash: str | bytes
) -> BlockWithTxs | None:
    """A block and all its transactions in one round trip (no N+1), or None."""
    rows = await fetch_all(conn, block_with_txs(block_hash))
    if not rows:
        return None
    return BlockWithTxs(rows[0][0], tuple(t for _b, t in rows if t is not None))
