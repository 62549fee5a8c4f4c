"""The ``dbsync-core`` command line: demo and seed, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core._pg import create_database, drop_database, unique_database_name
from dbsync_core.cli import main
from dbsync_core.synth import ALL_VARIANTS


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbsync_core.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def plain_dsn(url: Any) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice"),
        (["seed"], "--dsn"),
        (["seed", "--dsn", "postgresql://x/y", "--txs", "0"], "expected 1 to 20,000,000"),
        (["seed", "--dsn", "postgresql://x/y", "--txs", "many"], "positive whole number"),
        (["seed", "--dsn", "postgresql://x/y", "--spent", "bootstrap"], "invalid choice"),
        (["demo", "--tx-out-layout", "json"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, message):
    """Bad commands and options get a clear message and exit code 2, before any work."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


async def test_demo_loads_a_chain_and_drops_it(dbsync_pg_server, dbsync_conn):
    """`dbsync-core demo --dsn` loads a chain, prints the summary, leaves no database behind."""
    demo_dbs = text("SELECT count(*) FROM pg_database WHERE datname LIKE 'dbsync_demo_%'")
    before = await dbsync_conn.scalar(demo_dbs)
    result = run_cli("demo", "--dsn", plain_dsn(dbsync_pg_server.url), "--txs", "3000")
    assert result.returncode == 0, result.stderr
    assert "loaded 3,000 txs (seed 0, variant core-tx_in)" in result.stdout
    assert "heaviest address:" in result.stdout
    assert "tx_out" in result.stdout
    assert "A tour of the query catalogue" in result.stdout
    assert "addresses.fetch_address_balance(conn, heaviest_address)" in result.stdout
    assert await dbsync_conn.scalar(demo_dbs) == before


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--tx-out-layout", "address", "--spent", "prune", "--no-near-tip-indexes"],
    ],
)
async def test_seed_fills_an_empty_database_and_refuses_a_full_one(dbsync_pg_server, options):
    """`seed` loads the requested chain; run again on the same database it exits 1."""
    name = unique_database_name()
    await create_database(dbsync_pg_server.url, name)
    url = dbsync_pg_server.database_url(name)
    try:
        args = ["seed", "--dsn", plain_dsn(url), "--txs", "1500", "--seed", "4", "--quiet"]
        result = run_cli(*args, *options)
        assert result.returncode == 0, result.stderr
        assert "loaded 1,500 txs (seed 4" in result.stdout
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                txs = await conn.scalar(text("SELECT count(*) FROM tx WHERE block_id <> 1"))
                has_address = await conn.scalar(text("SELECT to_regclass('address') IS NOT NULL"))
        finally:
            await engine.dispose()
        assert txs == 1500
        assert has_address == ("address" in options)
        again = run_cli(*args, *options)
        assert again.returncode == 1
        assert "refusing" in again.stderr
    finally:
        await drop_database(dbsync_pg_server.url, name)


async def test_check_and_explain_commands(dbsync_chain_factory):
    """`check` reports a compatible database (exit 0); `explain` prints a plan; bad names exit 2."""
    db = await dbsync_chain_factory(txs=2500, seed=11)
    dsn = plain_dsn(db.url)
    checked = run_cli("check", "--dsn", dsn)
    assert checked.returncode == 0, checked.stderr
    assert "tx_out layout    core" in checked.stdout
    assert "compatible" in checked.stdout
    tx = db.report.truth.txs[50]
    plan = run_cli("explain", "txs.tx_by_hash", tx.hash.hex(), "--dsn", dsn)
    assert plan.returncode == 0, plan.stderr
    assert "unique_tx" in plan.stdout
    heavy = run_cli("explain", "addresses.address_utxos", db.report.heavy_address, "--dsn", dsn)
    assert heavy.returncode == 0, heavy.stderr
    unknown = run_cli("explain", "txs.fetch_tx", "00", "--dsn", dsn)
    assert unknown.returncode == 2
    assert "unknown query" in unknown.stderr
    bad = run_cli("explain", "txs.tx_by_hash", "zz", "--dsn", dsn)
    assert bad.returncode == 2
    assert "tx_hash" in bad.stderr


async def test_check_fails_on_a_database_that_is_not_db_sync(dbsync_pg_server, dbsync_conn):
    """`check` on a database without db-sync's tables exits 1 with a clear message."""
    result = run_cli(
        "check",
        "--dsn",
        plain_dsn(
            dbsync_pg_server.database_url(
                await dbsync_conn.scalar(text("SELECT current_database()"))
            )
        ),
    )
    assert result.returncode == 1
    assert "not a db-sync database" in result.stderr


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
async def test_indexes_command_per_variant(dbsync_chain_factory, variant):
    """`indexes` prints the variant's recommended indexes as SQL, all missing on a fresh chain."""
    db = await dbsync_chain_factory(txs=2500, seed=11, variant=variant)
    result = run_cli("indexes", "--dsn", plain_dsn(db.url))
    assert result.returncode == 0, result.stderr
    layout_word = "address-table" if variant.address_table else "core"
    assert f"({layout_word} tx_out, {variant.spent})" in result.stdout
    statements = [line for line in result.stdout.splitlines() if line.startswith("CREATE INDEX")]
    assert statements
    assert all("CONCURRENTLY IF NOT EXISTS" in line for line in statements)
    assert "-- present:" not in result.stdout
