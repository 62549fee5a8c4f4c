"""The recommended indexes, and every catalogue query's plan on a 200,000-transaction chain
that has them: no sequential scan of a large table.

The chain is loaded once per variant for this module (core layout with ``tx_in``; address
table with ``consumed_by_tx_id``), with 120 epochs so that an epoch holds a realistic small
share of the chain (with few, huge epochs, reading one epoch's blocks is rightly a scan). After
the recommended indexes, ``VACUUM ANALYZE`` stands for the autovacuum a live database gets.
Each query is run under ``EXPLAIN (ANALYZE, FORMAT JSON)`` with realistic arguments read from
the data: the heaviest address, the busiest stake address, pool and asset, and so on. Run with
``-s`` to see the summary table.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import asyncpg
import attrs
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import (
    InvalidInputError,
    accounts,
    addresses,
    assets,
    blocks,
    epochs,
    governance,
    pools,
    scripts,
    totals,
    txs,
)
from dbsync_core._exec import _bind
from dbsync_core._pg import asyncpg_dsn, create_database, drop_database, unique_database_name
from dbsync_core.indexes import (
    INDEXES,
    IndexAdvice,
    fetch_missing_indexes,
    indexes_sql,
    recommended_indexes,
)
from dbsync_core.layout import DEFAULT_LAYOUT, Layout, detect_layout
from dbsync_core.synth import ChainConfig, Variant, seed_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from dbsync_core.query import Query

BIG = ChainConfig(txs=200_000, seed=5, truth=False, epochs=120)
VARIANTS = [Variant(), Variant(address_table=True, spent="consumed")]
#: A Seq Scan on a table with more rows than this fails the plan test.
LARGE = 10_000
#: A recommended index on a table with more rows than this must be used by a query it serves
#: (on smaller tables the planner may rightly prefer another path for the page it reads).
HUGE = 50_000
MODULES = (blocks, txs, addresses, epochs, accounts, pools, assets, scripts, governance, totals)

# ------------------------------------------------------------------ advice without a database


def test_recommendations_follow_the_layout():
    """Each layout gets the indexes of its tx_out layout and spent tracking, and only those."""
    core = recommended_indexes(DEFAULT_LAYOUT)
    table = recommended_indexes(attrs.evolve(DEFAULT_LAYOUT, address_table=True, spent="consumed"))
    names = {a.name for a in core}
    assert "dbsync_core_tx_out_address" in names
    assert "dbsync_core_tx_in_tx_out" in names
    assert "dbsync_core_tx_out_address_id" not in names
    table_names = {a.name for a in table}
    assert {"dbsync_core_tx_out_address_id", "dbsync_core_tx_out_stake_address_id"} <= table_names
    assert "dbsync_core_tx_out_unspent_stake" in table_names
    assert "dbsync_core_tx_in_tx_out" not in table_names
    for wanted in ("multi_asset (fingerprint)", "ma_tx_out (ident", "tx_metadata (key"):
        assert any(wanted in a.sql for a in core)
        assert any(wanted in a.sql for a in table)


def test_every_advice_is_idempotent_ddl_for_real_queries():
    """Advice names are unique, DDL is idempotent and every served query is a real builder."""
    assert len({a.name for a in INDEXES}) == len(INDEXES)
    known = {f"{m.__name__.rsplit('.', 1)[1]}.{n}" for m in MODULES for n in builders(m)}
    for advice in INDEXES:
        assert isinstance(advice, IndexAdvice)
        assert advice.name.startswith("dbsync_core_")
        assert advice.sql.startswith(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {advice.name} ON {advice.table} "
        )
        assert advice.serves
        assert set(advice.serves) <= known, advice.name
        assert advice.reason.endswith(".")


def test_indexes_sql_is_a_runnable_script():
    """indexes_sql lists every recommended statement, one per line, with its purpose."""
    layout = attrs.evolve(DEFAULT_LAYOUT, address_table=True, spent="prune")
    script = indexes_sql(layout)
    statements = [line for line in script.splitlines() if line.startswith("CREATE")]
    assert statements == [a.sql + ";" for a in recommended_indexes(layout)]
    assert "address table" in script
    assert "-- Serves: assets.asset_holders" in script


@pytest.mark.parametrize("bad", [None, "core", DEFAULT_LAYOUT.spent, object()])
def test_bad_layout_is_rejected(bad):
    """recommended_indexes and indexes_sql take a Layout and nothing else."""
    with pytest.raises(InvalidInputError, match=r"^layout"):
        recommended_indexes(bad)
    with pytest.raises(InvalidInputError, match=r"^layout"):
        indexes_sql(bad)


# ------------------------------------------------------------------ the big chain


def builders(module: Any) -> list[str]:
    """The query builders a catalogue module exports (not its runners or constants)."""
    return [
        name
        for name in module.__all__
        if not name.isupper() and not inspect.iscoroutinefunction(getattr(module, name))
    ]


@attrs.frozen
class BigChain:
    """A loaded 200k-tx chain with the recommended indexes, and what its plans showed."""

    layout: Layout
    #: Large tables each query read sequentially before the recommended indexes existed.
    before: dict[str, list[str]]
    #: After: (query, execution ms, rows, plan shape, large tables read sequentially, indexes).
    after: list[tuple[str, float, int, str, list[str], set[str]]]


async def read_facts(conn: asyncpg.Connection, layout: Layout, heavy: str) -> dict[str, Any]:
    """Realistic arguments: the busiest address, account, pool, asset, script, DRep…"""
    byron_from = "address" if layout.address_table else "tx_out"
    queries = {
        "byron": f"SELECT address FROM {byron_from} WHERE address NOT LIKE 'addr%' LIMIT 1",
        "stake": "SELECT s.hash_raw FROM stake_address s JOIN (SELECT stake_address_id AS id "
        "FROM tx_out WHERE stake_address_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC "
        "LIMIT 1) b USING (id)",
        "pool": "SELECT p.hash_raw FROM pool_hash p JOIN slot_leader l ON l.pool_hash_id = p.id "
        "JOIN block b ON b.slot_leader_id = l.id GROUP BY p.id ORDER BY count(*) DESC LIMIT 1",
        "asset": "SELECT m.policy, m.name, m.fingerprint FROM multi_asset m JOIN (SELECT ident "
        "FROM ma_tx_out GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) b ON b.ident = m.id",
        "tx": "SELECT t.hash FROM tx t JOIN (SELECT tx_id FROM tx_out GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1) b ON b.tx_id = t.id",
        "script_tx": "SELECT t.hash FROM tx t WHERE EXISTS (SELECT 1 FROM collateral_tx_in c "
        "WHERE c.tx_in_id = t.id) AND EXISTS (SELECT 1 FROM reference_tx_in r "
        "WHERE r.tx_in_id = t.id) LIMIT 1",
        "redeemer_tx": "SELECT t.hash FROM tx t JOIN redeemer r ON r.tx_id = t.id LIMIT 1",
        "block": "SELECT hash FROM block ORDER BY tx_count DESC LIMIT 1",
        "block_no": "SELECT max(block_no) FROM block",
        "slot": "SELECT max(slot_no) FROM block",
        "epoch": "SELECT max(epoch_no) - 5 FROM block",
        "script": "SELECT script_hash FROM redeemer GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        "ref_script": "SELECT s.hash FROM script s JOIN tx_out o ON o.reference_script_id = s.id "
        "LIMIT 1",
        "datum": "SELECT hash FROM datum ORDER BY id DESC LIMIT 1",
        "drep": "SELECT d.raw FROM drep_hash d JOIN delegation_vote v ON v.drep_hash_id = d.id "
        "GROUP BY d.id ORDER BY count(*) DESC LIMIT 1",
        "proposal_tx": "SELECT t.hash FROM gov_action_proposal g JOIN tx t ON t.id = g.tx_id "
        "JOIN voting_procedure v ON v.gov_action_proposal_id = g.id GROUP BY t.hash "
        "ORDER BY count(*) DESC LIMIT 1",
        "hot": "SELECT c.raw FROM committee_hash c JOIN voting_procedure v "
        "ON v.committee_voter = c.id GROUP BY c.raw ORDER BY count(*) DESC LIMIT 1",
        "spo_voter": "SELECT p.hash_raw FROM pool_hash p JOIN voting_procedure v "
        "ON v.pool_voter = p.id GROUP BY p.hash_raw ORDER BY count(*) DESC LIMIT 1",
        "ref": "SELECT encode(t.hash, 'hex') || '#' || o.index FROM tx_out o "
        "JOIN tx t ON t.id = o.tx_id ORDER BY o.id DESC LIMIT 1",
    }
    facts: dict[str, Any] = {"heavy": heavy}
    for name, sql in queries.items():
        row = await conn.fetchrow(sql)
        assert row is not None, name
        facts[name] = row[0] if len(row) == 1 else tuple(row)
    return facts


def catalogue(f: dict[str, Any], lo: Layout) -> list[tuple[str, Query[Any]]]:
    """Every builder of parts one and two, with arguments from the data (some twice)."""
    policy, name, fingerprint = f["asset"]
    unit = policy.hex() + name.hex()
    pair = [f["heavy"], f["byron"]]
    return [
        ("blocks.tip", blocks.tip()),
        ("blocks.latest_blocks", blocks.latest_blocks(limit=10)),
        ("blocks.block_by_hash", blocks.block_by_hash(f["block"])),
        ("blocks.blocks_by_hashes", blocks.blocks_by_hashes([f["block"]])),
        ("blocks.block_by_number", blocks.block_by_number(f["block_no"])),
        ("blocks.blocks_by_numbers", blocks.blocks_by_numbers([f["block_no"], 5])),
        ("blocks.block_by_slot", blocks.block_by_slot(f["slot"])),
        ("blocks.blocks_by_epoch", blocks.blocks_by_epoch(f["epoch"])),
        ("blocks.blocks_by_slot_leader", blocks.blocks_by_slot_leader(f["pool"])),
        ("txs.tx_by_hash", txs.tx_by_hash(f["tx"])),
        ("txs.txs_by_hashes", txs.txs_by_hashes([f["tx"], f["script_tx"]])),
        ("txs.block_txs", txs.block_txs(f["block"])),
        ("txs.epoch_txs", txs.epoch_txs(f["epoch"])),
        ("txs.tx_outputs", txs.tx_outputs(f["tx"], layout=lo)),
        ("txs.tx_inputs", txs.tx_inputs(f["script_tx"], layout=lo)),
        ("txs.tx_metadata_of", txs.tx_metadata_of(f["tx"])),
        ("txs.txs_by_metadata_label", txs.txs_by_metadata_label(674)),
        ("txs.txs_by_metadata_label[rare]", txs.txs_by_metadata_label(61284)),
        ("txs.block_with_txs", txs.block_with_txs(f["block"])),
        ("addresses.address_utxos", addresses.address_utxos(f["heavy"], layout=lo)),
        ("addresses.address_utxos[byron]", addresses.address_utxos(f["byron"], layout=lo)),
        ("addresses.addresses_utxos", addresses.addresses_utxos(pair, layout=lo)),
        ("addresses.address_outputs", addresses.address_outputs(f["heavy"], layout=lo)),
        ("addresses.addresses_outputs", addresses.addresses_outputs(pair, layout=lo)),
        ("addresses.address_balance", addresses.address_balance(f["heavy"], layout=lo)),
        ("addresses.address_balances", addresses.address_balances(pair, layout=lo)),
        ("addresses.address_txs", addresses.address_txs(f["heavy"], layout=lo)),
        ("addresses.addresses_txs", addresses.addresses_txs(pair, layout=lo)),
        ("addresses.outputs_by_refs", addresses.outputs_by_refs([f["ref"]], layout=lo)),
        ("epochs.epoch_summary", epochs.epoch_summary(f["epoch"], layout=lo)),
        ("epochs.epoch_summaries", epochs.epoch_summaries(layout=lo)),
        ("epochs.epoch_stats", epochs.epoch_stats(f["epoch"])),
        ("epochs.epoch_params", epochs.epoch_params(f["epoch"])),
        ("accounts.stake_account", accounts.stake_account(f["stake"], layout=lo)),
        ("accounts.stake_accounts", accounts.stake_accounts([f["stake"]], layout=lo)),
        ("accounts.account_rewards", accounts.account_rewards(f["stake"])),
        ("accounts.account_withdrawals", accounts.account_withdrawals(f["stake"])),
        ("accounts.account_delegations", accounts.account_delegations(f["stake"])),
        ("accounts.account_registrations", accounts.account_registrations(f["stake"])),
        ("accounts.account_stake_history", accounts.account_stake_history(f["stake"])),
        ("accounts.account_addresses", accounts.account_addresses(f["stake"], layout=lo)),
        ("accounts.account_utxos", accounts.account_utxos(f["stake"], layout=lo)),
        ("accounts.accounts_utxos", accounts.accounts_utxos([f["stake"]], layout=lo)),
        ("accounts.account_assets", accounts.account_assets(f["stake"], layout=lo)),
        ("pools.pool_list", pools.pool_list()),
        ("pools.pool_list[retired]", pools.pool_list(status="retired")),
        ("pools.pool_info", pools.pool_info(f["pool"])),
        ("pools.pools_info", pools.pools_info([f["pool"]])),
        ("pools.pool_stake", pools.pool_stake(f["pool"])),
        ("pools.pools_stake", pools.pools_stake([f["pool"]], epoch_no=f["epoch"])),
        ("pools.pool_delegators", pools.pool_delegators(f["pool"])),
        ("pools.pool_blocks", pools.pool_blocks(f["pool"])),
        ("pools.pool_history", pools.pool_history(f["pool"])),
        ("assets.asset_info", assets.asset_info(unit)),
        ("assets.asset_info[fingerprint]", assets.asset_info(fingerprint)),
        ("assets.assets_info", assets.assets_info([unit])),
        ("assets.assets_by_fingerprints", assets.assets_by_fingerprints([fingerprint])),
        ("assets.policy_assets", assets.policy_assets(policy)),
        ("assets.asset_holders", assets.asset_holders(unit, layout=lo)),
        ("assets.asset_holders[fingerprint]", assets.asset_holders(fingerprint, layout=lo)),
        ("assets.asset_mints", assets.asset_mints(unit)),
        ("assets.asset_txs", assets.asset_txs(unit)),
        ("scripts.script_info", scripts.script_info(f["script"])),
        ("scripts.scripts_info", scripts.scripts_info([f["script"], f["ref_script"]])),
        ("scripts.datum_info", scripts.datum_info(f["datum"])),
        ("scripts.datums_info", scripts.datums_info([f["datum"]])),
        ("scripts.tx_redeemers", scripts.tx_redeemers(f["redeemer_tx"])),
        ("scripts.script_redeemers", scripts.script_redeemers(f["script"])),
        (
            "scripts.reference_script_utxos",
            scripts.reference_script_utxos([f["ref_script"]], layout=lo),
        ),
        ("governance.drep_list", governance.drep_list()),
        ("governance.drep_info", governance.drep_info(f["drep"])),
        ("governance.dreps_info", governance.dreps_info([f["drep"], "drep_always_abstain"])),
        ("governance.drep_delegators", governance.drep_delegators(f["drep"])),
        ("governance.drep_votes", governance.drep_votes(f["drep"])),
        ("governance.pool_votes", governance.pool_votes(f["spo_voter"])),
        ("governance.committee_votes", governance.committee_votes(f["hot"])),
        ("governance.proposal_list", governance.proposal_list()),
        ("governance.proposal_info", governance.proposal_info(f["proposal_tx"])),
        ("governance.proposal_votes", governance.proposal_votes(f["proposal_tx"])),
        ("governance.committee_members", governance.committee_members()),
        ("totals.ada_pots_of", totals.ada_pots_of(f["epoch"])),
        ("totals.ada_pots_history", totals.ada_pots_history()),
        ("totals.supply", totals.supply()),
        ("totals.current_params", totals.current_params()),
    ]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", ()):
        found += _nodes(child)
    return found


def _shape(nodes: list[dict[str, Any]], sizes: dict[str, int]) -> str:
    counts: Counter[str] = Counter()
    for node in nodes:
        kind = node["Node Type"]
        if "Scan" not in kind or kind in ("Subquery Scan", "Function Scan", "CTE Scan"):
            continue
        if kind == "Seq Scan" and sizes.get(node.get("Relation Name", ""), 0) <= LARGE:
            kind = "Seq Scan (small)"
        counts[kind] += 1
    return ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))


async def explain_all(
    engine: Any, facts: dict[str, Any], layout: Layout, sizes: dict[str, int], *, analyze: bool
) -> list[tuple[str, float, int, str, list[str], set[str]]]:
    """Every catalogue query under EXPLAIN (ANALYZE when ``analyze``): the first page of a
    listing (a keyset query), or the whole answer of a lookup."""
    found: list[tuple[str, float, int, str, list[str], set[str]]] = []
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.execute("SET statement_timeout = '30s'")
        for name, query in catalogue(facts, layout):
            if query.keyset is not None:
                statement, params = query._effective(page=True, limit=101)
            else:
                statement, params = query.statement, query.params
            sql, args = _bind(conn, statement, params)
            answer = await driver.fetchval(f"EXPLAIN ({options}) {sql}", *args)
            plan = (json.loads(answer) if isinstance(answer, str) else answer)[0]
            nodes = _nodes(plan["Plan"])
            seq = sorted(
                {
                    n["Relation Name"]
                    for n in nodes
                    if n["Node Type"] == "Seq Scan" and sizes.get(n["Relation Name"], 0) > LARGE
                }
            )
            indexes = {n["Index Name"] for n in nodes if "Index Name" in n}
            found.append(
                (name, plan.get("Execution Time", 0.0), plan["Plan"].get("Actual Rows", 0),
                 _shape(nodes, sizes), seq, indexes)
            )  # fmt: skip
    return found


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: v.name)
async def big_chain(request, dbsync_pg_server) -> AsyncIterator[BigChain]:
    """The 200k-tx chain in one variant, explained without and with the recommended indexes;
    dropped afterwards."""
    name = unique_database_name("dbsync_indexes")
    await create_database(dbsync_pg_server.url, name)
    url = dbsync_pg_server.database_url(name)
    engine = create_async_engine(url)
    try:
        report = await seed_database(url, BIG, request.param)
        async with engine.connect() as conn:
            layout = await detect_layout(conn)
            missing = await fetch_missing_indexes(conn)
        assert missing == recommended_indexes(layout)
        driver = await asyncpg.connect(asyncpg_dsn(url))
        try:
            sizes = {
                row[0]: row[1]
                for row in await driver.fetch(
                    "SELECT relname, reltuples::bigint FROM pg_class "
                    "WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
                )
            }
            facts = await read_facts(driver, layout, report.heavy_address)
            before = await explain_all(engine, facts, layout, sizes, analyze=False)
            for advice in missing:  # one by one: CONCURRENTLY refuses a transaction block
                await driver.execute(advice.sql)
            # A sample of 300 x 1000 rows reads these tables (nearly) whole: the statistics, and
            # so the plans, stop depending on which rows ANALYZE happened to sample.
            await driver.execute("SET default_statistics_target = 1000")
            await driver.execute("VACUUM ANALYZE")
        finally:
            await driver.close()
        after = await explain_all(engine, facts, layout, sizes, analyze=True)
        yield BigChain(layout, {q: seq for q, _t, _r, _s, seq, _i in before if seq}, after)
    finally:
        await engine.dispose()
        await drop_database(dbsync_pg_server.url, name)


def test_no_catalogue_query_scans_a_large_table(big_chain):
    """With the recommended indexes, no catalogue query reads a large table sequentially."""
    chain = big_chain
    layout = chain.layout
    lines = [
        f"\nlayout: {'address table' if layout.address_table else 'core'}, spent: {layout.spent}",
        f"{'query':<40} {'ms':>8} {'rows':>5}  plan",
    ]
    for name, ms, rows, shape, _seq, _indexes in chain.after:
        lines.append(f"{name:<40} {ms:8.2f} {rows:5}  {shape}")
    print("\n".join(lines))  # noqa: T201  (the summary table of the report)
    assert [(name, seq) for name, _ms, _r, _s, seq, _i in chain.after if seq] == []
    explained = {name.split("[", 1)[0] for name, *_rest in chain.after}
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[1]
        assert {f"{short}.{n}" for n in builders(module)} <= explained


def test_the_indexes_are_what_removed_the_scans(big_chain):
    """The queries that scanned large tables before the indexes are those the indexes serve."""
    chain = big_chain
    print(f"\nsequential scans before the indexes: {chain.before}")  # noqa: T201
    assert chain.before
    served = {q for advice in recommended_indexes(chain.layout) for q in advice.serves}
    assert {name.split("[", 1)[0] for name in chain.before} <= served
    used = set().union(*(indexes for *_rest, indexes in chain.after))
    names = {advice.name for advice in recommended_indexes(chain.layout)}
    assert len(names & used) >= len(names) // 2
