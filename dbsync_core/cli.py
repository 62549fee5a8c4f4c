"""The ``dbsync-core`` command.

- ``demo``: needs nothing but this package and its ``embedded`` extra. It starts an embedded
  PostgreSQL (or uses ``--dsn``), loads a synthetic db-sync chain into a fresh database and
  prints what it built.
- ``seed``: loads a synthetic chain (any size, any db-sync variant) into an empty database.
- ``bench``: the core benchmark workloads, each run three ways (raw asyncpg on the same SQL,
  dbsync_core, the SQLAlchemy ORM), against ``--dsn`` or an embedded PostgreSQL.

Exit codes: 0 success, 1 the operation failed (e.g. the database is not empty), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import warnings
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import URL

    from dbsync_core.synth import SeedReport

__all__ = ["main"]

DEMO_TXS = 50_000
BENCH_TXS = 100_000


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        msg = f"expected a positive whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1 or value > 20_000_000:
        msg = f"expected 1 to 20,000,000, got {value:,}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _add_chain_options(parser: argparse.ArgumentParser, *, txs: int) -> None:
    parser.add_argument(
        "--txs", type=_positive_int, default=txs, help=f"transactions (default {txs:,})"
    )
    parser.add_argument("--seed", type=_int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--tx-out-layout",
        choices=("core", "address"),
        default="core",
        help="tx_out layout: core (default) or the address table",
    )
    parser.add_argument(
        "--spent",
        choices=("tx_in", "consumed", "prune"),
        default="tx_in",
        help="spent tracking: tx_in rows (default), consumed_by_tx_id, or prune",
    )
    parser.add_argument(
        "--no-near-tip-indexes",
        action="store_true",
        help="leave out the indexes db-sync builds near the tip (a database still syncing)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbsync-core", description="Read a cardano-db-sync database from Python."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="load a synthetic db-sync chain into an embedded PostgreSQL and show it",
        description=(
            "Start an embedded PostgreSQL (or use --dsn / DBSYNC_DSN, a server where a "
            "database may be created), load a synthetic db-sync chain into a fresh database "
            "and print what it built. The database is dropped at the end unless --keep."
        ),
    )
    demo.add_argument("--dsn", default=os.environ.get("DBSYNC_DSN"), help="server to use")
    demo.add_argument(
        "--pgdata", type=Path, help="keep the embedded server's data here (fast restarts)"
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo database")
    _add_chain_options(demo, txs=DEMO_TXS)

    seed = sub.add_parser(
        "seed",
        help="load a synthetic db-sync chain into an empty database",
        description=(
            "Create the db-sync schema in the (empty) database at --dsn and load a synthetic "
            "chain into it. A database that already holds tables is refused, never touched."
        ),
    )
    seed.add_argument("--dsn", required=True, help="postgresql://… of the empty database to fill")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_chain_options(seed, txs=10_000)

    check = sub.add_parser(
        "check",
        help="compare a live database with the library's view of db-sync's schema",
        description=(
            "Detect the db-sync variant and schema version of the database at --dsn, list "
            "missing near-tip indexes and every difference between the live schema and the "
            "library's tables. Exit code 1 if something the queries need is missing."
        ),
    )
    check.add_argument("--dsn", default=os.environ.get("DBSYNC_DSN"), required=False)
    check.add_argument("--all", action="store_true", help="also list harmless differences")

    indexes = sub.add_parser(
        "indexes",
        help="the extra indexes the catalogue needs, as SQL, marking those already present",
        description=(
            "Print the indexes dbsync_core recommends beyond db-sync's own for the database's "
            "variant, as SQL a DBA can run (CREATE INDEX CONCURRENTLY IF NOT EXISTS ...); those "
            "already present are commented out. --missing prints only the missing ones."
        ),
    )
    indexes.add_argument("--dsn", default=os.environ.get("DBSYNC_DSN"))
    indexes.add_argument("--missing", action="store_true", help="only the missing indexes")

    explain = sub.add_parser(
        "explain",
        help="show PostgreSQL's plan for a catalogue query",
        description=(
            "EXPLAIN a catalogue builder, named as module.function (e.g. txs.tx_by_hash, "
            "addresses.address_utxos), with its arguments; ints are passed as ints, values with "
            "commas as lists. The database's layout is passed to builders that take one."
        ),
    )
    explain.add_argument("query", help="module.builder, e.g. txs.tx_by_hash")
    explain.add_argument("args", nargs="*", help="the builder's positional arguments")
    explain.add_argument("--dsn", default=os.environ.get("DBSYNC_DSN"))
    explain.add_argument("--analyze", action="store_true", help="run it (EXPLAIN ANALYZE)")

    bench = sub.add_parser(
        "bench",
        help="benchmark dbsync_core against raw asyncpg and the SQLAlchemy ORM",
        description=(
            "Run the core workloads three ways on one database (raw asyncpg on the SQL "
            "dbsync_core emits, dbsync_core, the SQLAlchemy ORM), check that all three return "
            "the same answers, and print the timings and ratios. Reads --dsn (a db-sync "
            "database, read only), or loads a synthetic chain into an embedded PostgreSQL."
        ),
    )
    bench.add_argument("--dsn", help="the db-sync database to read (default: embedded)")
    bench.add_argument(
        "--txs", type=_positive_int, default=BENCH_TXS, help=f"chain size (default {BENCH_TXS:,})"
    )
    bench.add_argument("--seed", type=_int, default=0, help="chain seed (default 0)")
    bench.add_argument("--quick", action="store_true", help="few, short rounds (seconds)")
    bench.add_argument("--rounds", type=_positive_int, help="timed rounds per workload")
    bench.add_argument(
        "--pool", type=_positive_int, default=10, help="pool size of the concurrent lookups"
    )
    bench.add_argument("--out", type=Path, help="also write bench.md and bench.json here")
    bench.add_argument(
        "--cache", type=Path, help="keep the embedded server and its chain here (fast reruns)"
    )
    return parser


def _need_dsn(args: argparse.Namespace, parser_name: str) -> str:
    if not args.dsn:
        print(f"dbsync-core {parser_name}: --dsn (or DBSYNC_DSN) is required", file=sys.stderr)
        raise SystemExit(2)
    return str(args.dsn)


async def _check(args: argparse.Namespace) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from dbsync_core._pg import sqlalchemy_url  # noqa: PLC0415
    from dbsync_core.diagnostics import check_schema  # noqa: PLC0415
    from dbsync_core.exceptions import UnsupportedSchemaError  # noqa: PLC0415

    engine = create_async_engine(sqlalchemy_url(_need_dsn(args, "check")))
    try:
        async with engine.connect() as conn:
            try:
                report = await check_schema(conn)
            except UnsupportedSchemaError as exc:
                print(f"dbsync-core check: {exc}", file=sys.stderr)
                return 1
    finally:
        await engine.dispose()
    layout = report.layout
    print(f"schema version   {'.'.join(map(str, layout.schema_version))}")
    print(f"tx_out layout    {'address table' if layout.address_table else 'core'}")
    print(f"spent tracking   {layout.spent}")
    epoch = "view" if layout.epoch_view else "table"
    print(f"epoch            {epoch}, {'kept' if layout.epoch_enabled else 'not kept'}")
    print(
        f"near-tip indexes {'present' if layout.near_tip_indexes else 'missing (still syncing?)'}"
    )
    print(f"checked          {report.tables_checked} tables, {report.columns_checked} columns")
    shown = [f for f in report.findings if args.all or f.severity != "info"]
    if shown:
        width = max(len(f.table) for f in shown)
        print(f"\n{'severity':<8}  {'table':<{width}}  finding")
        for f in shown:
            print(f"{f.severity:<8}  {f.table:<{width}}  {f.what}")
    hidden = len(report.findings) - len(shown)
    summary = (
        f"\n{report.count('error')} errors, {report.count('warning')} warnings, "
        f"{report.count('info')} notes{f' ({hidden} not shown; --all)' if hidden else ''}"
    )
    print(summary)
    print("compatible" if report.compatible else "NOT compatible: queries will fail")
    return 0 if report.compatible else 1


async def _indexes(args: argparse.Namespace) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from dbsync_core._pg import sqlalchemy_url  # noqa: PLC0415
    from dbsync_core.exceptions import UnsupportedSchemaError  # noqa: PLC0415
    from dbsync_core.indexes import fetch_missing_indexes, recommended_indexes  # noqa: PLC0415
    from dbsync_core.layout import layout_of  # noqa: PLC0415

    engine = create_async_engine(sqlalchemy_url(_need_dsn(args, "indexes")))
    try:
        async with engine.connect() as conn:
            try:
                layout = await layout_of(conn)
            except UnsupportedSchemaError as exc:
                print(f"dbsync-core indexes: {exc}", file=sys.stderr)
                return 1
            missing = {a.name for a in await fetch_missing_indexes(conn)}
    finally:
        await engine.dispose()
    wanted = recommended_indexes(layout)
    variant = f"{'address-table' if layout.address_table else 'core'} tx_out, {layout.spent}"
    print(f"-- dbsync_core recommended indexes for this database ({variant})")
    print(f"-- {len(wanted)} recommended, {len(missing)} missing; run each outside a transaction")
    for advice in wanted:
        if args.missing and advice.name not in missing:
            continue
        print(f"\n-- {advice.reason}\n-- serves: {', '.join(advice.serves)}")
        if advice.name in missing:
            print(advice.sql + ";")
        else:
            print(f"-- present: {advice.sql};")
    return 0


def _explain_arg(text: str) -> object:
    if "," in text:
        return [_explain_arg(part) for part in text.split(",") if part]
    return int(text) if text.lstrip("-").isdigit() else text


async def _explain(args: argparse.Namespace) -> int:
    import importlib  # noqa: PLC0415
    import inspect  # noqa: PLC0415

    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from dbsync_core._pg import sqlalchemy_url  # noqa: PLC0415
    from dbsync_core.diagnostics import explain  # noqa: PLC0415
    from dbsync_core.exceptions import DbsyncError  # noqa: PLC0415
    from dbsync_core.layout import layout_of  # noqa: PLC0415

    dsn = _need_dsn(args, "explain")
    module_name, _, name = args.query.partition(".")
    allowed = {"blocks", "txs", "addresses", "epochs", "accounts", "pools", "assets",
               "scripts", "governance", "totals"}  # fmt: skip
    builder = None
    if module_name in allowed and name and not name.startswith(("_", "fetch")):
        try:
            module = importlib.import_module(f"dbsync_core.{module_name}")
        except ImportError:
            module = None
        builder = getattr(module, name, None) if name in getattr(module, "__all__", ()) else None
    if builder is None:
        print(
            f"dbsync-core explain: unknown query {args.query!r} (module.builder)", file=sys.stderr
        )
        return 2
    values = [_explain_arg(a) for a in args.args]
    engine = create_async_engine(sqlalchemy_url(dsn))
    try:
        async with engine.connect() as conn:
            kwargs: dict[str, object] = {}
            if "layout" in inspect.signature(builder).parameters:
                kwargs["layout"] = await layout_of(conn)
            try:
                query = builder(*values, **kwargs)
            except (DbsyncError, TypeError) as exc:
                print(f"dbsync-core explain: {exc}", file=sys.stderr)
                return 2
            print(await explain(conn, query, analyze=args.analyze))
    finally:
        await engine.dispose()
    return 0


def _config(args: argparse.Namespace) -> tuple[Any, Any]:
    from dbsync_core.synth import ChainConfig, Variant  # noqa: PLC0415

    config = ChainConfig(txs=args.txs, seed=args.seed, truth=False)
    variant = Variant(
        address_table=args.tx_out_layout == "address",
        spent=args.spent,
        near_tip_indexes=not args.no_near_tip_indexes,
    )
    return config, variant


class _Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal, unless forced)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // max(total, 1)
        elapsed = time.perf_counter() - self.started
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r  [{bar}] {done:>10,} / {total:,} txs  {elapsed:6.1f} s")
        sys.stderr.flush()
        if done >= total:
            sys.stderr.write("\n")


async def _heavy_stats(url: URL, report: SeedReport) -> tuple[int, int]:
    """(unspent outputs, txs) of the heaviest address, read back with SQL."""
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    variant = report.variant
    if variant.address_table:
        outputs = "tx_out o JOIN address a ON a.id = o.address_id WHERE a.address = :addr"
    else:
        outputs = "tx_out o WHERE o.address = :addr"
    if variant.spent == "tx_in":
        unspent = (
            "NOT EXISTS (SELECT 1 FROM tx_in i WHERE i.tx_out_id = o.tx_id "
            "AND i.tx_out_index = o.index)"
        )
        spenders = (
            "SELECT i.tx_in_id FROM tx_in i JOIN (SELECT o.tx_id, o.index FROM "  # noqa: S608
            f"{outputs}) x ON i.tx_out_id = x.tx_id AND i.tx_out_index = x.index"
        )
    else:
        unspent = "o.consumed_by_tx_id IS NULL"
        spenders = (
            f"SELECT o.consumed_by_tx_id FROM {outputs} "  # noqa: S608
            "AND o.consumed_by_tx_id IS NOT NULL"
        )
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            utxos = await conn.scalar(
                text(f"SELECT count(*) FROM {outputs} AND {unspent}"),  # noqa: S608
                {"addr": report.heavy_address},
            )
            txs = await conn.scalar(
                text(
                    f"SELECT count(*) FROM (SELECT o.tx_id FROM {outputs} "  # noqa: S608
                    f"UNION {spenders}) t"
                ),
                {"addr": report.heavy_address},
            )
    finally:
        await engine.dispose()
    return int(utxos or 0), int(txs or 0)


async def _print_report(url: URL, report: SeedReport) -> None:
    rows = report.rows
    print(
        f"loaded {report.config.txs:,} txs (seed {report.config.seed}, variant "
        f"{report.variant.name}) in {report.seconds:.1f} s "
        f"(data {report.load_seconds:.1f} s, indexes {report.index_seconds:.1f} s)"
    )
    print(f"  {report.total_rows:,} rows in {len(rows)} tables; the largest:")
    for table, n in sorted(rows.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {table:<22} {n:>12,}")
    utxos, txs = await _heavy_stats(url, report)
    print(f"  heaviest address: {utxos:,} unspent outputs, in {txs:,} txs")
    print(f"    {report.heavy_address}")


async def _seed(args: argparse.Namespace) -> int:
    from dbsync_core._pg import sqlalchemy_url  # noqa: PLC0415
    from dbsync_core.exceptions import DbsyncError  # noqa: PLC0415
    from dbsync_core.synth import seed_database  # noqa: PLC0415

    config, variant = _config(args)
    url = sqlalchemy_url(args.dsn)
    try:
        report = await seed_database(
            url, config, variant, progress=_Progress(enabled=not args.quiet)
        )
    except DbsyncError as exc:
        print(f"dbsync-core seed: {exc}", file=sys.stderr)
        return 1
    await _print_report(url, report)
    return 0


async def _demo(args: argparse.Namespace) -> int:
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from dbsync_core._pg import (  # noqa: PLC0415
        PgServer,
        create_database,
        drop_database,
        embedded_server,
        sqlalchemy_url,
        unique_database_name,
    )
    from dbsync_core.synth import seed_database  # noqa: PLC0415

    config, variant = _config(args)
    with ExitStack() as stack:
        if args.dsn:
            server = PgServer("dsn", sqlalchemy_url(args.dsn))
        else:
            if args.pgdata:
                datadir = args.pgdata
            else:
                datadir = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "pgdata"
            print("starting an embedded PostgreSQL ...", flush=True)
            server = stack.enter_context(embedded_server(datadir, keep=args.pgdata is not None))
        name = unique_database_name("dbsync_demo")
        await create_database(server.url, name)
        url = server.database_url(name)
        async with AsyncExitStack() as astack:
            if not args.keep:
                astack.push_async_callback(drop_database, server.url, name)
            engine = create_async_engine(url)
            astack.push_async_callback(engine.dispose)
            async with engine.connect() as conn:
                version = await conn.scalar(text("SHOW server_version"))
            print(f"PostgreSQL {version} ({server.kind}), database {name}")
            print(f"loading a synthetic db-sync chain (schema 15/51/6) of {config.txs:,} txs ...")
            report = await seed_database(
                url, config, variant, progress=_Progress(enabled=sys.stderr.isatty())
            )
            await _print_report(url, report)
            from dbsync_core._tour import run_tour  # noqa: PLC0415

            await run_tour(url, report.heavy_address)
            await _print_quick_bench(url)
            if args.keep:
                print(f"kept: {url.render_as_string(hide_password=True)}")
    return 0


async def _print_quick_bench(url: URL) -> None:
    """The demo's last words: the quick benchmark table, on the demo's database."""
    from dbsync_core._bench import quick_table  # noqa: PLC0415

    print()
    print("quick benchmark: the same queries through raw asyncpg, dbsync_core and the ORM")
    print("(a few short rounds; `dbsync-core bench` measures properly):")
    print()
    print(await quick_table(url), end="")


async def _bench(args: argparse.Namespace) -> int:
    from dbsync_core._bench import GateError, bench_command, render_markdown  # noqa: PLC0415

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        report = await bench_command(
            dsn=args.dsn,
            txs=args.txs,
            seed=args.seed,
            quick=args.quick,
            rounds=args.rounds,
            pool=args.pool,
            out=args.out,
            cache=args.cache,
            log=log,
        )
    except GateError as exc:
        print(f"dbsync-core bench: correctness gate failed: {exc}", file=sys.stderr)
        return 1
    print(render_markdown(report), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dbsync-core`` console script."""
    # The embedded server's helper warns at exit when XDG_RUNTIME_DIR is unset (CI, containers).
    warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set")
    args = _parser().parse_args(argv)
    commands = {
        "demo": _demo,
        "seed": _seed,
        "check": _check,
        "explain": _explain,
        "indexes": _indexes,
        "bench": _bench,
    }
    command = commands.get(args.command)
    if command is not None:
        return asyncio.run(command(args))
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
