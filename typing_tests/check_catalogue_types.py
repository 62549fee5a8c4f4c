# ruff: noqa: INP001  (a folder of mypy inputs, not a package)
"""Static checks, not tests: the catalogue's builders and runners carry their record types."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_type

from dbsync_core import addresses, epochs, txs
from dbsync_core._exec import fetch_all, fetch_one, fetch_optional, stream
from dbsync_core.query import Query
from dbsync_core.records import (
    AddressBalance,
    BlockWithTxs,
    EpochParams,
    EpochStats,
    EpochSummary,
    Tx,
    TxIn,
    TxMetadata,
    TxOut,
    Utxo,
)
from dbsync_core.schema import tx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncConnection

ADDR = "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"


async def catalogue(conn: AsyncConnection) -> None:
    h = "00" * 32
    assert_type(txs.tx_by_hash(h), Query[Tx])
    assert_type(txs.tx_by_hash(h).where(tx.c.fee > 0), Query[Tx])
    assert_type(await fetch_one(conn, txs.tx_by_hash(h)), Tx)
    assert_type(await txs.fetch_tx(conn, h), Tx | None)
    assert_type(await txs.fetch_txs(conn, [h]), list[Tx])
    assert_type(await fetch_all(conn, txs.tx_outputs(h)), list[TxOut])
    assert_type(await fetch_all(conn, txs.tx_inputs(h)), list[TxIn])
    assert_type(await fetch_all(conn, txs.tx_metadata_of(h)), list[TxMetadata])
    assert_type(await txs.fetch_block_with_txs(conn, h), BlockWithTxs | None)
    epoch_stream: AsyncIterator[Tx] = stream(conn, txs.epoch_txs(5))
    async for record in epoch_stream:
        assert_type(record, Tx)
    assert_type(addresses.address_utxos(ADDR), Query[Utxo])
    assert_type(await addresses.fetch_address_utxos(conn, ADDR), list[Utxo])
    assert_type(await addresses.fetch_address_balance(conn, ADDR), AddressBalance)
    assert_type(addresses.address_txs(ADDR, from_block=1), Query[Tx])
    assert_type(addresses.outputs_by_refs([f"{h}#0"]), Query[TxOut])
    assert_type(await fetch_optional(conn, epochs.epoch_summary(3)), EpochSummary | None)
    assert_type(await epochs.fetch_epoch_stats(conn, 3), EpochStats)
    assert_type(await epochs.fetch_epoch_params(conn, 3), EpochParams | None)


def misuse() -> None:
    txs.tx_by_hash(5)  # type: ignore[arg-type]
    addresses.address_utxos(ADDR, layout="core")  # type: ignore[arg-type]
