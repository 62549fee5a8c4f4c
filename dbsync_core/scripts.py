"""Scripts, datums and redeemers: a script or datum by hash (one or many in one query), the
redeemers of a transaction or of a script, and the unspent outputs holding a reference script.

Script hashes are 28 bytes (56 hex characters), datum and transaction hashes 32 bytes.
``redeemer.tx_id`` and ``redeemer.script_hash`` have no index in db-sync: see
:mod:`dbsync_core.indexes`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, LargeBinary, any_, bindparam, select, type_coerce

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core._outputs import MAX_BATCH, Shape, output_view, shape_of, unspent, utxo_columns
from dbsync_core._rowbuild import RowMaker, function_maker, record_maker
from dbsync_core.accounts import _json
from dbsync_core.addresses import UTXO_MAKER
from dbsync_core.codecs import parse_hash, parse_hashes
from dbsync_core.layout import Layout, layout_of
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import Datum, Redeemer, Script, Utxo
from dbsync_core.schema import datum, redeemer, redeemer_data, script, tx

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "datum_info",
    "datums_info",
    "fetch_datum",
    "fetch_datums",
    "fetch_reference_script_utxos",
    "fetch_script",
    "fetch_script_redeemers",
    "fetch_scripts",
    "fetch_tx_redeemers",
    "reference_script_utxos",
    "script_info",
    "script_redeemers",
    "scripts_info",
    "tx_redeemers",
]


def _bytes_of(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return type_coerce(column, LargeBinary())


def _one_or_many(name: str) -> ColumnElement[Any]:
    return any_(bindparam(name, type_=ARRAY(LargeBinary)))


# ------------------------------------------------------------------ scripts


def _script_row(row: Sequence[Any]) -> Script:
    return _SCRIPT_MAKER.one((row[0], row[1], row[2], row[3], _json(row[4]), row[5]))


_SCRIPT_MAKER = record_maker(Script, 6)
SCRIPT_MAKER: RowMaker[Script] = function_maker(_script_row)


@functools.cache
def _script_statement() -> Select[Any]:
    return (
        select(
            script.c.hash,
            script.c.type,
            script.c.serialised_size,
            script.c.bytes.label("cbor"),
            script.c.json,
            tx.c.hash.label("tx_hash"),
        )
        .select_from(script.join(tx, tx.c.id == script.c.tx_id))
        .where(_bytes_of(script.c.hash) == _one_or_many("script_hashes"))
        .order_by(script.c.id)
    )


def script_info(script_hash: str | bytes) -> Query[Script]:
    """A script by hash: type, size, serialised bytes (Plutus) or JSON (native)."""
    hashes = [parse_hash(script_hash, size=28, arg="script_hash")]
    return make_query(_script_statement(), SCRIPT_MAKER, {"script_hashes": hashes})


def scripts_info(script_hashes: Iterable[str | bytes]) -> Query[Script]:
    """Many scripts in one query (``= ANY``), in chain order; unknown ones skipped."""
    hashes = parse_hashes(script_hashes, size=28, arg="script_hashes", max_items=MAX_BATCH)
    return make_query(_script_statement(), SCRIPT_MAKER, {"script_hashes": hashes})


# ------------------------------------------------------------------ datums


def _datum_row(row: Sequence[Any]) -> Datum:
    return _DATUM_MAKER.one((row[0], _json(row[1]), row[2], row[3]))


_DATUM_MAKER = record_maker(Datum, 4)
DATUM_MAKER: RowMaker[Datum] = function_maker(_datum_row)


@functools.cache
def _datum_statement() -> Select[Any]:
    return (
        select(
            datum.c.hash,
            datum.c.value,
            datum.c.bytes.label("cbor"),
            tx.c.hash.label("tx_hash"),
        )
        .select_from(datum.join(tx, tx.c.id == datum.c.tx_id))
        .where(_bytes_of(datum.c.hash) == _one_or_many("datum_hashes"))
        .order_by(datum.c.id)
    )


def datum_info(datum_hash: str | bytes) -> Query[Datum]:
    """A datum by hash: db-sync's JSON rendering and its CBOR."""
    hashes = [parse_hash(datum_hash, arg="datum_hash")]
    return make_query(_datum_statement(), DATUM_MAKER, {"datum_hashes": hashes})


def datums_info(datum_hashes: Iterable[str | bytes]) -> Query[Datum]:
    """Many datums in one query, in chain order; unknown ones skipped."""
    hashes = parse_hashes(datum_hashes, arg="datum_hashes", max_items=MAX_BATCH)
    return make_query(_datum_statement(), DATUM_MAKER, {"datum_hashes": hashes})


# ------------------------------------------------------------------ redeemers


def _redeemer_row(row: Sequence[Any]) -> Redeemer:
    return _REDEEMER_MAKER.one(
        (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
         _json(row[9]), row[10])
    )  # fmt: skip


_REDEEMER_MAKER = record_maker(Redeemer, 11)
REDEEMER_MAKER: RowMaker[Redeemer] = function_maker(_redeemer_row)


def _redeemer_key(record: Redeemer) -> tuple[object, ...]:
    return (record.id,)


_BY_REDEEMER_ID = Keyset(((redeemer.c.id, False),), key=_redeemer_key)


@functools.cache
def _redeemer_statement(by: str) -> Select[Any]:
    base = select(
        redeemer.c.id,
        tx.c.hash.label("tx_hash"),
        redeemer.c.purpose,
        redeemer.c.index,
        redeemer.c.unit_mem,
        redeemer.c.unit_steps,
        redeemer.c.fee,
        redeemer.c.script_hash,
        redeemer_data.c.hash.label("datum_hash"),
        redeemer_data.c.value.label("datum_value"),
        redeemer_data.c.bytes.label("datum_cbor"),
    ).select_from(
        redeemer.join(tx, tx.c.id == redeemer.c.tx_id).join(
            redeemer_data, redeemer_data.c.id == redeemer.c.redeemer_data_id
        )
    )
    if by == "tx":
        spender = tx.alias("spender")
        wanted = select(spender.c.id).where(
            _bytes_of(spender.c.hash) == bindparam("tx_hash", type_=LargeBinary)
        )
        return base.where(redeemer.c.tx_id == wanted.scalar_subquery()).order_by(redeemer.c.id)
    wanted_script = bindparam("script_hash", type_=LargeBinary)
    return base.where(_bytes_of(redeemer.c.script_hash) == wanted_script).order_by(redeemer.c.id)


def tx_redeemers(tx_hash: str | bytes) -> Query[Redeemer]:
    """The redeemers of a transaction (purpose, index, budget, fee, script, data), in order."""
    params = {"tx_hash": parse_hash(tx_hash, arg="tx_hash")}
    return make_query(_redeemer_statement("tx"), REDEEMER_MAKER, params, _BY_REDEEMER_ID)


def script_redeemers(script_hash: str | bytes) -> Query[Redeemer]:
    """Every redeemer run for a script, oldest first (keyset on id)."""
    params = {"script_hash": parse_hash(script_hash, size=28, arg="script_hash")}
    return make_query(_redeemer_statement("script"), REDEEMER_MAKER, params, _BY_REDEEMER_ID)


# ------------------------------------------------------------------ reference scripts


def _utxo_key(record: Utxo) -> tuple[object, ...]:
    return (record.id,)


@functools.cache
def _reference_query(shape: Shape) -> tuple[Select[Any], Keyset[Utxo]]:
    ov = output_view(shape)
    statement = (
        select(*utxo_columns(ov))
        .where(
            _bytes_of(ov.c.reference_script_hash) == _one_or_many("script_hashes"),
            unspent(shape, ov),
        )
        .order_by(ov.c.id)
    )
    return statement, Keyset(((ov.c.id, False),), key=_utxo_key)


def reference_script_utxos(
    script_hashes: Iterable[str | bytes], *, layout: Layout | None = None
) -> Query[Utxo]:
    """The unspent outputs carrying any of these reference scripts, oldest first (keyset on
    id)."""
    hashes = parse_hashes(script_hashes, size=28, arg="script_hashes", max_items=MAX_BATCH)
    statement, keyset = _reference_query(shape_of(layout))
    return make_query(statement, UTXO_MAKER, {"script_hashes": hashes}, keyset)


# ------------------------------------------------------------------ runners


async def fetch_script(conn: AsyncConnection, script_hash: str | bytes) -> Script | None:
    """A script by hash, or None."""
    return await fetch_optional(conn, script_info(script_hash))


async def fetch_scripts(
    conn: AsyncConnection, script_hashes: Iterable[str | bytes]
) -> list[Script]:
    """Many scripts in one query."""
    return await fetch_all(conn, scripts_info(script_hashes))


async def fetch_datum(conn: AsyncConnection, datum_hash: str | bytes) -> Datum | None:
    """A datum by hash, or None."""
    return await fetch_optional(conn, datum_info(datum_hash))


async def fetch_datums(conn: AsyncConnection, datum_hashes: Iterable[str | bytes]) -> list[Datum]:
    """Many datums in one query."""
    return await fetch_all(conn, datums_info(datum_hashes))


async def fetch_tx_redeemers(conn: AsyncConnection, tx_hash: str | bytes) -> list[Redeemer]:
    """The redeemers of a transaction."""
    return await fetch_all(conn, tx_redeemers(tx_hash))


async def fetch_script_redeemers(conn: AsyncConnection, script_hash: str | bytes) -> list[Redeemer]:
    """Every redeemer of a script (page :func:`script_redeemers` for busy ones)."""
    return await fetch_all(conn, script_redeemers(script_hash))


async def fetch_reference_script_utxos(
    conn: AsyncConnection, script_hashes: Iterable[str | bytes]
) -> list[Utxo]:
    """The unspent outputs carrying these reference scripts, in the database's layout."""
    hashes = parse_hashes(script_hashes, size=28, arg="script_hashes", max_items=MAX_BATCH)
    return await fetch_all(conn, reference_script_utxos(hashes, layout=await layout_of(conn)))
