"""Load a synthetic chain into PostgreSQL: schema, COPY in batches, then indexes.

Generation runs in a worker thread one batch ahead of the COPY, so the server digests a batch
while Python builds the next. Indexes are built after the data (two connections in parallel),
then the run-time artefacts of the variant: ``consumed_by_tx_id`` and pruning, the
``extra_migrations`` tokens, the sequences, ``epoch_sync_enabled`` and statistics.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import attrs

from dbsync_core._pg import asyncpg_dsn
from dbsync_core.exceptions import SchemaExistsError
from dbsync_core.schema._ddl import _seed_rows, index_ddl, table_ddl, type_ddl, view_ddl
from dbsync_core.synth._gen import ADDRESS_ID_LAST, COLUMNS, Generator
from dbsync_core.synth._model import ChainConfig, Variant

if TYPE_CHECKING:
    from collections.abc import Callable

    import asyncpg
    from sqlalchemy.engine import URL

    from dbsync_core.synth._truth import Truth

__all__ = ["SeedReport", "seed_database"]

#: How deep (in blocks) a spent output must be before the prune variant deletes it.
PRUNE_DEPTH = 50

# tx_out / collateral_tx_out in the address-table layout: drop address, address_has_script,
# payment_cred (positions 3, 4, 5); the generator appended address_id last.
_ADDRESS_LAYOUT_COLUMNS = {
    "tx_out": (
        "id", "tx_id", "index", "stake_address_id", "value", "data_hash", "inline_datum_id",
        "reference_script_id", "consumed_by_tx_id", "address_id",
    ),
    "collateral_tx_out": (
        "id", "tx_id", "index", "stake_address_id", "value", "data_hash", "multi_assets_descr",
        "inline_datum_id", "reference_script_id", "address_id",
    ),
}  # fmt: skip


@attrs.frozen
class SeedReport:
    """What a load did: rows per table, timings, and the chain's ground truth (if kept)."""

    config: ChainConfig
    variant: Variant
    rows: dict[str, int]
    seconds: float
    load_seconds: float
    index_seconds: float
    truth: Truth | None = attrs.field(repr=False, eq=False)
    heavy_address: str
    tip_block_id: int

    @property
    def total_rows(self) -> int:
        """Rows written, all tables together."""
        return sum(self.rows.values())


def _rows_for(table: str, rows: list[tuple[Any, ...]], variant: Variant) -> list[tuple[Any, ...]]:
    if table in ADDRESS_ID_LAST:
        if variant.address_table:
            return [r[:3] + r[6:] for r in rows]
        return [r[:-1] for r in rows]
    return rows


def _columns_for(table: str, variant: Variant) -> tuple[str, ...]:
    if variant.address_table and table in _ADDRESS_LAYOUT_COLUMNS:
        return _ADDRESS_LAYOUT_COLUMNS[table]
    return COLUMNS[table]


def _skipped(table: str, variant: Variant) -> bool:
    if table == "address":
        return not variant.address_table
    if table == "tx_in":
        return variant.spent != "tx_in"  # consumed / prune: tx_in stays empty
    return False


async def _copy_batch(
    conn: asyncpg.Connection, batch: dict[str, list[tuple[Any, ...]]], variant: Variant
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, rows in batch.items():
        if not rows or _skipped(table, variant):
            continue
        await conn.copy_records_to_table(
            table, records=_rows_for(table, rows, variant), columns=_columns_for(table, variant)
        )
        counts[table] = len(rows)
    return counts


async def seed_database(
    url: str | URL,
    config: ChainConfig | None = None,
    variant: Variant | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Create the db-sync schema in the (empty) database at ``url`` and load a chain into it.

    ``progress(txs_done, txs_total)`` is called after every batch. Raises
    :class:`~dbsync_core.exceptions.SchemaExistsError` if the database already holds tables;
    nothing is written then.
    """
    import asyncpg  # noqa: PLC0415  (only the loader needs the raw driver)

    config = config or ChainConfig()
    variant = variant or Variant()
    started = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        existing = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p', 'm')"
        )
        if existing:
            msg = f"the database already holds {existing} tables or views; refusing to seed it"
            raise SchemaExistsError(msg)
        ddl = type_ddl() + table_ddl(address_table=variant.address_table) + view_ddl()
        await conn.execute(";\n".join(ddl + _seed_rows()))
        # The bulk load needs no durability until it is done (an unlogged-like speed-up that
        # changes nothing in the catalog).
        await conn.execute("SET synchronous_commit = off")

        gen = Generator(config)
        rows: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbsync-synth") as pool:
            batches = gen.batches()
            pending = loop.run_in_executor(pool, next, batches, None)
            while True:
                batch = await pending
                if batch is None:
                    break
                pending = loop.run_in_executor(pool, next, batches, None)
                for table, n in (await _copy_batch(conn, batch, variant)).items():
                    rows[table] = rows.get(table, 0) + n
                if progress is not None:
                    progress(min(gen.ids["tx"], config.txs), config.txs)
        load_done = time.perf_counter()

        await _finish_variant(conn, gen, variant)
        await _set_sequences(conn, variant)
        await conn.execute("UPDATE epoch_sync_enabled SET enabled = true")
        if variant.extra_migration_tokens:
            await conn.executemany(
                "INSERT INTO extra_migrations (token, description) VALUES ($1, $2)",
                [(t, "written by dbsync_core.synth") for t in variant.extra_migration_tokens],
            )
            rows["extra_migrations"] = len(variant.extra_migration_tokens)
        if variant.spent == "prune":
            rows["tx_out"] = await conn.fetchval("SELECT count(*) FROM tx_out")
            rows["ma_tx_out"] = await conn.fetchval("SELECT count(*) FROM ma_tx_out")
    finally:
        await conn.close()

    index_started = time.perf_counter()
    await _build_indexes(url, variant)
    finished = time.perf_counter()
    return SeedReport(
        config=config,
        variant=variant,
        rows=rows,
        seconds=finished - started,
        load_seconds=load_done - started,
        index_seconds=finished - index_started,
        truth=gen.truth,
        heavy_address=gen.heavy.text,
        tip_block_id=gen.ids["block"],
    )


async def _finish_variant(conn: asyncpg.Connection, gen: Generator, variant: Variant) -> None:
    """``consumed_by_tx_id`` (consumed, prune) and the deletion of deep spent outputs (prune)."""
    if variant.spent == "tx_in":
        return
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE spent_rows (out_id bigint, tx_id bigint, block_id bigint) "
            "ON COMMIT DROP"
        )
        await conn.copy_records_to_table(
            "spent_rows",
            records=zip(gen.spent_out, gen.spent_by_tx, gen.spent_in_block, strict=True),
        )
        await conn.execute(
            "UPDATE tx_out SET consumed_by_tx_id = s.tx_id FROM spent_rows s "
            "WHERE tx_out.id = s.out_id"
        )
        if variant.spent == "prune":
            cutoff = gen.ids["block"] - PRUNE_DEPTH
            await conn.execute(
                "DELETE FROM ma_tx_out m USING spent_rows s "
                "WHERE m.tx_out_id = s.out_id AND s.block_id <= $1",
                cutoff,
            )
            await conn.execute(
                "DELETE FROM tx_out t USING spent_rows s "
                "WHERE t.id = s.out_id AND s.block_id <= $1",
                cutoff,
            )


async def _set_sequences(conn: asyncpg.Connection, variant: Variant) -> None:
    # Ids were assigned by the generator; move every id sequence past them, as inserts would.
    statements = []
    for sql in table_ddl(address_table=variant.address_table):
        if "BIGSERIAL" not in sql:
            continue
        table = sql.split("(", 1)[0].split()[-1]
        statements.append(  # table names come from the library's own DDL
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
    await conn.execute(";\n".join(statements))


async def _build_indexes(url: str | URL, variant: Variant) -> None:
    """Secondary indexes (and the variant's run-time ones) on two connections, then ANALYZE."""
    import asyncpg  # noqa: PLC0415

    stmts = index_ddl(
        address_table=variant.address_table, near_tip=None if variant.near_tip_indexes else False
    )
    if variant.spent != "tx_in":
        stmts.append("CREATE INDEX idx_tx_out_consumed_by_tx_id ON tx_out (consumed_by_tx_id)")
    if variant.spent == "prune":
        stmts.append(
            "ALTER TABLE ma_tx_out ADD CONSTRAINT ma_tx_out_tx_out_id_fkey "
            "FOREIGN KEY (tx_out_id) REFERENCES tx_out (id) ON DELETE CASCADE"
        )
    queue = list(reversed(stmts))  # popped from the end: the foreign key goes last

    async def worker() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            while queue:
                await conn.execute(queue.pop())
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
