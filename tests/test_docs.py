"""The Python examples in the docs run, as written, against a synthetic chain.

Each ```python block of the pages listed here becomes the body of an async function whose
arguments are the names the page promises (``conn``, ``layout``, ``tx_hash``, …).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core.layout import layout_of

DOCS = Path(__file__).resolve().parent.parent / "docs"
SNIPPET_PAGES = ["tutorial.md", "queries.md", "migrating.md"]
STANDALONE_PAGES = ["codecs.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(page: str) -> list[str]:
    found = BLOCK.findall((DOCS / page).read_text())
    assert found, f"{page} has no python examples"
    return found


SNIPPETS = [(page, i, code) for page in SNIPPET_PAGES for i, code in enumerate(blocks(page))]


@pytest.fixture(scope="module")
async def names(dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=2500, seed=11)
    truth = db.report.truth
    engine = create_async_engine(db.url)
    conn = await engine.connect()
    busy = max((b for b in truth.blocks if b.block_no is not None), key=lambda b: b.tx_count)
    tx = truth.block_txs(busy.id)[0]
    addresses = sorted(truth.addresses)[:5]
    yield {
        "conn": conn,
        "engine": engine,
        "layout": await layout_of(conn),
        "tx_hash": tx.hash.hex(),
        "block_hash": busy.hash.hex(),
        "address": db.report.heavy_address,
        "addresses": addresses,
        "epoch_no": busy.epoch_no,
    }
    await conn.close()
    await engine.dispose()


@pytest.mark.parametrize(("page", "index", "code"), SNIPPETS, ids=lambda v: str(v)[:20])
async def test_snippet_runs(names: dict[str, Any], page: str, index: int, code: str) -> None:
    """A documented example runs without error on a synthetic chain (its asserts included)."""
    params = ", ".join(names)
    source = f"async def _snippet({params}):\n" + textwrap.indent(code, "    ") + "\n    pass\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{page}[{index}]", "exec"), namespace)
    await namespace["_snippet"](**names)


@pytest.mark.parametrize("page", STANDALONE_PAGES)
def test_standalone_examples_run(page: str) -> None:
    """Pages whose examples need no database run them top to bottom."""
    for index, code in enumerate(blocks(page)):
        exec(compile(code, f"{page}[{index}]", "exec"), {})
