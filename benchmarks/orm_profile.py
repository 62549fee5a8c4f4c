"""Where the ORM's time goes, measured: ``python -m benchmarks.orm_profile --dsn …``.

Two shapes of the same bulk fetch (N transactions from the middle of the chain): ``select(Tx)``
alone (the shape of the earlier lab) and ``select(Tx)`` with ``joinedload(Tx.block)`` (what the
benchmark's ORM path runs, since a ``Tx`` record carries its block's fields). For each:

- a cProfile of repeated calls, its own time grouped into what the ORM does per row (creating
  instances and their state, running the loader, populating attributes, the identity map, load
  path checks), the driver (network, asyncpg's decoding) and the rest. cProfile inflates pure
  Python code against C code, so these are shares of a profiled run, not of the real one;
- the share of the cyclic garbage collector: the same call timed with the GC on and paused
  (interleaved, medians).

``python -m benchmarks`` runs this in a fresh interpreter for the full report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from benchmarks.orm import TxModel
from dbsync_core._bench import open_env, orm_session
from dbsync_core._pg import sqlalchemy_url

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from dbsync_core._bench import Env

__all__ = ["GROUPS", "breakdown", "main"]

#: (group, file part, function name or "*") in the order they are tried.
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("instances and their state", "orm/instrumentation.py", "*"),
    ("instances and their state", "orm/state.py", "__init__"),
    ("instances and their state", "~", "<built-in method __new__ of type object"),
    ("instances and their state", "<string>", "*"),
    ("populating attributes", "orm/loading.py", "_populate_full"),
    ("populating attributes", "orm/strategies.py", "*"),
    ("loader per row (_instance and chunks)", "orm/loading.py", "*"),
    ("identity map", "orm/identity.py", "*"),
    ("load path checks (PathRegistry)", "orm/path_registry.py", "*"),
    ("session close and expunge", "orm/session.py", "*"),
    ("session close and expunge", "orm/state.py", "*"),
    ("driver: network and asyncpg decoding", "asyncio/", "*"),
    ("driver: network and asyncpg decoding", "selectors.py", "*"),
    ("driver: network and asyncpg decoding", "asyncpg/", "*"),
    ("driver: network and asyncpg decoding", "~", "<method 'recv'"),
    ("driver: network and asyncpg decoding", "~", "<method 'send'"),
    ("driver: network and asyncpg decoding", "~", "<method 'poll'"),
    ("SQLAlchemy engine and result", "sqlalchemy/engine/", "*"),
    ("SQLAlchemy engine and result", "sqlalchemy/dialects/", "*"),
    ("SQLAlchemy engine and result", "sqlalchemy/ext/asyncio/", "*"),
    ("SQLAlchemy engine and result", "sqlalchemy/util/", "*"),
)


def _group(filename: str, function: str) -> str:
    for name, part, fn in GROUPS:
        if part == "~":
            if filename == "~" and function.startswith(fn):
                return name
        elif part in filename and fn in ("*", function):
            return name
    return "other"


def _calls(env: Env, rows: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    start = env.facts.min_tx_id - 1 + max(0, (env.facts.tx_span - rows) // 2)

    def fetch(joined: bool) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            async with orm_session(env) as session:
                stmt = select(TxModel).where(TxModel.id > start).order_by(TxModel.id).limit(rows)
                if joined:
                    stmt = stmt.options(joinedload(TxModel.block))
                return (await session.execute(stmt)).scalars().all()

        return call

    return {"tx": fetch(joined=False), "tx_with_block": fetch(joined=True)}


async def _gc_share(call: Callable[[], Awaitable[Any]], rounds: int) -> dict[str, float]:
    on: list[float] = []
    off: list[float] = []
    for _ in range(rounds):
        for paused in (False, True):
            gc.collect()
            if paused:
                gc.disable()
            started = time.perf_counter()
            try:
                await call()
            finally:
                gc.enable()
            (off if paused else on).append(time.perf_counter() - started)
    median_on, median_off = statistics.median(on), statistics.median(off)
    return {
        "gc_on_s": median_on,
        "gc_paused_s": median_off,
        "gc_share": max(0.0, 1 - median_off / median_on),
    }


def _profile_groups(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile)
    totals: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        group = _group(filename, function)
        totals[group] = totals.get(group, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return {name: value / whole for name, value in sorted(totals.items(), key=lambda x: -x[1])}


async def breakdown(env: Env, rows: int, *, calls: int = 5, rounds: int = 7) -> dict[str, Any]:
    """The grouped profile and the GC share of each shape, fetching ``rows`` transactions."""
    result: dict[str, Any] = {"rows": rows}
    for shape, call in _calls(env, rows).items():
        for _ in range(2):
            await call()
        profile = cProfile.Profile()
        gc.collect()
        profile.enable()
        for _ in range(calls):
            await call()
        profile.disable()
        result[shape] = {
            "profile_shares": _profile_groups(profile),
            **(await _gc_share(call, rounds)),
        }
    return result


def render(data: dict[str, Any]) -> str:
    """The breakdown as Markdown tables."""
    lines = []
    for key, entry in data.items():
        if key == "rows_checked":
            continue
        for shape in ("tx", "tx_with_block"):
            part = entry[shape]
            title = (
                f"ORM fetch of {entry['rows']:,} rows, `{shape}`: {part['gc_on_s'] * 1000:.0f} ms "
                f"with the GC on, {part['gc_paused_s'] * 1000:.0f} ms paused: the GC is "
                f"{part['gc_share']:.0%} of the time."
            )
            lines += [
                "",
                title,
                "",
                "| share of the profiled time | |",
                "|---|--:|",
            ]
            lines += [f"| {name} | {share:.0%} |" for name, share in part["profile_shares"].items()]
    return "\n".join(lines).strip() + "\n"


async def run(url: str, sizes: list[int]) -> dict[str, Any]:
    """The breakdown for each size on the database at ``url``."""
    async with contextlib.AsyncExitStack() as stack:
        env = await open_env(stack, sqlalchemy_url(url))
        data: dict[str, Any] = {}
        for rows in sizes:
            if env.facts.tx_span >= rows:
                data[f"rows_{rows}"] = await breakdown(env, rows, calls=max(1, 50_000 // rows))
        return data


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.orm_profile``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.orm_profile")
    parser.add_argument("--dsn", default=os.environ.get("DBSYNC_BENCH_URL"), required=False)
    parser.add_argument("--rows", default="10000,100000", help="comma-separated fetch sizes")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("--dsn (or DBSYNC_BENCH_URL) is required")
    sizes = [int(n) for n in args.rows.split(",")]
    data = asyncio.run(run(args.dsn, sizes))
    sys.stdout.write(json.dumps(data) + "\n" if args.json else render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
