"""A loaded synthetic chain, checked with plain SQL in every db-sync variant.

Each variant of the same seed is loaded once (the plugin's session-scoped factory); the SQL here
is written independently of the library's query catalogue, per variant, and compared with the
generator's ground truth.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core._catalog import read_catalog
from dbsync_core.codecs import parse_address, pool_id_text, stake_address_text
from dbsync_core.exceptions import SchemaExistsError
from dbsync_core.synth import ALL_VARIANTS, ChainConfig, Variant, seed_database

TXS = 2500
SEED = 11


def _address(variant: Variant) -> tuple[str, str]:
    """(select expression, join) giving an output's address text in either layout."""
    if variant.address_table:
        return "a.address", "JOIN address a ON a.id = o.address_id"
    return "o.address", ""


def _unspent(variant: Variant) -> str:
    if variant.spent == "tx_in":
        return (
            "NOT EXISTS (SELECT 1 FROM tx_in i "
            "WHERE i.tx_out_id = o.tx_id AND i.tx_out_index = o.index)"
        )
    return "o.consumed_by_tx_id IS NULL"


async def fetch(db, sql: str, **params):
    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).all()
    finally:
        await engine.dispose()


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def chain(request, dbsync_chain_factory):
    return await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)


# Prune deletes spent outputs, and with them the input side of old txs: checks that need every
# spent output run on the other variants (tests/test_synth.py checks the prune chain's truth).
@pytest.fixture(params=[v for v in ALL_VARIANTS if v.spent != "prune"], ids=lambda v: v.name)
async def full_chain(request, dbsync_chain_factory):
    return await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)


async def test_utxo_set_matches_truth(chain):
    """The unspent outputs (id, tx, index, address, value, assets) equal the generator's."""
    truth = chain.report.truth
    addr, join = _address(chain.variant)
    rows = await fetch(
        chain,
        f"SELECT o.id, t.hash, o.index, {addr}, o.value FROM tx_out o "
        f"JOIN tx t ON t.id = o.tx_id {join} WHERE {_unspent(chain.variant)}",
    )
    got = {(r[0], r[1], r[2], r[3], int(r[4])) for r in rows}
    hashes = {tx.id: tx.hash for tx in truth.txs}
    want = {(o.id, hashes[o.tx_id], o.index, o.address, o.value) for o in truth.unspent()}
    assert got == want
    assert len(want) > 500
    assets = await fetch(
        chain,
        "SELECT m.tx_out_id, m.ident, m.quantity FROM ma_tx_out m "
        f"JOIN tx_out o ON o.id = m.tx_out_id WHERE {_unspent(chain.variant)}",
    )
    got_assets = {(r[0], r[1], int(r[2])) for r in assets}
    want_assets = {(o.id, i, q) for o in truth.unspent() for i, q in o.assets.items()}
    assert got_assets == want_assets
    assert want_assets


async def test_inputs_spend_earlier_outputs_once(chain):
    """Every spend names an existing earlier output, and no output is spent twice."""
    variant = chain.variant
    if variant.spent == "tx_in":
        bad = await fetch(
            chain,
            "SELECT count(*) FROM tx_in i LEFT JOIN tx_out o "
            "ON o.tx_id = i.tx_out_id AND o.index = i.tx_out_index "
            "WHERE o.id IS NULL OR i.tx_out_id >= i.tx_in_id",
        )
        twice = await fetch(
            chain,
            "SELECT count(*) FROM (SELECT 1 FROM tx_in GROUP BY tx_out_id, tx_out_index "
            "HAVING count(*) > 1) d",
        )
        assert bad[0][0] == twice[0][0] == 0
        assert (await fetch(chain, "SELECT count(*) FROM tx_in"))[0][0] > TXS
    else:
        assert (await fetch(chain, "SELECT count(*) FROM tx_in"))[0][0] == 0
        bad = await fetch(chain, "SELECT count(*) FROM tx_out WHERE consumed_by_tx_id <= tx_id")
        assert bad[0][0] == 0
    for table in ("collateral_tx_in", "reference_tx_in"):
        rows = await fetch(chain, f"SELECT tx_in_id, tx_out_id FROM {table}")
        assert rows
        assert all(spender > producer for spender, producer in rows)


async def test_value_is_conserved_per_tx(full_chain):
    """inputs + withdrawals = outputs + fee + deposit + donation, for every tx (SQL)."""
    chain = full_chain
    variant = chain.variant
    if variant.spent == "tx_in":
        inputs = (
            "SELECT i.tx_in_id AS tx_id, sum(o.value) AS v FROM tx_in i JOIN tx_out o "
            "ON o.tx_id = i.tx_out_id AND o.index = i.tx_out_index GROUP BY 1"
        )
    else:
        inputs = (
            "SELECT consumed_by_tx_id AS tx_id, sum(value) AS v FROM tx_out "
            "WHERE consumed_by_tx_id IS NOT NULL GROUP BY 1"
        )
    rows = await fetch(
        chain,
        f"WITH ins AS ({inputs}), "
        "outs AS (SELECT tx_id, sum(value) AS v FROM tx_out GROUP BY 1), "
        "w AS (SELECT tx_id, sum(amount) AS v FROM withdrawal GROUP BY 1) "
        "SELECT t.id, t.out_sum, COALESCE(outs.v, 0), "
        "COALESCE(ins.v, 0) + COALESCE(w.v, 0) - COALESCE(outs.v, 0) - t.fee "
        "- COALESCE(t.deposit, 0) - t.treasury_donation "
        "FROM tx t LEFT JOIN ins ON ins.tx_id = t.id LEFT JOIN outs ON outs.tx_id = t.id "
        "LEFT JOIN w ON w.tx_id = t.id WHERE t.block_id <> 1",
    )
    assert len(rows) >= TXS
    assert [r for r in rows if r[3] != 0 or r[1] != r[2]] == []
    # native assets: inputs + mint = outputs, per tx and asset (valid txs)
    in_assets = (
        "SELECT i.tx_in_id AS tx_id, m.ident, sum(m.quantity) AS q FROM tx_in i "
        "JOIN tx_out o ON o.tx_id = i.tx_out_id AND o.index = i.tx_out_index "
        "JOIN ma_tx_out m ON m.tx_out_id = o.id GROUP BY 1, 2"
        if variant.spent == "tx_in"
        else "SELECT o.consumed_by_tx_id AS tx_id, m.ident, sum(m.quantity) AS q FROM tx_out o "
        "JOIN ma_tx_out m ON m.tx_out_id = o.id WHERE o.consumed_by_tx_id IS NOT NULL "
        "GROUP BY 1, 2"
    )
    unbalanced = await fetch(
        chain,
        f"WITH ins AS ({in_assets}), "
        "outs AS (SELECT o.tx_id, m.ident, sum(m.quantity) AS q FROM tx_out o "
        "JOIN ma_tx_out m ON m.tx_out_id = o.id GROUP BY 1, 2), "
        "mint AS (SELECT tx_id, ident, sum(quantity) AS q FROM ma_tx_mint GROUP BY 1, 2), "
        "k AS (SELECT tx_id, ident FROM ins UNION SELECT tx_id, ident FROM outs "
        "UNION SELECT tx_id, ident FROM mint) "
        "SELECT k.tx_id, k.ident FROM k JOIN tx t ON t.id = k.tx_id "
        "LEFT JOIN ins USING (tx_id, ident) LEFT JOIN outs USING (tx_id, ident) "
        "LEFT JOIN mint USING (tx_id, ident) WHERE t.valid_contract AND "
        "COALESCE(ins.q, 0) + COALESCE(mint.q, 0) <> COALESCE(outs.q, 0)",
    )
    assert unbalanced == []


async def test_block_and_tx_bookkeeping(chain):
    """out_sum, tx_count, block_index, block numbers, slots and previous ids are consistent."""
    blocks = await fetch(
        chain,
        "SELECT b.id, b.block_no, b.slot_no, b.previous_id, b.tx_count, b.epoch_no, "
        "(SELECT count(*) FROM tx WHERE tx.block_id = b.id), "
        "(SELECT array_agg(block_index ORDER BY block_index) FROM tx WHERE tx.block_id = b.id) "
        "FROM block b ORDER BY b.id",
    )
    assert blocks[0][1:4] == (None, None, None)
    for bid, _no, _slot, prev, tx_count, _epoch, counted, indexes in blocks[1:]:
        assert prev == bid - 1
        assert tx_count == counted
        assert (indexes or []) == list(range(counted))
    numbers = [b[1] for b in blocks if b[1] is not None]
    assert numbers == list(range(1, len(numbers) + 1))
    slots = [b[2] for b in blocks if b[2] is not None]
    assert slots == sorted(set(slots))
    epochs = [b[5] for b in blocks if b[5] is not None]
    assert epochs == sorted(epochs)
    if chain.variant.spent != "prune":
        bad = await fetch(
            chain,
            "SELECT count(*) FROM tx t WHERE t.out_sum <> "
            "(SELECT COALESCE(sum(value), 0) FROM tx_out o WHERE o.tx_id = t.id)",
        )
        assert bad[0][0] == 0
    lengths = await fetch(
        chain,
        "SELECT count(*) FILTER (WHERE octet_length(hash) <> 32), count(DISTINCT hash), count(*) "
        "FROM tx",
    )
    assert lengths[0][0] == 0
    assert lengths[0][1] == lengths[0][2]


async def test_texts_decode_to_stored_credentials(chain):
    """Address, stake address and pool id texts agree with the stored raw bytes."""
    variant = chain.variant
    if variant.address_table:
        rows = await fetch(
            chain,
            "SELECT a.address, a.payment_cred, a.has_script, s.hash_raw, a.raw FROM address a "
            "LEFT JOIN stake_address s ON s.id = a.stake_address_id",
        )
    else:
        rows = await fetch(
            chain,
            "SELECT DISTINCT o.address, o.payment_cred, o.address_has_script, s.hash_raw, "
            "NULL::bytea FROM tx_out o LEFT JOIN stake_address s ON s.id = o.stake_address_id",
        )
    assert rows
    for address, cred, has_script, stake_raw, raw in rows:
        parsed = parse_address(address)
        assert parsed.payment_cred == cred
        assert parsed.payment_is_script == has_script
        assert parsed.stake_address_raw == stake_raw
        if raw is not None:
            assert parsed.raw == raw
    for raw, view in await fetch(chain, "SELECT hash_raw, view FROM stake_address"):
        assert stake_address_text(raw) == view
    for raw, view in await fetch(chain, "SELECT hash_raw, view FROM pool_hash"):
        assert pool_id_text(raw) == view


async def test_stake_accounts_match_truth(chain):
    """UTxO stake, rewards minus withdrawals and delegations per stake key equal the truth."""
    truth = chain.report.truth
    addr_sql = (
        "SELECT s.view, sum(o.value) FROM tx_out o JOIN stake_address s "
        f"ON s.id = o.stake_address_id WHERE {_unspent(chain.variant)} GROUP BY s.view"
    )
    got = {view: int(v) for view, v in await fetch(chain, addr_sql)}
    want = {view: truth.stake_balance(view)[0] for view in truth.stakes}
    assert got == {v: amount for v, amount in want.items() if amount}
    rewards = await fetch(
        chain,
        "SELECT s.view, "
        "COALESCE((SELECT sum(amount) FROM reward r WHERE r.addr_id = s.id "
        "          AND r.spendable_epoch <= :tip), 0) "
        "+ COALESCE((SELECT sum(amount) FROM reward_rest r WHERE r.addr_id = s.id "
        "            AND r.spendable_epoch <= :tip), 0) "
        "- COALESCE((SELECT sum(amount) FROM withdrawal w WHERE w.addr_id = s.id), 0) "
        "FROM stake_address s",
        tip=truth.tip_epoch,
    )
    assert {v: int(a) for v, a in rewards} == {v: truth.rewards_available(v) for v in truth.stakes}
    assert any(truth.rewards_available(v) > 0 for v in truth.stakes)
    delegations = await fetch(
        chain,
        "SELECT s.view, t.id, d.cert_index, p.view, d.active_epoch_no FROM delegation d "
        "JOIN stake_address s ON s.id = d.addr_id JOIN pool_hash p ON p.id = d.pool_hash_id "
        "JOIN tx t ON t.id = d.tx_id",
    )
    want_del = {(v, *d) for v, st in truth.stakes.items() for d in st.delegations}
    assert set(delegations) == want_del
    epoch_stake = await fetch(
        chain,
        "SELECT s.view, e.epoch_no, p.view, e.amount FROM epoch_stake e "
        "JOIN stake_address s ON s.id = e.addr_id JOIN pool_hash p ON p.id = e.pool_id",
    )
    want_es = {
        (v, e, p, a) for v, st in truth.stakes.items() for e, (p, a) in st.epoch_stake.items()
    }
    assert {(v, e, p, int(a)) for v, e, p, a in epoch_stake} == want_es
    assert want_es


async def test_assets_match_truth(chain):
    """Supply (mints minus burns) and holders per asset equal the truth."""
    truth = chain.report.truth
    supply = await fetch(chain, "SELECT ident, sum(quantity) FROM ma_tx_mint GROUP BY ident")
    assert {i: int(q) for i, q in supply} == {
        i: truth.asset_supply(i) for i in truth.assets_by_ident
    }
    addr, join = _address(chain.variant)
    holders = await fetch(
        chain,
        f"SELECT m.ident, {addr}, sum(m.quantity) FROM ma_tx_out m "
        f"JOIN tx_out o ON o.id = m.tx_out_id {join} WHERE {_unspent(chain.variant)} "
        "GROUP BY 1, 2",
    )
    got: dict[int, dict[str, int]] = defaultdict(dict)
    for ident, address, q in holders:
        got[ident][address] = int(q)
    want = {i: truth.asset_holders(i) for i in truth.assets_by_ident}
    assert dict(got) == {i: h for i, h in want.items() if h}


async def test_epochs_match_truth(chain):
    """The epoch view (finalized + current) gives the truth's per-epoch totals."""
    truth = chain.report.truth
    rows = await fetch(
        chain,
        "SELECT no, blk_count, tx_count, fees, out_sum, start_time, end_time FROM epoch "
        "ORDER BY no",
    )
    got = [(int(n), b, t, int(f), int(o), s, e) for n, b, t, f, o, s, e in rows]
    want = [
        (e.no, e.blk_count, e.tx_count, e.fees, e.out_sum, e.start_time, e.end_time)
        for e in sorted(truth.epochs.values(), key=lambda e: e.no)
    ]
    assert got == want
    current = await fetch(chain, "SELECT no FROM epoch_current")
    assert current == [(truth.tip_epoch,)]


async def test_address_history_matches_truth(full_chain):
    """The txs that touched an address (paid to it or spent from it) equal the truth."""
    chain = full_chain
    variant = chain.variant
    truth = chain.report.truth
    addr, join = _address(variant)
    spender = (
        "(SELECT i.tx_in_id FROM tx_in i WHERE i.tx_out_id = o.tx_id AND i.tx_out_index = o.index)"
        if variant.spent == "tx_in"
        else "o.consumed_by_tx_id"
    )
    rows = await fetch(
        chain,
        f"SELECT {addr}, o.tx_id, {spender} FROM tx_out o {join}",
    )
    got: dict[str, set[int]] = defaultdict(set)
    for address, tx_id, spent_by in rows:
        got[address].add(tx_id)
        if spent_by is not None:
            got[address].add(spent_by)
    assert got == {a: t.txs for a, t in truth.addresses.items() if t.txs}


async def test_variant_artefacts(chain):
    """Tokens, run-time indexes, prune FK, epoch flag and sequences are as db-sync leaves them."""
    variant = chain.variant
    tokens = await fetch(chain, "SELECT token FROM extra_migrations ORDER BY id")
    assert tuple(t for (t,) in tokens) == variant.extra_migration_tokens
    engine = create_async_engine(chain.url)
    try:
        async with engine.connect() as conn:
            catalog = await read_catalog(conn)
    finally:
        await engine.dispose()
    tx_out_indexes = {i["name"] for i in catalog["tables"]["tx_out"]["indexes"]}
    assert ("idx_tx_out_consumed_by_tx_id" in tx_out_indexes) == (variant.spent != "tx_in")
    tx_in_indexes = {i["name"] for i in catalog["tables"]["tx_in"]["indexes"]}
    assert ("idx_tx_in_tx_out_id" in tx_in_indexes) == variant.near_tip_indexes
    fks = {f["name"] for f in catalog["tables"]["ma_tx_out"]["foreign_keys"]}
    assert ("ma_tx_out_tx_out_id_fkey" in fks) == (variant.spent == "prune")
    assert ("address" in catalog["tables"]) == variant.address_table
    assert (await fetch(chain, "SELECT enabled FROM epoch_sync_enabled")) == [(True,)]
    # a new row gets an id after the generated ones
    seq = await fetch(chain, "SELECT last_value, (SELECT max(id) FROM tx) FROM tx_id_seq")
    assert seq[0][0] > seq[0][1]


async def test_prune_keeps_recent_spent_outputs(dbsync_chain_factory):
    """Prune deletes deep spent outputs but keeps recent ones, marked consumed."""
    db = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=Variant(spent="prune"))
    counts = await fetch(
        db,
        "SELECT count(*) FILTER (WHERE consumed_by_tx_id IS NOT NULL), count(*) FROM tx_out",
    )
    recent_spent, remaining = counts[0]
    assert recent_spent > 0
    truth = db.report.truth
    assert remaining < len(truth.outputs)
    assert remaining - recent_spent == len(truth.unspent())


async def test_variants_hold_the_same_chain(dbsync_chain_factory):
    """Two variants of one seed have the same blocks, txs and UTxO set."""
    a = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=Variant())
    b = await dbsync_chain_factory(
        txs=TXS, seed=SEED, variant=Variant(address_table=True, spent="prune")
    )
    sql = "SELECT hash FROM tx ORDER BY id"
    assert await fetch(a, sql) == await fetch(b, sql)
    assert a.report.truth.unspent() == b.report.truth.unspent()


async def test_seeding_refuses_a_database_with_tables(dbsync_chain_factory):
    """Seeding an existing chain raises SchemaExistsError and writes nothing."""
    db = await dbsync_chain_factory(txs=TXS, seed=SEED)
    before = await fetch(db, "SELECT count(*) FROM tx")
    with pytest.raises(SchemaExistsError):
        await seed_database(db.url, ChainConfig(txs=10))
    assert await fetch(db, "SELECT count(*) FROM tx") == before


@pytest.mark.dbsync_chain(txs=300, seed=3)
async def test_marker_picks_the_chain(dbsync_chain):
    """@pytest.mark.dbsync_chain chooses the size and seed of the dbsync_chain fixture."""
    assert dbsync_chain.report.config == ChainConfig(txs=300, seed=3)
    count = await fetch(dbsync_chain, "SELECT count(*) FROM tx WHERE block_id <> 1")
    assert count == [(300,)]


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    txs=st.integers(min_value=5, max_value=400),
    seed=st.integers(0, 10**6),
    variant=st.sampled_from(ALL_VARIANTS),
)
async def test_any_small_chain_loads_consistently(dbsync_chain_factory, txs, seed, variant):
    """For random sizes, seeds and variants the loaded UTxO value equals the truth's."""
    db = await dbsync_chain_factory(txs=txs, seed=seed, variant=variant)
    rows = await fetch(
        db, f"SELECT COALESCE(sum(value), 0) FROM tx_out o WHERE {_unspent(variant)}"
    )
    assert int(rows[0][0]) == sum(o.value for o in db.report.truth.unspent())
