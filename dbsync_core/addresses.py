"""Addresses: UTxOs with assets, balances, transaction history, outputs with their spent status
(the "address activity" of ORM guides, as one query instead of a loop), for one address or many
in one call, and outputs by reference (``tx_hash#index``).

Every builder takes the database's :class:`~dbsync_core.layout.Layout` (``layout=``; db-sync's
defaults if omitted); the runners detect it once per engine. Answers are the same on every
layout: core or address-table ``tx_out``, ``tx_in`` or ``consumed_by_tx_id`` spent tracking
(``prune`` deletes old spent outputs, so history reaches back only as far as they remain).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from dbsync_core._exec import fetch_all
from dbsync_core._outputs import (
    MAX_BATCH,
    Shape,
    address_args,
    address_filter,
    address_params,
    assets_of,
    output_view,
    shape_of,
    unspent,
    utxo_columns,
)
from dbsync_core._rowbuild import RowMaker, function_maker, record_maker
from dbsync_core.codecs import parse_hash
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import Layout, layout_of
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import AddressBalance, Tx, TxOut, Utxo
from dbsync_core.schema import block, ma_tx_out, multi_asset, tx, tx_in
from dbsync_core.txs import BY_TX_ID_DESC, TX_OUT_MAKER, tx_maker, tx_out_select, tx_select

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "address_balance",
    "address_balances",
    "address_outputs",
    "address_txs",
    "address_utxos",
    "addresses_outputs",
    "addresses_txs",
    "addresses_utxos",
    "fetch_address_balance",
    "fetch_address_utxos",
    "fetch_outputs_by_refs",
    "outputs_by_refs",
]


def _addresses(value: str | Iterable[str], *, arg: str, single: bool) -> Any:
    if single:
        if not isinstance(value, str):
            msg = f"{arg}: expected an address string, got {type(value).__name__}"
            raise InvalidInputError(msg)
        return address_args([value], arg=arg)
    return address_args(value, arg=arg)


def _kind(shape: Shape, indexed: bool) -> tuple[Shape, bool]:
    # The address-table layout has a single filter; the core one two (with or without creds).
    return shape, indexed and not shape.address_table


# ------------------------------------------------------------------------------ UTxOs


def _utxo_row(row: Sequence[Any]) -> Utxo:
    return _UTXO_MAKER.one(
        (row[0], row[1], row[2], row[3], row[4], row[5],
         assets_of(row[6], row[7], row[8], row[9]), row[10], row[11], row[12])
    )  # fmt: skip


_UTXO_MAKER = record_maker(Utxo, 10)
UTXO_MAKER: RowMaker[Utxo] = function_maker(_utxo_row)


def _id_key(record: Utxo | TxOut) -> tuple[object, ...]:
    return (record.id,)


@functools.cache
def _by_out_id(shape: Shape) -> Keyset[Any]:
    return Keyset(((output_view(shape).c.id, False),), key=_id_key)


@functools.cache
def _utxos_statement(shape: Shape, indexed: bool) -> Select[Any]:
    ov = output_view(shape)
    return (
        select(*utxo_columns(ov))
        .where(address_filter(shape, ov, indexed=indexed), unspent(shape, ov))
        .order_by(ov.c.id)
    )


def _utxos(args: Any, layout: Layout | None) -> Query[Utxo]:
    shape, indexed = _kind(shape_of(layout), args.all_shelley)
    statement = _utxos_statement(shape, indexed)
    return make_query(statement, UTXO_MAKER, address_params(shape, args), _by_out_id(shape))


def address_utxos(address: str, *, layout: Layout | None = None) -> Query[Utxo]:
    """The unspent outputs at ``address`` with their assets, oldest first (keyset on id)."""
    return _utxos(_addresses(address, arg="address", single=True), layout)


def addresses_utxos(addresses: Iterable[str], *, layout: Layout | None = None) -> Query[Utxo]:
    """The unspent outputs at any of ``addresses`` (one query), oldest first."""
    return _utxos(_addresses(addresses, arg="addresses", single=False), layout)


# ------------------------------------------------------------------------------ outputs


@functools.cache
def _outputs_statement(shape: Shape, indexed: bool) -> Select[Any]:
    ov = output_view(shape)
    return tx_out_select(shape).where(address_filter(shape, ov, indexed=indexed)).order_by(ov.c.id)


def _outputs(args: Any, layout: Layout | None) -> Query[TxOut]:
    shape, indexed = _kind(shape_of(layout), args.all_shelley)
    statement = _outputs_statement(shape, indexed)
    return make_query(statement, TX_OUT_MAKER, address_params(shape, args), _by_out_id(shape))


def address_outputs(address: str, *, layout: Layout | None = None) -> Query[TxOut]:
    """Every output ever paid to ``address``, with assets and the tx that spent it (if any).

    The one-query replacement of the "address activity" loop (one lookup per output).
    """
    return _outputs(_addresses(address, arg="address", single=True), layout)


def addresses_outputs(addresses: Iterable[str], *, layout: Layout | None = None) -> Query[TxOut]:
    """:func:`address_outputs` for many addresses in one query."""
    return _outputs(_addresses(addresses, arg="addresses", single=False), layout)


# ------------------------------------------------------------------------------ balances


def _balance_row(row: Sequence[Any]) -> AddressBalance:
    return _BALANCE_MAKER.one((row[0], row[1], row[2], assets_of(row[3], row[4], row[5], row[6])))


_BALANCE_MAKER = record_maker(AddressBalance, 4)
BALANCE_MAKER: RowMaker[AddressBalance] = function_maker(_balance_row)


@functools.cache
def _balance_statement(shape: Shape, indexed: bool) -> Select[Any]:
    ov = output_view(shape)
    held = (
        select(ov.c.id, ov.c.address, ov.c.value)
        .where(address_filter(shape, ov, indexed=indexed), unspent(shape, ov))
        .cte("held")
    )
    # Each held output's assets by index (ma_tx_out.tx_out_id). OFFSET 0 keeps PostgreSQL from
    # flattening this into a join it may then run as a scan of all of ma_tx_out: its estimate of
    # the held outputs swings with ANALYZE's sample, and so did the plan.
    held_assets = (
        select(ma_tx_out.c.ident, ma_tx_out.c.quantity)
        .where(ma_tx_out.c.tx_out_id == held.c.id)
        .offset(literal_column("0"))
        .lateral("held_assets")
    )
    per_asset = (
        select(
            held.c.address,
            multi_asset.c.policy,
            multi_asset.c.name,
            multi_asset.c.fingerprint,
            func.sum(held_assets.c.quantity).label("quantity"),
        )
        .select_from(
            held.join(held_assets, true()).join(
                multi_asset, multi_asset.c.id == held_assets.c.ident
            )
        )
        .group_by(held.c.address, multi_asset.c.id)
        .subquery("per_asset")
    )
    order = (per_asset.c.policy, per_asset.c.name)
    assets = (
        select(
            per_asset.c.address,
            func.array_agg(aggregate_order_by(per_asset.c.policy, *order)).label("policies"),
            func.array_agg(aggregate_order_by(per_asset.c.name, *order)).label("names"),
            func.array_agg(aggregate_order_by(per_asset.c.fingerprint, *order)).label(
                "fingerprints"
            ),
            func.array_agg(aggregate_order_by(per_asset.c.quantity, *order)).label("quantities"),
        )
        .group_by(per_asset.c.address)
        .subquery("assets")
    )
    totals = (
        select(
            held.c.address,
            func.sum(held.c.value).label("lovelace"),
            func.count().label("utxo_count"),
        )
        .group_by(held.c.address)
        .subquery("totals")
    )
    wanted = func.unnest(bindparam("wanted", type_=ARRAY(String))).table_valued(
        "address", with_ordinality="ord"
    )
    wanted = wanted.render_derived("wanted", with_types=False)
    return (
        select(
            wanted.c.address,
            func.coalesce(totals.c.lovelace, 0).label("lovelace"),
            func.coalesce(totals.c.utxo_count, 0).label("utxo_count"),
            assets.c.policies,
            assets.c.names,
            assets.c.fingerprints,
            assets.c.quantities,
        )
        .select_from(
            wanted.outerjoin(totals, totals.c.address == wanted.c.address).outerjoin(
                assets, assets.c.address == wanted.c.address
            )
        )
        .order_by(wanted.c.ord)
    )


def _balances(args: Any, layout: Layout | None) -> Query[AddressBalance]:
    shape, indexed = _kind(shape_of(layout), args.all_shelley)
    params = address_params(shape, args)
    params["wanted"] = args.texts
    return make_query(_balance_statement(shape, indexed), BALANCE_MAKER, params)


def address_balance(address: str, *, layout: Layout | None = None) -> Query[AddressBalance]:
    """Lovelace, UTxO count and per-asset totals at ``address`` (zeros if it holds nothing)."""
    return _balances(_addresses(address, arg="address", single=True), layout)


def address_balances(
    addresses: Iterable[str], *, layout: Layout | None = None
) -> Query[AddressBalance]:
    """:func:`address_balance` for many addresses in one query, in the order given."""
    return _balances(_addresses(addresses, arg="addresses", single=False), layout)


# ------------------------------------------------------------------------------ history


@functools.cache
def _history_statement(shape: Shape, indexed: bool) -> Select[Any]:
    ov = output_view(shape)
    mine = address_filter(shape, ov, indexed=indexed)
    received = select(ov.c.tx_id.label("tx_id")).where(mine)
    if shape.by_tx_in:
        spent = (
            select(tx_in.c.tx_in_id.label("tx_id"))
            .select_from(
                ov.join(
                    tx_in, and_(tx_in.c.tx_out_id == ov.c.tx_id, tx_in.c.tx_out_index == ov.c.index)
                )
            )
            .where(mine)
        )
    else:
        spent = select(ov.c.consumed_by_tx_id.label("tx_id")).where(
            mine, ov.c.consumed_by_tx_id.is_not(None)
        )
    ids = union(received, spent).subquery("touched")
    block_no = block.c.block_no
    low = bindparam("from_block", type_=Integer)
    high = bindparam("to_block", type_=Integer)
    return (
        tx_select()
        .where(tx.c.id.in_(select(ids.c.tx_id)))
        .where((low.is_(None)) | (block_no >= low), (high.is_(None)) | (block_no <= high))
        .order_by(tx.c.id.desc())
    )


def _block_bound(value: int | None, arg: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        msg = f"{arg}: expected a block number (0..2**31-1) or None, got {value!r}"
        raise InvalidInputError(msg)
    return value


def _history(
    args: Any, layout: Layout | None, from_block: int | None, to_block: int | None
) -> Query[Tx]:
    shape, indexed = _kind(shape_of(layout), args.all_shelley)
    params = address_params(shape, args)
    params["from_block"] = _block_bound(from_block, "from_block")
    params["to_block"] = _block_bound(to_block, "to_block")
    return make_query(_history_statement(shape, indexed), tx_maker(), params, BY_TX_ID_DESC)


def address_txs(
    address: str,
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    layout: Layout | None = None,
) -> Query[Tx]:
    """Transactions that paid to or spent from ``address``, newest first (keyset on tx id).

    ``from_block`` / ``to_block`` (inclusive block numbers) bound the history.
    """
    args = _addresses(address, arg="address", single=True)
    return _history(args, layout, from_block, to_block)


def addresses_txs(
    addresses: Iterable[str],
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    layout: Layout | None = None,
) -> Query[Tx]:
    """:func:`address_txs` over many addresses in one query (each tx once)."""
    args = _addresses(addresses, arg="addresses", single=False)
    return _history(args, layout, from_block, to_block)


# ------------------------------------------------------------------------------ references


def _refs(values: Iterable[str | tuple[str | bytes, int]]) -> tuple[list[bytes], list[int]]:
    if isinstance(values, str | bytes | bytearray) or not hasattr(values, "__iter__"):
        msg = f"refs: expected an iterable of 'tx_hash#index' strings, got {type(values).__name__}"
        raise InvalidInputError(msg)
    hashes: list[bytes] = []
    indexes: list[int] = []
    for position, value in enumerate(values):
        arg = f"refs[{position}]"
        if position >= MAX_BATCH:
            msg = f"refs: expected at most {MAX_BATCH} references"
            raise InvalidInputError(msg)
        if isinstance(value, str):
            text, sep, number = value.partition("#")
            if not sep or not number.isdigit() or len(number) > 5:
                msg = f"{arg}: expected 'tx_hash#index', got {value[:80]!r}"
                raise InvalidInputError(msg)
            tx_hash, index = parse_hash(text, arg=arg), int(number)
        elif isinstance(value, tuple) and len(value) == 2:
            tx_hash = parse_hash(value[0], arg=arg)
            index = value[1]
            if isinstance(index, bool) or not isinstance(index, int):
                msg = f"{arg}: the index must be an int"
                raise InvalidInputError(msg)
        else:
            msg = f"{arg}: expected 'tx_hash#index' or (tx_hash, index)"
            raise InvalidInputError(msg)
        if not 0 <= index <= 32767:
            msg = f"{arg}: the index must be 0..32767, got {index}"
            raise InvalidInputError(msg)
        hashes.append(tx_hash)
        indexes.append(index)
    if not hashes:
        msg = "refs: expected at least one reference"
        raise InvalidInputError(msg)
    return hashes, indexes


@functools.cache
def _refs_statement(shape: Shape) -> Select[Any]:
    ov = output_view(shape)
    refs = func.unnest(
        bindparam("ref_hashes", type_=ARRAY(LargeBinary)),
        bindparam("ref_indexes", type_=ARRAY(SmallInteger)),
    ).table_valued("tx_hash", "index")
    refs = refs.render_derived("refs", with_types=False)
    return (
        tx_out_select(shape)
        .join(refs, and_(ov.c.tx_hash == refs.c.tx_hash, ov.c.index == refs.c.index))
        .order_by(ov.c.id)
    )


def outputs_by_refs(
    refs: Iterable[str | tuple[str | bytes, int]], *, layout: Layout | None = None
) -> Query[TxOut]:
    """The outputs named by ``tx_hash#index`` (or ``(tx_hash, index)``), spent or not, in one
    query; ``spent_by_tx_hash`` tells which are still UTxOs. Unknown references are skipped."""
    hashes, indexes = _refs(refs)
    shape = shape_of(layout)
    params = {"ref_hashes": hashes, "ref_indexes": indexes}
    return make_query(_refs_statement(shape), TX_OUT_MAKER, params, _by_out_id(shape))


# ------------------------------------------------------------------------------ runners


async def fetch_address_utxos(conn: AsyncConnection, address: str) -> list[Utxo]:
    """Every unspent output at ``address`` (for big ones, page :func:`address_utxos`)."""
    address_utxos(address)  # validate before any round trip
    return await fetch_all(conn, address_utxos(address, layout=await layout_of(conn)))


async def fetch_address_balance(conn: AsyncConnection, address: str) -> AddressBalance:
    """What ``address`` holds."""
    address_balance(address)
    (balance,) = await fetch_all(conn, address_balance(address, layout=await layout_of(conn)))
    return balance


async def fetch_outputs_by_refs(
    conn: AsyncConnection, refs: Iterable[str | tuple[str | bytes, int]]
) -> list[TxOut]:
    """The outputs named by these references, in one query."""
    refs = list(refs) if not isinstance(refs, str | bytes) else refs
    outputs_by_refs(refs)
    return await fetch_all(conn, outputs_by_refs(refs, layout=await layout_of(conn)))
