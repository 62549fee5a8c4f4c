"""``snapshot()``: several reads that see one moment of the database while db-sync writes."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dbsync_core._exec import acquire_driver
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.runtime._engine import check_bool

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["snapshot"]

_log = logging.getLogger("dbsync_core.runtime")


def snapshot(
    source: AsyncEngine | AsyncConnection, *, deferrable: bool = False
) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    """``async with snapshot(engine_or_conn) as conn``: a REPEATABLE READ, READ ONLY transaction.

    Every query in the block sees the database as of its first query. ``deferrable=True`` makes
    it SERIALIZABLE READ ONLY DEFERRABLE (see docs/deployment.md); a connection already in a
    transaction is refused, as its isolation can no longer change.
    """
    deferrable = check_bool(deferrable, "deferrable")
    if isinstance(source, AsyncEngine):
        return _engine_snapshot(source, deferrable=deferrable)
    if isinstance(source, AsyncConnection):
        if source.in_transaction():
            msg = (
                "source: the connection is already in a transaction; a snapshot must begin"
                " its own (the isolation level cannot change mid-transaction): commit or roll"
                " back first, or pass the engine"
            )
            raise InvalidInputError(msg)
        return _connection_snapshot(source, deferrable=deferrable)
    msg = f"source: expected an AsyncEngine or an AsyncConnection, got {type(source).__name__}"
    raise InvalidInputError(msg)


@contextlib.asynccontextmanager
async def _engine_snapshot(
    engine: AsyncEngine, *, deferrable: bool
) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn, _connection_snapshot(conn, deferrable=deferrable):
        yield conn


@contextlib.asynccontextmanager
async def _connection_snapshot(
    conn: AsyncConnection, *, deferrable: bool
) -> AsyncIterator[AsyncConnection]:
    if conn.in_transaction():  # checked again: the connection may have changed since the call
        msg = "source: the connection is already in a transaction; a snapshot must begin its own"
        raise InvalidInputError(msg)
    driver: Any = await acquire_driver(conn)  # outside a transaction: sends nothing
    transaction = await conn.begin()
    try:
        # SQLAlchemy's asyncpg adapter begins lazily; begin now, with the snapshot's
        # characteristics, and hand the transaction to the adapter so that SQLAlchemy's
        # commit/rollback (and the pool's reset) end it. Zero extra round trips.
        adapter: Any = (await conn.get_raw_connection()).dbapi_connection
        begin = driver.transaction(
            isolation="serializable" if deferrable else "repeatable_read",
            readonly=True,
            deferrable=deferrable,
        )
        async with adapter._execute_mutex:  # noqa: SLF001
            await begin.start()
            adapter._transaction = begin  # noqa: SLF001
    except BaseException:
        with contextlib.suppress(Exception):
            await transaction.rollback()
        raise
    try:
        yield conn
    except BaseException:
        if transaction.is_active:
            try:
                await transaction.rollback()
            except Exception:  # noqa: BLE001  (keep the error that ended the block)
                _log.debug("rolling back a failed snapshot failed too", exc_info=True)
        raise
    # Read only: commit and rollback are the same; rollback also ends an aborted transaction.
    if transaction.is_active:
        await transaction.rollback()
