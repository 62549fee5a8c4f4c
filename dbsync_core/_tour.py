"""The demo's tour of the query catalogue, printed readably (``dbsync-core demo``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.engine import URL

    from dbsync_core.records import AssetAmount, Tx

__all__ = ["run_tour"]


def ada(lovelace: int | None) -> str:
    """Lovelace as ADA with thousands separators."""
    if lovelace is None:
        return "?"
    return f"{lovelace / 1_000_000:,.6f} ADA"


def short(value: bytes | str | None, keep: int = 10) -> str:
    """A hash or address shortened for a terminal line."""
    if value is None:
        return "-"
    text = value.hex() if isinstance(value, bytes) else value
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep:]}"


def _assets(assets: tuple[AssetAmount, ...]) -> str:
    if not assets:
        return ""
    shown = ", ".join(
        f"{a.quantity:,} {a.name.decode(errors='replace') or a.fingerprint}" for a in assets[:3]
    )
    more = f" (+{len(assets) - 3} more)" if len(assets) > 3 else ""
    return f" + {shown}{more}"


async def run_tour(url: URL, heavy_address: str) -> None:
    """Run a dozen catalogue calls against the demo database and print what they return."""
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from dbsync_core import addresses, blocks, epochs, fetch_all, fetch_one, pages, txs  # noqa: PLC0415
    from dbsync_core.layout import layout_of  # noqa: PLC0415

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            layout = await layout_of(conn)

            async def step(title: str, call: Callable[[], Awaitable[Any]]) -> Any:
                started = time.perf_counter()
                result = await call()
                ms = (time.perf_counter() - started) * 1000
                print(f"\n{title}  ({ms:.1f} ms)")
                return result

            print(
                f"\nA tour of the query catalogue (layout: "
                f"{'address table' if layout.address_table else 'core'} tx_out, spent via "
                f"{layout.spent})"
            )
            tip = await step("chain_tip(conn)", lambda: blocks.chain_tip(conn))
            print(
                f"  block {tip.block_no:,} in epoch {tip.epoch_no}, slot {tip.slot_no:,}, "
                f"{tip.time:%Y-%m-%d %H:%M} UTC, {tip.tx_count} txs, by {tip.pool_id or '-'}"
            )
            latest = await step(
                "fetch_all(conn, blocks.latest_blocks(limit=3))",
                lambda: fetch_all(conn, blocks.latest_blocks(limit=3)),
            )
            for b in latest:
                print(f"  #{b.block_no:,}  {short(b.hash)}  {b.tx_count:>3} txs  {b.size:,} bytes")

            busy = max(latest, key=lambda b: b.tx_count)
            bwt = await step(
                "txs.fetch_block_with_txs(conn, hash)  -- one round trip, no N+1",
                lambda: txs.fetch_block_with_txs(conn, busy.hash),
            )
            assert bwt is not None
            for t in bwt.txs[:3]:
                print(f"  tx {short(t.hash)}  fee {ada(t.fee)}  out {ada(t.out_sum)}")
            if not bwt.txs:
                print("  (an empty block)")
            tx: Tx | None = bwt.txs[0] if bwt.txs else None
            if tx is not None:
                outs = await step(
                    "txs.fetch_tx_outputs(conn, tx_hash)",
                    lambda: txs.fetch_tx_outputs(conn, tx.hash),
                )
                for o in outs[:3]:
                    spent = (
                        f"spent by {short(o.spent_by_tx_hash)}" if o.spent_by_tx_hash else "unspent"
                    )
                    where = short(o.address, 12)
                    print(f"  #{o.index} {where}  {ada(o.value)}{_assets(o.assets)}  ({spent})")
                ins = await step(
                    "txs.fetch_tx_inputs(conn, tx_hash)",
                    lambda: txs.fetch_tx_inputs(conn, tx.hash),
                )
                for i in ins[:3]:
                    print(f"  {i.kind:<10} {short(i.tx_hash)}#{i.index}  {ada(i.value)}")

            balance = await step(
                "addresses.fetch_address_balance(conn, heaviest_address)",
                lambda: addresses.fetch_address_balance(conn, heavy_address),
            )
            print(
                f"  {short(balance.address, 14)}: {ada(balance.lovelace)} in "
                f"{balance.utxo_count:,} UTxOs{_assets(balance.assets)}"
            )
            page = await step(
                "pages(conn, addresses.address_utxos(heaviest, layout=...), page_size=3)",
                lambda: pages(
                    conn, addresses.address_utxos(heavy_address, layout=layout), page_size=3
                ),
            )
            for u in page.items:
                print(f"  {short(u.tx_hash)}#{u.index}  {ada(u.value)}{_assets(u.assets)}")
            print(f"  next_cursor: {short(page.next_cursor or '', 16)}")
            history = await step(
                "pages(conn, addresses.address_txs(heaviest, layout=...), page_size=3)",
                lambda: pages(
                    conn, addresses.address_txs(heavy_address, layout=layout), page_size=3
                ),
            )
            for t in history.items:
                print(f"  {short(t.hash)}  block {t.block_no:,}  {t.time:%Y-%m-%d %H:%M}")

            epoch_no = tip.epoch_no or 0
            summary = await step(
                f"epochs.fetch_epoch_summary(conn, {epoch_no})",
                lambda: epochs.fetch_epoch_summary(conn, epoch_no),
            )
            if summary is not None:
                print(
                    f"  {summary.blk_count:,} blocks, {summary.tx_count:,} txs, fees "
                    f"{ada(summary.fees)}, outputs {ada(summary.out_sum)}"
                )
            stats = await step(
                f"epochs.fetch_epoch_stats(conn, {epoch_no})  -- one query",
                lambda: epochs.fetch_epoch_stats(conn, epoch_no),
            )
            print(
                f"  average fee {ada(round(stats.average_fee))}, "
                f"total size {stats.total_size:,} bytes"
            )
            params = await step(
                f"epochs.fetch_epoch_params(conn, {epoch_no})",
                lambda: epochs.fetch_epoch_params(conn, epoch_no),
            )
            if params is not None:
                print(
                    f"  protocol {params.protocol_major}.{params.protocol_minor}, min fee "
                    f"{params.min_fee_a} x size + {params.min_fee_b}, key deposit "
                    f"{ada(params.key_deposit)}"
                )
            nft = await step(
                "fetch_one(conn, txs.txs_by_metadata_label(721).limit(1))  -- CIP-25",
                lambda: fetch_one(conn, txs.txs_by_metadata_label(721).limit(1)),
            )
            print(f"  tx {short(nft.tx_hash)}: {str(nft.json)[:90]}")
    finally:
        await engine.dispose()
