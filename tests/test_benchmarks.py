"""The benchmark suite, without timing assertions: its correctness gate on a synthetic chain,
the report files, the probes and the command lines that run it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from benchmarks import report as report_files
from benchmarks import suite
from benchmarks.orm import MaTxOutModel, TxInModel, TxModel, TxOutModel, orm_output
from dbsync_core import _bench
from dbsync_core._bench import (
    CORE,
    FLOOR,
    ORM,
    GateError,
    Impl,
    Settings,
    build_report,
    floor_sql,
    gate,
    open_env,
    orm_session,
    render_markdown,
    run_workloads,
)
from dbsync_core._exec import _bind
from dbsync_core.addresses import addresses_utxos
from dbsync_core.txs import tx_by_hash

ROOT = Path(__file__).resolve().parent.parent
TXS = 3000
SEED = 5
POOL = 3  # the test server is shared: small pools for the concurrent workload


@pytest.fixture
async def chain(dbsync_chain_factory):
    """A small synthetic chain (shared by the session)."""
    return await dbsync_chain_factory(txs=TXS, seed=SEED)


@contextlib.asynccontextmanager
async def bench_env(chain):
    async with contextlib.AsyncExitStack() as stack:
        env = await open_env(stack, chain.url, heavy_address=chain.report.heavy_address)
        env.pool_size = POOL
        yield env


def plain_dsn(url) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


async def test_gate_passes_for_every_workload_of_the_suite(chain):
    """Floor, dbsync_core and the ORM return the same answers for every workload of the suite."""
    async with bench_env(chain) as env:
        pairs, skipped = suite.build(env)
        keys = {w.key for w, _ in pairs}
        assert {"tx_by_hash", "address_outputs_heavy", "stream_all_txs", "bulk_1000"} <= keys
        assert any("100000" in s for s in skipped)  # the chain is too small for 100k rows
        for workload, _ in pairs:
            rows, answers = await gate(workload)
            assert set(answers) >= {FLOOR, CORE, ORM}
            if workload.kind == "latency":
                assert rows, workload.key
        assert env.facts.heavy_address == chain.report.heavy_address
        # The floor runs the very SQL text and arguments the library's executor sends.
        for query in (
            tx_by_hash(env.facts.tx_hashes[0]),
            _bench.all_txs_query().after((10,)).limit(100),
            addresses_utxos(list(env.facts.addresses[:3]), layout=env.layout),
        ):
            statement, params = query._effective(page=False)
            assert floor_sql(query, env.core.sync_engine.dialect) == _bind(
                env.core, statement, params
            )


async def test_gate_rejects_the_guides_tx_in_join(chain):
    """An ORM path that joins tx_in.tx_out_id to tx_out.id (the guide's bug) fails the gate."""
    async with bench_env(chain) as env:
        right = suite.factory("benchmarks.addresses:address_outputs_workload")(env, "heavy")
        address = env.facts.heavy_address

        async def guide() -> object:
            answer = []
            async with orm_session(env) as session:
                outputs = (
                    await session.execute(
                        select(TxOutModel)
                        .where(TxOutModel.address == address)
                        .order_by(TxOutModel.id)
                        .options(
                            joinedload(TxOutModel.tx),
                            joinedload(TxOutModel.stake_address),
                            joinedload(TxOutModel.inline_datum),
                            joinedload(TxOutModel.reference_script),
                            selectinload(TxOutModel.assets).joinedload(MaTxOutModel.asset),
                        )
                    )
                ).scalars()
                for output in outputs:
                    spender = await session.scalar(
                        select(TxModel.hash)
                        .join(TxInModel, TxInModel.tx_in_id == TxModel.id)
                        .where(TxInModel.tx_out_id == output.id)  # wrong: tx_out_id is a tx id
                        .limit(1)
                    )
                    answer.append((*orm_output(output, by_tx_in=True, spent=False), spender))
            return tuple(answer)

        wrong = attrs.evolve(right, paths={**right.paths, ORM: Impl(guide, lambda a: a)})
        await gate(right)
        with pytest.raises(GateError, match="SQLAlchemy ORM returned a different answer"):
            await gate(wrong)


async def test_gate_rejects_an_empty_floor(chain):
    """A workload whose floor finds nothing fails instead of comparing empty answers."""
    async with bench_env(chain) as env:
        workload = _bench.latest_blocks_workload(env)

        async def nothing() -> list[object]:
            return []

        empty = {name: Impl(nothing, _bench.plain) for name in workload.paths}
        with pytest.raises(GateError, match="the floor found nothing"):
            await gate(attrs.evolve(workload, paths=empty))


async def test_report_files_are_well_formed(chain, tmp_path):
    """A short timed run writes report.md (one table row per workload) and a complete JSON."""
    settings = attrs.evolve(Settings.for_quick(), rounds=2, sample_seconds=0.002, max_inner=5)
    async with bench_env(chain) as env:
        workloads = _bench.core_workloads(env, sizes=(100,))
        results = await run_workloads(workloads, settings, lambda _m: None)
        report = build_report(
            results,
            env=env,
            settings=settings,
            chain=_bench.chain_description(None, env),
            costs={"footprint": _bench.footprint()},
        )
    written, note = report_files.write_report(report, tmp_path)
    assert {p.name for p in written} >= {"report.md", "report.json"}
    if note is not None:
        assert "matplotlib" in note
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["schema"] == _bench.REPORT_SCHEMA
    assert data["mode"] == "quick"
    for key in ("created", "environment", "settings", "chain", "facts", "workloads", "targets"):
        assert key in data
    for key in ("python", "sqlalchemy", "asyncpg", "attrs", "dbsync_core", "cpu", "postgresql"):
        assert data["environment"][key]
    assert [w["key"] for w in data["workloads"]] == [w.key for w in workloads]
    for w in data["workloads"]:
        assert w["gate"] == "passed"
        assert set(w["paths"]) >= {FLOOR, CORE, ORM}
        for entry in w["paths"].values():
            assert 0 < entry["min_s"] <= entry["median_s"] <= entry["max_s"]
            assert len(entry["samples_s"]) == 2
        assert set(w["ratios"]) == {"dbsync_core_vs_floor", "orm_vs_floor", "orm_vs_dbsync_core"}
    names = {t["name"] for t in data["targets"]}
    assert "point lookup: dbsync_core ÷ floor" in names
    markdown = (tmp_path / "report.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = rows.index(next(r for r in rows if r.startswith("| workload | rows |")))
    table = rows[header + 1 : header + 1 + len(workloads)]
    assert [r.split("|")[1].strip() for r in table] == [w.title for w in workloads]
    assert all(r.count("|") == 8 for r in table)
    assert render_markdown(data, brief=True) in markdown


def test_targets_read_the_report():
    """Targets are met, missed or not measured according to the figures in a report."""

    def workload(key: str, core: float, orm: float) -> dict[str, object]:
        return {
            "key": key,
            "rows": 10,
            "ratios": {"dbsync_core_vs_floor": core, "orm_vs_dbsync_core": orm},
        }

    report = {
        "workloads": [workload("bulk_10000", 1.2, 5.0), workload("tx_by_hash", 1.3, 3.0)],
        "costs": {},
    }
    found = {t.name: t.met for t in _bench.targets(report)}
    assert found["bulk 10k rows: dbsync_core ÷ floor"] is True
    assert found["bulk 10k rows: ORM ÷ dbsync_core"] is True
    assert found["point lookup: dbsync_core ÷ floor"] is False
    assert found["point lookup: ORM ÷ dbsync_core"] is False
    assert found["import dbsync_core over its dependencies"] is None


def test_import_cost_is_measured():
    """The import-time measurement runs fresh interpreters and accounts for dbsync_core."""
    cost = _bench.import_cost(repeats=1)
    assert cost["deps_s"] > 0
    assert cost["deps_and_dbsync_core_s"] > 0
    assert cost["first_use_importtime_s"] > 0
    assert cost["first_use_added_wall_s"] > 0
    assert any(m["module"].startswith("dbsync_core") for m in cost["heaviest_own"])
    size = _bench.footprint()
    assert size["files"] > 10
    assert size["bytes"] > 100_000


async def test_probes_measure_memory_and_cold_start(chain):
    """Memory and cold-start probes run a workload path in a fresh interpreter."""
    async with bench_env(chain) as env:
        facts = env.facts
    ref = "dbsync_core._bench:bulk_fetch_workload"
    rss = _bench.run_probe(chain.url, facts, ref, (1000,), path=CORE, mode="rss")
    assert rss["rss_peak_bytes"] >= 0
    assert rss["seconds"] > 0
    traced = _bench.run_probe(chain.url, facts, ref, (1000,), path=ORM, mode="tracemalloc")
    assert traced["tracemalloc_peak_bytes"] > 0
    stream = "benchmarks.txs:stream_all_txs_workload"
    cold = _bench.run_probe(chain.url, facts, stream, (), path=FLOOR, mode="cold")
    assert cold["cold_s"] > 0
    assert cold["warm_s"] > 0


def run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=ROOT,
    )


def test_benchmarks_command_writes_its_report(chain, tmp_path):
    """`python -m benchmarks --dsn` runs the chosen workloads and writes the report files."""
    result = run(
        "-m", "benchmarks", "--quick", "--dsn", plain_dsn(chain.url), "--only",
        "latest_blocks,batch_tx_hashes", "--no-probes", "--no-chart", "--pool", str(POOL),
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "| latest 10 blocks | 10 |" in result.stdout
    assert "txs by hash, one call" in result.stdout
    data = json.loads((tmp_path / "report.json").read_text())
    assert [w["key"] for w in data["workloads"]] == ["latest_blocks", "batch_tx_hashes"]
    assert data["costs"]["import"]["repeats"] == 1


def test_benchmarks_command_rejects_bad_arguments():
    """Bad options exit with code 2 and say what is wrong."""
    result = run("-m", "benchmarks", "--txs", "none")
    assert result.returncode == 2
    assert "positive whole number" in result.stderr


def test_cli_bench_runs_the_core_workloads(chain, tmp_path):
    """`dbsync-core bench --quick --dsn` prints the core table and writes bench.md/bench.json."""
    result = run(
        "-m", "dbsync_core.cli", "bench", "--quick", "--rounds", "1", "--pool", str(POOL),
        "--dsn", plain_dsn(chain.url), "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for title in ("latest 10 blocks", "tx by hash (sequential)", "bulk fetch, 1,000 txs"):
        assert f"| {title} |" in result.stdout
    assert "Targets:" in result.stdout
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["environment"]["server"] == "dsn"
    assert (tmp_path / "bench.md").read_text() == result.stdout
