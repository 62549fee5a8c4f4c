"""Which db-sync configuration a database was built with, read from its catalog and a few rows.

db-sync databases differ by configuration (``tx_out`` layout, spent-output tracking, epoch
syncing, whether the stage-4 indexes exist yet); queries that depend on it consult a
:class:`Layout`. :func:`detect_layout` reads it in one round trip outside a transaction (two
inside one, so that a missing table cannot abort the caller's transaction).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Literal

import attrs

from dbsync_core._exec import acquire_driver
from dbsync_core.exceptions import UnsupportedSchemaError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["DEFAULT_LAYOUT", "Layout", "SpentMode", "detect_layout", "forget_layout", "layout_of"]

SpentMode = Literal["tx_in", "consumed", "prune"]

#: Tables every db-sync database has; without them this is not a db-sync database.
CORE_TABLES = ("schema_version", "block", "slot_leader", "tx", "tx_in", "tx_out", "pool_hash")

_CONSUMED = "ConsumeTxOutPreviouslySet"
_PRUNE = "PruneTxOutFlagPreviouslySet"


@attrs.frozen
class Layout:
    """The db-sync configuration of a database, as far as queries need to know it."""

    #: ``tx_out.address_id`` → ``address`` (``use_address_table``) rather than ``tx_out.address``.
    address_table: bool
    #: How spent outputs are found: ``tx_in`` anti-join, or ``tx_out.consumed_by_tx_id``
    #: (``consumed``; ``prune`` also deletes spent outputs).
    spent: SpentMode
    #: ``epoch`` is a view (db-sync 13.7.2.0+) rather than a table.
    epoch_view: bool
    #: Epoch rows are written (``epoch_sync_enabled.enabled``); else ``epoch`` is empty.
    epoch_enabled: bool
    #: The stage-4 indexes built near the tip exist (``idx_tx_in_tx_out_id`` stands for them).
    near_tip_indexes: bool
    #: ``schema_version`` (stage_one, stage_two, stage_three).
    schema_version: tuple[int, int, int]


# Catalog facts; to_regclass() follows search_path, as the library's unqualified queries do.
# The missing core tables must agree with CORE_TABLES.
_CATALOG = """
    array_remove(ARRAY[
        CASE WHEN to_regclass('schema_version') IS NULL THEN 'schema_version' END,
        CASE WHEN to_regclass('block') IS NULL THEN 'block' END,
        CASE WHEN to_regclass('slot_leader') IS NULL THEN 'slot_leader' END,
        CASE WHEN to_regclass('tx') IS NULL THEN 'tx' END,
        CASE WHEN to_regclass('tx_in') IS NULL THEN 'tx_in' END,
        CASE WHEN to_regclass('tx_out') IS NULL THEN 'tx_out' END,
        CASE WHEN to_regclass('pool_hash') IS NULL THEN 'pool_hash' END
    ]::text[], NULL) AS missing,
    EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('tx_out')
            AND attname = 'address_id' AND NOT attisdropped) AS address_table,
    (SELECT relkind::text FROM pg_class WHERE oid = to_regclass('epoch')) AS epoch_kind,
    to_regclass('extra_migrations') IS NOT NULL AS has_extra_migrations,
    to_regclass('epoch_sync_enabled') IS NOT NULL AS has_epoch_sync_enabled,
    to_regclass('idx_tx_in_tx_out_id') IS NOT NULL AS near_tip,
    to_regclass('idx_tx_out_consumed_by_tx_id') IS NOT NULL AS consumed_index"""

_VERSION = """
    (SELECT ARRAY[stage_one, stage_two, stage_three]::bigint[] FROM schema_version
     ORDER BY id DESC LIMIT 1) AS version"""
_TOKENS = """
    (SELECT array_agg(DISTINCT token)::text[] FROM extra_migrations
     WHERE token IN ('ConsumeTxOutPreviouslySet', 'PruneTxOutFlagPreviouslySet')) AS tokens"""
_NO_TOKENS = "NULL::text[] AS tokens"
_EPOCH_ENABLED = "(SELECT enabled FROM epoch_sync_enabled LIMIT 1) AS epoch_enabled"
_NO_EPOCH_ENABLED = "NULL::boolean AS epoch_enabled"
_TX_IN_USED = "EXISTS (SELECT 1 FROM tx_in) AS tx_in_used"


def _select(*columns: str) -> str:
    return "SELECT" + ",".join(columns)


_CATALOG_SQL = _select(_CATALOG)
# Everything at once, for a database that has every table it names (the usual case).
_FULL_SQL = _select(_CATALOG, _VERSION, _TOKENS, _EPOCH_ENABLED, _TX_IN_USED)


def _data_sql(catalog: Any) -> str:
    tokens = _TOKENS if catalog["has_extra_migrations"] else _NO_TOKENS
    enabled = _EPOCH_ENABLED if catalog["has_epoch_sync_enabled"] else _NO_EPOCH_ENABLED
    return _select(_VERSION, tokens, enabled, _TX_IN_USED)


async def detect_layout(conn: AsyncConnection) -> Layout:
    """The :class:`Layout` of the database ``conn`` reads (honouring its transaction).

    Raises :class:`~dbsync_core.exceptions.UnsupportedSchemaError` if it is not a db-sync one.
    """
    driver = await acquire_driver(conn)
    if not driver.is_in_transaction():
        from asyncpg.exceptions import UndefinedTableError  # noqa: PLC0415

        try:
            row = await driver.fetchrow(_FULL_SQL)
        except UndefinedTableError:
            pass  # outside a transaction a failed statement harms nothing: read it in two steps
        else:
            return _layout(row, row)
    catalog = await driver.fetchrow(_CATALOG_SQL)
    _check_core(catalog)
    return _layout(catalog, await driver.fetchrow(_data_sql(catalog)))


def _check_core(catalog: Any) -> None:
    missing = list(catalog["missing"])
    if missing:
        msg = f"not a db-sync database: missing table(s) {', '.join(missing)}"
        raise UnsupportedSchemaError(msg)


def _layout(catalog: Any, data: Any) -> Layout:
    _check_core(catalog)
    version = data["version"]
    if version is None:
        msg = "not a db-sync database: schema_version holds no row"
        raise UnsupportedSchemaError(msg)
    tokens = set(data["tokens"] or ())
    spent: SpentMode
    if _PRUNE in tokens:
        spent = "prune"
    elif _CONSUMED in tokens or (catalog["consumed_index"] and not data["tx_in_used"]):
        spent = "consumed"
    else:
        spent = "tx_in"
    epoch_view = catalog["epoch_kind"] == "v"
    enabled = data["epoch_enabled"]
    return Layout(
        address_table=bool(catalog["address_table"]),
        spent=spent,
        epoch_view=epoch_view,
        # Before epoch_sync_enabled existed, db-sync always filled the epoch table.
        epoch_enabled=bool(enabled) if enabled is not None else not epoch_view,
        near_tip_indexes=bool(catalog["near_tip"]),
        schema_version=(int(version[0]), int(version[1]), int(version[2])),
    )


#: What builders assume when no layout is given: db-sync's defaults (core tx_out, tx_in rows).
DEFAULT_LAYOUT = Layout(
    address_table=False,
    spent="tx_in",
    epoch_view=True,
    epoch_enabled=True,
    near_tip_indexes=True,
    schema_version=(15, 51, 6),
)

# One detection per engine: the layout is fixed when db-sync first syncs the database.
_LAYOUTS: weakref.WeakKeyDictionary[Any, Layout] = weakref.WeakKeyDictionary()


async def layout_of(conn: AsyncConnection) -> Layout:
    """The layout of ``conn``'s database, detected once per engine and then cached."""
    key = conn.sync_engine
    found = _LAYOUTS.get(key)
    if found is None:
        found = await detect_layout(conn)
        _LAYOUTS[key] = found
    return found


def forget_layout(engine: Any) -> None:
    """Forget the cached layout of ``engine`` (async or sync), e.g. after a resync."""
    _LAYOUTS.pop(getattr(engine, "sync_engine", engine), None)
