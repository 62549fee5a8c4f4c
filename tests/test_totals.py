"""Network totals against the generator's ground truth, on every db-sync variant of the shared
chain; and the examples of docs/catalogue-part-two.md, run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import InvalidInputError, fetch_all, fetch_one, pages, records
from dbsync_core.epochs import epoch_params
from dbsync_core.layout import layout_of
from dbsync_core.synth import ALL_VARIANTS
from dbsync_core.totals import (
    MAX_SUPPLY,
    ada_pots_history,
    ada_pots_of,
    current_params,
    fetch_ada_pots,
    fetch_ada_pots_history,
    fetch_current_params,
    fetch_supply,
    supply,
)
from tests.test_catalogue import Expect

TXS = 2500
SEED = 11


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def env(request, dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)
    engine = create_async_engine(db.url)
    async with engine.connect() as conn:
        yield conn, Expect(db)
    await engine.dispose()


def pots_fields(p: Any) -> tuple[Any, ...]:
    return (
        p.epoch_no, p.slot_no, p.treasury, p.reserves, p.rewards, p.utxo, p.deposits_stake,
        p.deposits_drep, p.deposits_proposal, p.fees,
    )  # fmt: skip


async def test_ada_pots_match_truth(env):
    """Each epoch's pots, alone and as one keyset listing, equal the generator's."""
    conn, expect = env
    pots = expect.truth.pots
    want = [pots_fields(pots[e]) for e in sorted(pots)]
    history = await fetch_ada_pots_history(conn)
    assert [pots_fields(p) for p in history] == want
    for epoch in sorted(pots):
        assert await fetch_ada_pots(conn, epoch) == history[sorted(pots).index(epoch)]
    assert await fetch_ada_pots(conn, 0) is None
    first = await pages(conn, ada_pots_history(), page_size=2)
    rest = await pages(conn, ada_pots_history(), page_size=100, cursor=first.next_cursor)
    assert first.items + rest.items == history


async def test_supply_comes_from_the_latest_pots(env):
    """Supply: max minus reserves, UTxO plus rewards, and every pot of the latest epoch."""
    conn, expect = env
    latest = expect.truth.pots[max(expect.truth.pots)]
    got = await fetch_supply(conn)
    assert got is not None
    deposits = latest.deposits_stake + latest.deposits_drep + latest.deposits_proposal
    assert attrs.astuple(got) == (
        latest.epoch_no, MAX_SUPPLY, MAX_SUPPLY - latest.reserves, latest.utxo + latest.rewards,
        latest.utxo, latest.rewards, latest.treasury, latest.reserves, deposits, latest.fees,
    )  # fmt: skip
    assert all(isinstance(v, int) for v in attrs.astuple(got))


async def test_current_params_are_the_latest_epochs(env):
    """The parameters in force are those of the tip's epoch."""
    conn, expect = env
    tip = expect.truth.tip_epoch
    current = await fetch_current_params(conn)
    assert current is not None
    assert current == await fetch_one(conn, epoch_params(tip))
    assert current.epoch_no == tip
    assert await fetch_all(conn, current_params()) == [current]


@pytest.mark.parametrize("bad", [-1, 2**31, "3", None, 1.5, True])
def test_bad_epoch_raises_before_any_sql(bad):
    """ada_pots_of rejects anything but an epoch number, naming the argument."""
    with pytest.raises(InvalidInputError, match=r"^epoch_no"):
        ada_pots_of(bad)


async def test_runners_validate_before_touching_the_connection():
    """fetch_ada_pots raises InvalidInputError before it uses the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    with pytest.raises(InvalidInputError):
        await fetch_ada_pots(Unusable(), -5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "record"),
    [
        (lambda: ada_pots_of(3), records.AdaPots),
        (ada_pots_history, records.AdaPots),
        (supply, records.Supply),
        (current_params, records.EpochParams),
    ],
)
def test_select_labels_are_the_record_fields(make, record):
    """Each builder's select list is its record's fields, in order."""
    query = make()
    assert list(query.statement.selected_columns.keys()) == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    assert type(query.maker.one([None] * width)) is record


DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
EXAMPLES = [
    (page, code)
    for page in ("catalogue-part-two.md", "indexes.md")
    for code in BLOCK.findall((DOCS / page).read_text())
]


@pytest.fixture(scope="module")
async def doc_names(dbsync_chain_factory):
    """The names the page's examples use, chosen from the shared chain's truth."""
    db = await dbsync_chain_factory(txs=TXS, seed=SEED)
    truth = db.report.truth
    by_id = {t.id: t for t in truth.txs}
    stake = max(truth.stakes.values(), key=lambda s: (len(s.rewards), len(s.delegations)))
    nft = next(a for a in truth.assets_by_ident.values() if len(a.mints) == 1)
    redeemer = truth.redeemers[0]
    drep = max(
        (d for d in truth.dreps.values() if d.raw is not None),
        key=lambda d: sum(s.drep == d.view for s in truth.stakes.values()),
    )
    proposal = next(iter(truth.proposals.values()))
    engine = create_async_engine(db.url)
    conn = await engine.connect()
    yield {
        "conn": conn,
        "layout": await layout_of(conn),
        "stake_address": stake.view,
        "pool_id": min(truth.pools),
        "asset": nft.policy.hex() + nft.name.hex(),
        "fingerprint": nft.fingerprint,
        "policy": nft.policy.hex(),
        "script_hash": redeemer.script_hash.hex(),
        "datum_hash": next(iter(truth.datums)).hex(),
        "tx_hash": by_id[redeemer.tx_id].hash.hex(),
        "drep_id": drep.view,
        "proposal_tx_hash": by_id[proposal.tx_id].hash.hex(),
        "epoch_no": truth.tip_epoch,
    }
    await conn.close()
    await engine.dispose()


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
async def test_docs_examples_run(doc_names, index):
    """Each python example of the part-two and index pages runs on the shared chain."""
    params = ", ".join(doc_names)
    page, code = EXAMPLES[index]
    source = f"async def _example({params}):\n" + textwrap.indent(code, "    ") + "\n    pass\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{page}[{index}]", "exec"), namespace)
    await namespace["_example"](**doc_names)
