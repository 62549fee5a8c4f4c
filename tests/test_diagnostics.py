"""Schema check and EXPLAIN against synthetic databases of every variant."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core.diagnostics import check_schema, explain, query_sql
from dbsync_core.schema import create_schema, index_ddl
from dbsync_core.synth import ALL_VARIANTS
from dbsync_core.txs import tx_by_hash


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
async def test_check_passes_on_every_variant(dbsync_chain_factory, variant):
    """A database of any variant is compatible; a syncing one lacks exactly the stage-4 indexes."""
    db = await dbsync_chain_factory(txs=2500, seed=11, variant=variant)
    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            report = await check_schema(conn)
    finally:
        await engine.dispose()
    assert report.compatible
    assert report.count("error") == 0
    assert report.layout.address_table == variant.address_table
    assert report.tables_checked == (77 if variant.address_table else 76)
    assert report.columns_checked > 500
    missing = [f for f in report.findings if f.severity == "warning"]
    if variant.near_tip_indexes:
        assert missing == []
    else:
        near_tip = index_ddl(address_table=variant.address_table, near_tip=True)
        assert len(missing) == len(near_tip)
        assert all("near-tip" in f.what for f in missing)


async def test_check_reports_a_removed_column_and_a_changed_type(fresh_db):
    """A dropped column and a column of another type are errors: not compatible."""
    async with fresh_db() as engine, engine.connect() as conn:
        await create_schema(conn)
        await conn.execute(text("ALTER TABLE tx DROP COLUMN treasury_donation"))
        await conn.execute(text("ALTER TABLE tx_out ALTER COLUMN value TYPE bigint"))
        await conn.execute(text("CREATE TABLE koios_cache (id int)"))
        # a domain dropped to its own base type is only a warning
        await conn.execute(text("ALTER TABLE tx_out ALTER COLUMN data_hash TYPE bytea"))
        await conn.commit()
        report = await check_schema(conn)
    assert not report.compatible
    errors = {(f.table, f.what) for f in report.findings if f.severity == "error"}
    assert ("tx", "column treasury_donation is missing") in errors
    assert ("tx_out", "column value is bigint, not lovelace") in errors
    warnings = {(f.table, f.what) for f in report.findings if f.severity == "warning"}
    assert ("tx_out", "column data_hash is bytea, not hash32type") in warnings
    assert ("koios_cache", "a table the library does not know") in {
        (f.table, f.what) for f in report.findings if f.severity == "info"
    }


async def test_explain_shows_the_plan_with_real_arguments(dbsync_chain_factory):
    """EXPLAIN of a catalogue query uses its bound arguments (an index lookup by hash)."""
    db = await dbsync_chain_factory(txs=2500, seed=11)
    tx = db.report.truth.txs[100]
    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            sql, args = query_sql(conn, tx_by_hash(tx.hash))
            plan = await explain(conn, tx_by_hash(tx.hash))
            analyzed = await explain(conn, tx_by_hash(tx.hash), analyze=True)
    finally:
        await engine.dispose()
    assert "$1" in sql
    assert args == [tx.hash]
    assert "unique_tx" in plan
    assert "actual time" in analyzed
