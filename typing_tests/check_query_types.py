# ruff: noqa: INP001  (a folder of mypy inputs, not a package)
"""Static checks, not tests: ``mypy --strict typing_tests/`` must pass.

Pins that the record type of a query flows through composition and every executor, and that
misuse is a type error (each ``type: ignore`` must stay needed: ``warn_unused_ignores``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, assert_type

import attrs
from sqlalchemy import func, select

from dbsync_core import blocks
from dbsync_core._exec import fetch_all, fetch_one, fetch_optional, fetch_scalar, pages, stream
from dbsync_core.query import Keyset, Page, Query
from dbsync_core.records import Block
from dbsync_core.schema import block

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


@attrs.frozen(weakref_slot=False)
class Height:
    id: int
    block_no: int | None


def height_key(record: Height) -> tuple[object, ...]:
    return (record.id,)


async def builders_and_composition(conn: AsyncConnection) -> None:
    query = blocks.blocks_by_epoch(5)
    assert_type(query, Query[Block])
    assert_type(query.where(block.c.id > 5), Query[Block])
    assert_type(query.where(block.c.id > 5).limit(10), Query[Block])
    assert_type(query.order_by(block.c.id.desc()), Query[Block])
    assert_type(query.after((100,)), Query[Block])
    assert_type(query.bind(epoch_no=6), Query[Block])
    assert_type(query.key_of(await blocks.chain_tip(conn)), tuple[object, ...])
    assert_type(blocks.tip(), Query[Block])
    assert_type(blocks.latest_blocks(limit=5), Query[Block])
    assert_type(blocks.blocks_by_hashes(["00" * 32]), Query[Block])


async def executors(conn: AsyncConnection) -> None:
    query = blocks.latest_blocks(limit=5).where(block.c.tx_count > 0)
    assert_type(await fetch_all(conn, query), list[Block])
    assert_type(await fetch_optional(conn, query), Block | None)
    assert_type(await fetch_one(conn, query), Block)
    assert_type(stream(conn, query), AsyncGenerator[Block, None])
    iterator: AsyncIterator[Block] = stream(conn, query, batch_size=100)
    async for record in iterator:
        assert_type(record, Block)
    page = await pages(conn, query, page_size=10, cursor=None)
    assert_type(page, Page[Block])
    assert_type(page.items, list[Block])
    assert_type(page.next_cursor, str | None)
    assert_type(await blocks.chain_tip(conn), Block)
    assert_type(await blocks.fetch_block(conn, "00" * 32), Block | None)
    assert_type(await blocks.fetch_latest_blocks(conn), list[Block])
    await fetch_scalar(conn, select(func.count()).select_from(block))


async def own_records(conn: AsyncConnection) -> None:
    keyset = Keyset(((block.c.id, False),), key=height_key)
    query = Query.of(Height, select(block.c.id, block.c.block_no), keyset=keyset)
    assert_type(query, Query[Height])
    assert_type(await fetch_all(conn, query.limit(3)), list[Height])
    assert_type(await fetch_one(conn, query.after((1,))), Height)


async def misuse(conn: AsyncConnection) -> None:
    await fetch_all(conn, select(block.c.id))  # type: ignore[arg-type]
    records: list[Height] = await fetch_all(conn, blocks.tip())  # type: ignore[arg-type]
    blocks.latest_blocks(5)  # type: ignore[call-arg]
    assert records
