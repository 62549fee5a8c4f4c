"""DDL for a db-sync database: domains, enums, tables, indexes, views and the version row.

The statements are exactly what db-sync's migrations leave behind (compared catalog to catalog by
the fidelity tests), split so a bulk loader can create the tables, COPY, then build the indexes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import MetaData, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import CreateDomainType, CreateEnumType
from sqlalchemy.schema import CreateIndex, CreateTable

from dbsync_core.exceptions import SchemaExistsError
from dbsync_core.schema._meta import address_metadata, metadata
from dbsync_core.schema._types import DOMAINS, ENUMS

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "SCHEMA_VERSION",
    "create_schema",
    "index_ddl",
    "layout_metadata",
    "table_ddl",
    "type_ddl",
    "view_ddl",
]

#: The ``schema_version`` row of the db-sync schema these tables describe.
SCHEMA_VERSION = (15, 51, 6)

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]

# The epoch "table" has been a view since stage_two 49: finalized epochs plus a live aggregate of
# the epoch still being written. Both return nothing while epoch syncing is disabled.
_EPOCH_CURRENT = """\
CREATE VIEW epoch_current AS
SELECT NULL::bigint AS id,
       COALESCE(sum(t.out_sum), 0)::numeric AS out_sum,
       COALESCE(sum(t.fee), 0)::numeric AS fees,
       count(t.id)::bigint AS tx_count,
       count(DISTINCT b.id)::bigint AS blk_count,
       b.epoch_no::bigint AS no,
       min(b.time) AS start_time,
       max(b.time) AS end_time
FROM block b
LEFT JOIN tx t ON t.block_id = b.id
WHERE b.epoch_no = (SELECT max(epoch_no) FROM block)
  AND b.epoch_no > COALESCE((SELECT max(no) FROM epoch_finalized), -1)
  AND COALESCE((SELECT enabled FROM epoch_sync_enabled), false)
GROUP BY b.epoch_no"""

_EPOCH = """\
CREATE VIEW epoch AS
SELECT f.id,
       f.out_sum::numeric AS out_sum,
       f.fees::numeric AS fees,
       f.tx_count::bigint AS tx_count,
       f.blk_count::bigint AS blk_count,
       f.no::bigint AS no,
       f.start_time,
       f.end_time
FROM epoch_finalized f
WHERE COALESCE((SELECT enabled FROM epoch_sync_enabled), false)
UNION ALL
SELECT c.id, c.out_sum, c.fees, c.tx_count, c.blk_count, c.no, c.start_time, c.end_time
FROM epoch_current c"""


#: Set by ``dbsync_core.schema``: completes the address layout's MetaData on first use.
COMPLETE_ADDRESS_LAYOUT: Callable[[], None] = lambda: None  # noqa: E731


def layout_metadata(*, address_table: bool = False) -> MetaData:
    """The ``MetaData`` of one ``tx_out`` layout."""
    if address_table:
        COMPLETE_ADDRESS_LAYOUT()
        return address_metadata
    return metadata


def type_ddl() -> list[str]:
    """``CREATE DOMAIN`` and ``CREATE TYPE … AS ENUM`` for every db-sync type."""
    stmts = [str(CreateDomainType(d).compile(dialect=_DIALECT)).strip() for d in DOMAINS]
    stmts += [str(CreateEnumType(e).compile(dialect=_DIALECT)).strip() for e in ENUMS]
    return stmts


def table_ddl(*, address_table: bool = False) -> list[str]:
    """``CREATE TABLE`` for every table of the layout, without their secondary indexes."""
    md = layout_metadata(address_table=address_table)
    return [str(CreateTable(t).compile(dialect=_DIALECT)).strip() for t in md.tables.values()]


def index_ddl(*, address_table: bool = False, near_tip: bool | None = None) -> list[str]:
    """``CREATE INDEX`` for the secondary indexes.

    ``near_tip=None`` gives all of them, ``False`` those db-sync builds from the start, ``True``
    only the stage-4 ones it adds near the chain tip.
    """
    md = layout_metadata(address_table=address_table)
    return [
        str(CreateIndex(index).compile(dialect=_DIALECT)).strip()
        for table in md.tables.values()
        for index in sorted(table.indexes, key=lambda i: str(i.name))
        if near_tip is None or bool(index.info.get("near_tip")) == near_tip
    ]


def view_ddl() -> list[str]:
    """``CREATE VIEW`` for ``epoch_current`` and ``epoch``."""
    return [_EPOCH_CURRENT, _EPOCH]


def _seed_rows() -> list[str]:
    return [
        # Must agree with SCHEMA_VERSION (a test reads the row back).
        "INSERT INTO schema_version (id, stage_one, stage_two, stage_three) VALUES (1, 15, 51, 6)",
        # As the migration leaves it: db-sync flips it at startup unless epochs are disabled.
        "INSERT INTO epoch_sync_enabled (singleton, enabled) VALUES (true, false)",
    ]


async def create_schema(
    conn: AsyncConnection,
    *,
    address_table: bool = False,
    near_tip_indexes: bool = True,
    indexes: bool = True,
) -> None:
    """Create the db-sync schema in the connection's (empty) database.

    Domains, enums, tables, indexes, the ``schema_version`` row and the ``epoch`` views, as
    db-sync's migrations create them. ``near_tip_indexes=False`` leaves out the stage-4 indexes,
    like a database still doing its first sync; ``indexes=False`` leaves out every secondary
    index (a bulk loader builds them after COPY with :func:`index_ddl`). Everything runs in one
    transaction: the caller's if one is open, else a new one that is committed.

    Raises :class:`~dbsync_core.exceptions.SchemaExistsError` if the schema already holds tables.
    """
    if conn.in_transaction():
        await _create(
            conn, address_table=address_table, near_tip_indexes=near_tip_indexes, indexes=indexes
        )
    else:
        async with conn.begin():
            await _create(
                conn,
                address_table=address_table,
                near_tip_indexes=near_tip_indexes,
                indexes=indexes,
            )


async def _create(
    conn: AsyncConnection, *, address_table: bool, near_tip_indexes: bool, indexes: bool
) -> None:
    existing = await conn.scalar(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p', 'm')"
        )
    )
    if existing:
        msg = f"the database already holds {existing} tables or views; refusing to create"
        raise SchemaExistsError(msg)
    stmts = type_ddl() + table_ddl(address_table=address_table)
    if indexes:
        stmts += index_ddl(
            address_table=address_table, near_tip=None if near_tip_indexes else False
        )
    stmts += view_ddl() + _seed_rows()
    for stmt in stmts:
        await conn.exec_driver_sql(stmt)
