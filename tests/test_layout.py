"""detect_layout on databases built by create_schema, altered to each db-sync configuration.

Most variants are made by DDL inside a transaction that is rolled back (PostgreSQL DDL is
transactional); the address-table layout, a first-sync database and non-db-sync databases get
databases of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pytest
import pytest_asyncio
from sqlalchemy import text

from dbsync_core.exceptions import UnsupportedSchemaError
from dbsync_core.layout import Layout, detect_layout
from dbsync_core.schema import create_schema
from tests.test_blocks import sent_queries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

DEFAULT = Layout(
    address_table=False,
    spent="tx_in",
    epoch_view=True,
    epoch_enabled=False,
    near_tip_indexes=True,
    schema_version=(15, 51, 6),
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def schema(dbsync_engine: AsyncEngine) -> None:
    """The module's database holds an empty db-sync schema (default layout)."""
    async with dbsync_engine.connect() as conn:
        await create_schema(conn)
        await conn.commit()


async def layout_after(conn: AsyncConnection, *statements: str) -> Layout:
    """The layout once ``statements`` ran, in a transaction that is then rolled back."""
    async with conn.begin() as transaction:
        for statement in statements:
            await conn.execute(text(statement))
        try:
            return await detect_layout(conn)
        finally:
            await transaction.rollback()


async def test_default_layout(schema, dbsync_conn):
    """A database made by create_schema reads as db-sync's default configuration."""
    assert await detect_layout(dbsync_conn) == DEFAULT


async def test_one_round_trip_outside_a_transaction(schema, dbsync_conn):
    """Outside a transaction detection is a single statement and leaves no transaction."""
    async with sent_queries(dbsync_conn) as sent:
        assert await detect_layout(dbsync_conn) == DEFAULT
    assert len(sent) == 1
    assert not dbsync_conn.in_transaction()


async def test_inside_a_transaction(schema, dbsync_conn):
    """In a caller's transaction detection reads the same and leaves the transaction usable."""
    async with dbsync_conn.begin():
        async with sent_queries(dbsync_conn) as sent:
            assert await detect_layout(dbsync_conn) == DEFAULT
        assert [q for q in sent if not q.startswith("BEGIN")] == sent[1:]
        assert len(sent) == 3  # BEGIN, then the catalog and the data statements
        assert (await dbsync_conn.execute(text("SELECT 1"))).scalar() == 1


@pytest.mark.parametrize(
    ("statements", "changes"),
    [
        (
            ["INSERT INTO extra_migrations (token) VALUES ('ConsumeTxOutPreviouslySet')"],
            {"spent": "consumed"},
        ),
        (
            [
                "INSERT INTO extra_migrations (token) VALUES ('ConsumeTxOutPreviouslySet')",
                "INSERT INTO extra_migrations (token) VALUES ('PruneTxOutFlagPreviouslySet')",
            ],
            {"spent": "prune"},
        ),
        (
            ["CREATE INDEX idx_tx_out_consumed_by_tx_id ON tx_out (consumed_by_tx_id)"],
            {"spent": "consumed"},
        ),
        (
            [
                "CREATE INDEX idx_tx_out_consumed_by_tx_id ON tx_out (consumed_by_tx_id)",
                "INSERT INTO tx_in (tx_in_id, tx_out_id, tx_out_index) VALUES (2, 1, 0)",
            ],
            {},  # consumed_by_tx_id is indexed, but tx_in is in use: force_tx_in
        ),
        (["INSERT INTO extra_migrations (token) VALUES ('BootstrapFinished')"], {}),
        (["UPDATE epoch_sync_enabled SET enabled = true"], {"epoch_enabled": True}),
        (["DROP INDEX idx_tx_in_tx_out_id"], {"near_tip_indexes": False}),
        (["ALTER TABLE tx_out ADD COLUMN address_id bigint"], {"address_table": True}),
        (
            [
                "DROP VIEW epoch",
                "CREATE TABLE epoch (id bigserial PRIMARY KEY, no integer NOT NULL)",
            ],
            {"epoch_view": False},
        ),
        (
            ["DROP TABLE epoch_sync_enabled CASCADE", "CREATE TABLE epoch (no integer)"],
            {"epoch_view": False, "epoch_enabled": True},  # before the flag: always written
        ),
        (["DROP TABLE extra_migrations"], {}),
        (
            ["UPDATE schema_version SET stage_two = 50"],
            {"schema_version": (15, 50, 6)},
        ),
    ],
)
async def test_variants(schema, dbsync_conn, statements, changes):
    """Each db-sync configuration is recognised from the catalog and the marker rows."""
    assert await layout_after(dbsync_conn, *statements) == _with(changes)


def _with(changes: dict[str, Any]) -> Layout:
    return attrs.evolve(DEFAULT, **changes)


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (["DROP TABLE tx_in"], r"missing table.*tx_in"),
        (["DROP TABLE block CASCADE", "DROP TABLE slot_leader"], "block, slot_leader"),
        (["DELETE FROM schema_version"], "schema_version holds no row"),
    ],
)
async def test_broken_schemas_are_refused(schema, dbsync_conn, statements, message):
    """A database without db-sync's core tables or version row raises UnsupportedSchemaError."""
    with pytest.raises(UnsupportedSchemaError, match=message):
        await layout_after(dbsync_conn, *statements)


async def test_address_table_layout_before_the_tip(fresh_db):
    """The address-table layout without stage-4 indexes, read in and outside a transaction."""
    async with fresh_db() as engine, engine.connect() as conn:
        await create_schema(conn, address_table=True, near_tip_indexes=False)
        await conn.commit()
        expected = Layout(
            address_table=True,
            spent="tx_in",
            epoch_view=True,
            epoch_enabled=False,
            near_tip_indexes=False,
            schema_version=(15, 51, 6),
        )
        assert await detect_layout(conn) == expected
        async with conn.begin():
            assert await detect_layout(conn) == expected


async def test_older_database_without_marker_tables(fresh_db):
    """Without extra_migrations and epoch_sync_enabled, detection falls back to the catalog."""
    async with fresh_db() as engine, engine.connect() as conn:
        await create_schema(conn)
        await conn.execute(text("DROP TABLE extra_migrations"))
        await conn.execute(text("DROP TABLE epoch_sync_enabled CASCADE"))
        await conn.execute(text("CREATE TABLE epoch (no integer)"))
        await conn.commit()
        expected = _with({"epoch_view": False, "epoch_enabled": True})
        async with sent_queries(conn) as sent:
            assert await detect_layout(conn) == expected
        ours = [q for q in sent if "tx_in_used" in q or "consumed_index" in q]
        assert len(ours) == 3  # the one-statement attempt fails; catalog, then rows
        assert not conn.in_transaction()


async def test_not_a_dbsync_database(fresh_db):
    """An empty database, or one with unrelated tables, raises UnsupportedSchemaError."""
    async with fresh_db() as engine, engine.connect() as conn:
        with pytest.raises(UnsupportedSchemaError, match=r"missing table.*schema_version"):
            await detect_layout(conn)
        await conn.execute(text("CREATE TABLE block (id bigint)"))
        await conn.commit()
        with pytest.raises(UnsupportedSchemaError, match="missing table") as caught:
            await detect_layout(conn)
        assert "block" not in str(caught.value).split("missing table(s)")[1].split(", ")
        async with conn.begin():
            with pytest.raises(UnsupportedSchemaError):
                await detect_layout(conn)
            # the caller's transaction is not aborted by the probe
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
