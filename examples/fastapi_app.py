"""A small HTTP API over a db-sync database: FastAPI + dbsync_core.

Run it with ``DBSYNC_DSN=postgresql://… uvicorn examples.fastapi_app:app`` (``pip install fastapi
uvicorn``). Each request takes a pooled connection through a dependency; records become JSON
with :func:`dbsync_core.serialize.to_jsonable`; bad input is a 400 and unknown keys a 404, from
the library's own exceptions. Listings page by keyset: the client passes ``next_cursor`` back.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from dbsync_core import InvalidInputError, NotFoundError, fetch_all, fetch_one, pages
from dbsync_core.addresses import address_txs, address_utxos, fetch_address_balance
from dbsync_core.blocks import chain_tip, latest_blocks
from dbsync_core.epochs import fetch_epoch_stats, fetch_epoch_summary
from dbsync_core.layout import layout_of
from dbsync_core.serialize import to_jsonable
from dbsync_core.txs import fetch_tx_inputs, fetch_tx_outputs, tx_by_hash


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for one request (FastAPI dependency)."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        yield conn


Conn = Annotated[AsyncConnection, Depends(connection)]


def create_app(engine: AsyncEngine) -> FastAPI:
    """The API over ``engine`` (disposed when the app shuts down)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(title="db-sync API (dbsync_core example)", lifespan=lifespan)
    app.state.engine = engine

    @app.exception_handler(InvalidInputError)
    async def bad_input(_request: Request, exc: InvalidInputError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.get("/tip")
    async def tip(conn: Conn) -> Any:
        return to_jsonable(await chain_tip(conn))

    @app.get("/blocks/latest")
    async def blocks(conn: Conn, limit: int = 10) -> Any:
        return to_jsonable(await fetch_all(conn, latest_blocks(limit=limit)))

    @app.get("/txs/{tx_hash}")
    async def tx(conn: Conn, tx_hash: str) -> Any:
        found = await fetch_one(conn, tx_by_hash(tx_hash))  # NotFoundError -> 404
        return to_jsonable(found)

    @app.get("/txs/{tx_hash}/utxos")
    async def tx_utxos(conn: Conn, tx_hash: str) -> Any:
        outputs = await fetch_tx_outputs(conn, tx_hash)
        inputs = await fetch_tx_inputs(conn, tx_hash)
        return {"inputs": to_jsonable(inputs), "outputs": to_jsonable(outputs)}

    @app.get("/addresses/{address}")
    async def balance(conn: Conn, address: str) -> Any:
        return to_jsonable(await fetch_address_balance(conn, address))

    @app.get("/addresses/{address}/utxos")
    async def utxos(conn: Conn, address: str, cursor: str | None = None, count: int = 100) -> Any:
        query = address_utxos(address, layout=await layout_of(conn))
        return to_jsonable(await pages(conn, query, page_size=count, cursor=cursor))

    @app.get("/addresses/{address}/txs")
    async def history(conn: Conn, address: str, cursor: str | None = None, count: int = 20) -> Any:
        query = address_txs(address, layout=await layout_of(conn))
        return to_jsonable(await pages(conn, query, page_size=count, cursor=cursor))

    @app.get("/epochs/{epoch_no}")
    async def epoch(conn: Conn, epoch_no: int) -> Any:
        summary = await fetch_epoch_summary(conn, epoch_no)
        if summary is None:
            raise NotFoundError(f"epoch {epoch_no} has no blocks")
        stats = await fetch_epoch_stats(conn, epoch_no)
        return {"summary": to_jsonable(summary), "stats": to_jsonable(stats)}

    @app.get("/health/database")
    async def health(conn: Conn) -> Any:
        tip_block = await chain_tip(conn)
        return {"pool": engine.pool.status(), "tip": tip_block.block_no}

    return app


def _app_from_environment() -> FastAPI | None:
    dsn = os.environ.get("DBSYNC_DSN")
    if not dsn:
        return None
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    return create_app(create_async_engine(url, pool_size=10, pool_pre_ping=True))


app = _app_from_environment()
