"""``python -m benchmarks``: the full suite, three implementations per workload, one report.

By default it starts an embedded PostgreSQL with its data in ``benchmarks/.cache/`` and loads a
synthetic chain there once (reused by later runs with the same size and seed). ``--dsn`` runs
read-only against any db-sync database; ``--dsn-seed`` loads the chain into an empty database of
yours first. The Markdown table goes to stdout; ``report.md``, ``report.json`` and (with
matplotlib) ``report.png`` go to ``benchmarks/results/`` or ``--out``. Exit codes: 0 done,
1 the correctness gate failed (or another error), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from benchmarks import report as report_files
from benchmarks import suite
from dbsync_core import _bench
from dbsync_core._bench import (
    CORE,
    FLOOR,
    ORM,
    GateError,
    Settings,
    build_report,
    chain_description,
    environment,
    footprint,
    import_cost,
    open_env,
    prepare_chain,
    render_markdown,
    run_probe,
    run_workloads,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import URL

    from dbsync_core._bench import ChainFacts, Env

HERE = Path(__file__).resolve().parent
FULL_TXS = 1_000_000
QUICK_TXS = 10_000


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r  {done:>10,} / {total:,} txs")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        msg = f"expected a positive whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"expected a positive whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="dbsync_core against raw asyncpg and the SQLAlchemy ORM, on one database.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--dsn", help="run read-only against this db-sync database")
    where.add_argument("--dsn-seed", help="load the synthetic chain into this empty database")
    p.add_argument("--quick", action="store_true", help="small chain, few rounds (CI: < 1 min)")
    p.add_argument("--txs", type=_positive, help=f"chain size (default {FULL_TXS:,}; quick "
                   f"{QUICK_TXS:,})")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="chain seed (default 0)")
    p.add_argument("--rounds", type=_positive, help="timed rounds per workload")
    p.add_argument("--pool", type=_positive, default=10, help="pool size, concurrent lookups")
    p.add_argument("--only", help="comma-separated workload keys (or parts of them) to run")
    p.add_argument("--no-probes", action="store_true", help="skip memory and cold-start probes")
    p.add_argument("--no-chart", action="store_true", help="do not draw report.png")
    p.add_argument("--heavy-address", help="the heavy address (default: found in the data)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="report directory")
    p.add_argument("--cache", type=Path, default=HERE / ".cache", help="embedded server cache")
    return p


async def _database(
    args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[URL, dict[str, Any] | None, str]:
    from dbsync_core._pg import embedded_server, sqlalchemy_url  # noqa: PLC0415
    from dbsync_core.synth import ChainConfig, Variant, seed_database  # noqa: PLC0415

    if args.dsn:
        return sqlalchemy_url(args.dsn), None, "dsn"
    if args.dsn_seed:
        url = sqlalchemy_url(args.dsn_seed)
        config = ChainConfig(
            txs=args.txs, seed=args.seed, epochs=_bench.bench_epochs(args.txs), truth=False
        )
        log(f"loading a synthetic chain of {args.txs:,} txs into {url.database} ...")
        seeded = await seed_database(url, config, Variant(), progress=_progress)
        info = {
            "name": url.database,
            "txs": args.txs,
            "seed": args.seed,
            "epochs": config.total_epochs,
            "variant": seeded.variant.name,
            "rows": seeded.total_rows,
            "load_seconds": seeded.seconds,
            "heavy_address": seeded.heavy_address,
        }
        return url, info, "dsn"
    log("starting the embedded PostgreSQL ...")
    args.cache.mkdir(parents=True, exist_ok=True)
    server = stack.enter_context(embedded_server(args.cache / "pgdata", keep=True))
    url, info = await prepare_chain(
        server, txs=args.txs, seed=args.seed, cache=args.cache, log=log, progress=_progress
    )
    return url, info, "embedded"


def _probes(
    url: URL, facts: ChainFacts, pairs: Sequence[tuple[Any, suite.WorkloadRef]], quick: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    by_key = {w.key: ref for w, ref in pairs}
    bulks = sorted((k for k in by_key if k.startswith("bulk_")), key=lambda k: int(k[5:]))
    memory: dict[str, Any] = {}
    for key, modes in suite.MEMORY:
        if key == "bulk_largest":
            if not bulks:
                continue
            key = bulks[-1]  # noqa: PLW2901
        if key not in by_key:
            continue
        ref = by_key[key]
        for path in (FLOOR, CORE, ORM):
            entry = memory.setdefault(key, {}).setdefault(path, {})
            for mode in modes:
                if quick and mode == "tracemalloc":
                    continue
                log(f"memory  {key} {path} ({mode})")
                entry.update(run_probe(url, facts, ref[0], ref[1], path=path, mode=mode))
    cold: dict[str, Any] = {"workload": "tx by hash", "paths": {}}
    for path in (FLOOR, CORE, ORM):
        log(f"cold    tx_by_hash {path}")
        cold["paths"][path] = run_probe(
            url, facts, suite.COLD[0], suite.COLD[1], path=path, mode="cold"
        )
    return memory, cold


def _orm_breakdown(url: URL) -> dict[str, Any]:
    env = dict(os.environ)
    env["DBSYNC_BENCH_URL"] = url.render_as_string(hide_password=False)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.orm_profile", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=1800,
    )
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


async def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """The whole run; returns the exit code."""
    settings = Settings.for_quick() if args.quick else Settings()
    if args.rounds:
        settings = attrs.evolve(settings, rounds=args.rounds)
    only = {w.strip() for w in args.only.split(",")} if args.only else None
    command = shlex.join(["python", "-m", "benchmarks", *argv])
    with contextlib.ExitStack() as stack:
        url, info, kind = await _database(args, stack)
        async with contextlib.AsyncExitStack() as astack:
            heavy = args.heavy_address or (info or {}).get("heavy_address")
            env: Env = await open_env(astack, url, heavy_address=heavy)
            env.pool_size = args.pool
            env_info = environment(env)
            env_info["server"] = kind
            pairs, skipped = suite.build(env, only)
            log(f"{len(pairs)} workloads on {chain_description(info, env)['description']}")
            started = time.perf_counter()
            try:
                results = await run_workloads([w for w, _ in pairs], settings, log)
            except GateError as error:
                log(f"CORRECTNESS GATE FAILED: {error}")
                return 1
            log(f"timed in {time.perf_counter() - started:.0f} s")
            facts = env.facts
            chain = chain_description(info, env)
        memory: dict[str, Any] = {}
        costs: dict[str, Any] = {}
        if not args.no_probes:
            memory, costs["cold"] = _probes(url, facts, pairs, args.quick)
        if not args.quick and not args.no_probes:
            log("where the ORM's time goes (profile and GC share, fresh interpreter)")
            costs["orm_breakdown"] = _orm_breakdown(url)
        log("import time and footprint")
        costs["import"] = import_cost(1 if args.quick else 21)
        costs["footprint"] = footprint()
        env_info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        report = build_report(
            results,
            env=env,
            settings=settings,
            chain=chain,
            memory=memory,
            costs=costs,
            skipped=skipped,
            command=command,
            environment_info=env_info,
        )
    sys.stdout.write(render_markdown(report))
    written, note = report_files.write_report(report, args.out, chart=not args.no_chart)
    if note:
        log(note)
    log("wrote " + ", ".join(str(p) for p in written))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks``."""
    warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.txs is None:
        args.txs = QUICK_TXS if args.quick else FULL_TXS
    return asyncio.run(run(args, argv))


if __name__ == "__main__":
    sys.exit(main())
