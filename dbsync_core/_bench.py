"""Benchmarks: each workload run three ways on one database in one process, and compared.

- **floor**: raw asyncpg running the SQL text dbsync_core emits (the statement compiled for the
  asyncpg dialect, positional ``$n`` parameters), returning asyncpg ``Record`` objects, with the
  same ``numeric`` → ``int`` codec the library installs (so both decode the same values);
- **dbsync_core**: the public API, returning frozen attrs records;
- **orm**: SQLAlchemy ORM classes mapped onto the same ``Table`` objects, used as ORM users
  write it (``AsyncSession`` per call, ``select(Model)``, eager loading, ``yield_per``).

Before any timing every workload runs once per path and the normalised answers must be equal (the
correctness gate). Timing then runs interleaved rounds (the order of the paths shuffled each
round), after a warm-up, with the cyclic GC on and collected before each sample; the report gives
medians, quartiles and extremes, and the ratios. Memory, cold-start and import costs are measured
in fresh subprocesses. ``benchmarks/`` in the source tree adds the full suite; ``dbsync-core
bench`` and ``dbsync-core demo`` run the core workloads defined here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import asyncpg
import attrs
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    configure_mappers,
    foreign,
    joinedload,
    relationship,
    selectinload,
)

import dbsync_core
from dbsync_core import Query, decode_numeric, detect_layout, fetch_all
from dbsync_core._exec import _build
from dbsync_core._pg import asyncpg_dsn, create_database, drop_database, sqlalchemy_url
from dbsync_core.blocks import fetch_latest_blocks, latest_blocks
from dbsync_core.epochs import epoch_stats, fetch_epoch_stats
from dbsync_core.records import Tx
from dbsync_core.runtime import create_engine
from dbsync_core.schema import block, pool_hash, slot_leader, tx
from dbsync_core.txs import (
    BY_TX_ID,
    block_with_txs,
    fetch_block_with_txs,
    fetch_tx,
    tx_by_hash,
    tx_maker,
    tx_select,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Dialect

    from dbsync_core._pg import PgServer
    from dbsync_core.layout import Layout

__all__ = [
    "CORE",
    "FLOOR",
    "ORM",
    "ChainFacts",
    "Env",
    "GateError",
    "Impl",
    "Settings",
    "Workload",
    "build_report",
    "core_workloads",
    "floor_sql",
    "open_env",
    "render_markdown",
    "run_workloads",
]

FLOOR = "floor"
CORE = "dbsync_core"
ORM = "orm"
MAIN_PATHS = (FLOOR, CORE, ORM)

#: How the paths are named in reports.
LABELS = {
    FLOOR: "raw asyncpg (floor)",
    CORE: "dbsync_core",
    ORM: "SQLAlchemy ORM",
    "floor+builder": "floor + dbsync_core's record builder",
    "floor/default-codecs": "raw asyncpg, default codecs (numeric → Decimal)",
    "floor/pool-no-reset": "raw asyncpg pool without its reset query on release",
    "orm/autocommit": "ORM on an AUTOCOMMIT engine (no BEGIN/ROLLBACK)",
}

#: The JSON report's schema tag.
REPORT_SCHEMA = "dbsync_core.bench/1"

Call = Callable[[], Awaitable[Any]]
Log = Callable[[str], None]


class GateError(RuntimeError):
    """The paths of a workload disagree: the run stops before any timing."""


# ---------------------------------------------------------------------------------------------
# Settings, workloads, results
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class Settings:
    """How hard to measure: rounds, warm-up calls, target duration of one timed sample."""

    #: Many short rounds rather than a few long ones: on a shared machine, load comes and goes,
    #: and the paths of a round are timed close together.
    rounds: int = 15
    #: Warm-up calls per path, and more (up to the steady state) while within the budget.
    warmup: int = 2
    warmup_seconds: float = 15.0
    sample_seconds: float = 0.05
    max_inner: int = 3000
    quick: bool = False

    @classmethod
    def for_quick(cls) -> Settings:
        """Few, short rounds: the gate and a table in seconds, figures not representative."""
        return cls(
            rounds=3, warmup=1, warmup_seconds=0.1, sample_seconds=0.02, max_inner=300, quick=True
        )


@attrs.frozen
class Impl:
    """One way of running a workload: the call, and how to make its answer comparable."""

    call: Call
    normalise: Callable[[Any], Any]
    #: A context path (e.g. "floor + the same builder"): reported, not one of the three.
    context: bool = False


@attrs.frozen
class Workload:
    """A named piece of work with one :class:`Impl` per implementation."""

    key: str
    title: str
    paths: Mapping[str, Impl]
    #: Operations per call (lookups per concurrent batch); rows come from the gate's answer.
    ops: int = 1
    kind: Literal["latency", "throughput"] = "latency"
    #: At most this many timed rounds (long workloads), and warm-up calls (None: the setting's).
    max_rounds: int | None = None
    warmup: int | None = None
    note: str = ""
    #: The rows of an answer that is not a list of rows (e.g. a stream's summary).
    count: Callable[[Any], int] | None = None


@attrs.frozen
class Stats:
    """Seconds per call over the timed samples of one path."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        """Summary statistics of ``samples``."""
        ordered = sorted(samples)
        if len(ordered) >= 2:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        else:
            q1 = q3 = ordered[0]
        return cls(statistics.median(ordered), q1, q3, ordered[0], ordered[-1], tuple(samples))


@attrs.frozen
class WorkloadResult:
    """What one workload measured."""

    workload: Workload
    rows: int | None
    inner: int
    rounds: int
    stats: Mapping[str, Stats]
    #: Median over rounds of the per-round ratio path ÷ floor (paths timed side by side).
    paired: Mapping[str, float]


# ---------------------------------------------------------------------------------------------
# The correctness gate
# ---------------------------------------------------------------------------------------------


def plain(value: Any) -> Any:  # noqa: PLR0911  (one flat dispatch on the value's type)
    """A comparable form of an answer: tuples all the way down, integral Decimals as int,
    naive timestamps (db-sync stores UTC) as aware ones, floats to 12 significant digits."""
    if value is None or isinstance(value, bool | int | str | bytes):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, asyncpg.Record | list | tuple):
        return tuple(plain(item) for item in value)
    if attrs.has(type(value)):
        return tuple(plain(getattr(value, f.name)) for f in attrs.fields(type(value)))
    return value


def _first_difference(a: Any, b: Any) -> str:
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            return f"{len(a)} items against {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return f"item {index}: " + _first_difference(x, y)
    return f"{_short(a)} != {_short(b)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


async def gate(workload: Workload) -> tuple[int | None, dict[str, Any]]:
    """Run every path once; raise :class:`GateError` unless all answers equal the floor's.

    Returns the rows the floor's SQL returned (None for throughput workloads) and the answers.
    """
    answers: dict[str, Any] = {}
    rows: int | None = None
    for name, path in workload.paths.items():
        raw = await path.call()
        if name == FLOOR and workload.kind == "latency":
            if workload.count is not None:
                rows = workload.count(raw)
            else:
                rows = len(raw) if isinstance(raw, list) else int(raw is not None)
        answers[name] = path.normalise(raw)
    reference = answers[FLOOR]
    if not reference:
        msg = f"{workload.title}: the floor found nothing; the workload's parameters are wrong"
        raise GateError(msg)
    for name, answer in answers.items():
        if answer != reference:
            msg = (
                f"{workload.title}: {LABELS.get(name, name)} returned a different answer from "
                f"the floor ({_first_difference(answer, reference)})"
            )
            raise GateError(msg)
    return rows, answers


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


async def _timed(call: Call, inner: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(inner):
        await call()
    return (time.perf_counter() - started) / inner


#: PostgreSQL plans a prepared statement for its parameters five times, then may switch to a
#: generic plan: the warm-up reaches the steady state (the gate's call counts as the first).
STEADY_STATE_CALLS = 6


async def _warm_up(call: Call, calls: int, budget: float) -> None:
    started = time.perf_counter()
    for done in itertools.count():
        if done >= calls and (
            done >= STEADY_STATE_CALLS - 1 or time.perf_counter() - started > budget
        ):
            return
        await call()


async def _one_call(call: Call) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def measure(workload: Workload, settings: Settings) -> tuple[int, int, dict[str, Stats]]:
    """Warm up, calibrate the calls per sample on the floor, then time interleaved rounds."""
    names = list(workload.paths)
    if workload.warmup is None:
        for name in names:
            await _warm_up(workload.paths[name].call, settings.warmup, settings.warmup_seconds)
    else:
        for name in names:
            for _ in range(workload.warmup):
                await workload.paths[name].call()
    floor = workload.paths[FLOOR].call
    once = statistics.median([await _one_call(floor) for _ in range(3)])
    inner = max(1, min(settings.max_inner, round(settings.sample_seconds / max(once, 1e-9))))
    rounds = settings.rounds
    if workload.max_rounds is not None:
        rounds = min(rounds, workload.max_rounds)
    samples: dict[str, list[float]] = {name: [] for name in names}
    shuffler = random.Random(workload.key)  # noqa: S311  (an order, not a secret)
    for _ in range(rounds):
        order = names.copy()
        shuffler.shuffle(order)
        for name in order:
            samples[name].append(await _timed(workload.paths[name].call, inner))
    return inner, rounds, {name: Stats.of(values) for name, values in samples.items()}


async def run_workloads(
    workloads: Sequence[Workload], settings: Settings, log: Log
) -> list[WorkloadResult]:
    """Gate every workload (a mismatch stops the run before any timing), then time them."""
    rows: dict[str, int | None] = {}
    for workload in workloads:
        log(f"gate    {workload.title}")
        rows[workload.key], _ = await gate(workload)
    results = []
    for workload in workloads:
        log(f"timing  {workload.title}")
        inner, rounds, stats = await measure(workload, settings)
        floor = stats[FLOOR].samples
        paired = {
            name: statistics.median(a / b for a, b in zip(s.samples, floor, strict=True))
            for name, s in stats.items()
        }
        results.append(WorkloadResult(workload, rows[workload.key], inner, rounds, stats, paired))
    return results


# ---------------------------------------------------------------------------------------------
# The database under test: connections and the facts the workloads need
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class ChainFacts:
    """Parameters of the workloads, read from the database once (or given by the loader)."""

    min_tx_id: int
    max_tx_id: int
    tx_hashes: tuple[bytes, ...]
    block_hash: bytes
    block_txs: int
    epoch_no: int
    epoch_txs: int
    heavy_address: str
    light_address: str
    addresses: tuple[str, ...]

    @property
    def tx_span(self) -> int:
        """Transactions between the first and the last id (the chain's size)."""
        return self.max_tx_id - self.min_tx_id + 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (hashes as hex)."""
        data = attrs.asdict(self)
        data["tx_hashes"] = [h.hex() for h in self.tx_hashes]
        data["block_hash"] = self.block_hash.hex()
        data["addresses"] = list(self.addresses)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChainFacts:
        """The inverse of :meth:`to_json`."""
        values = dict(data)
        values["tx_hashes"] = tuple(bytes.fromhex(h) for h in values["tx_hashes"])
        values["block_hash"] = bytes.fromhex(values["block_hash"])
        values["addresses"] = tuple(values["addresses"])
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        """What the report shows of the facts."""
        return {
            "tx_ids": [self.min_tx_id, self.max_tx_id],
            "sample_tx_hashes": len(self.tx_hashes),
            "block_hash": self.block_hash.hex(),
            "block_txs": self.block_txs,
            "epoch_no": self.epoch_no,
            "epoch_txs": self.epoch_txs,
            "heavy_address": self.heavy_address,
            "light_address": self.light_address,
            "batch_addresses": len(self.addresses),
        }


_OUTPUT_SAMPLE = 50_000


async def discover_facts(
    conn: Any, layout: Layout, *, heavy_address: str | None = None
) -> ChainFacts:
    """Pick the workloads' parameters with cheap, index-backed queries (also on a real db-sync).

    Addresses come from a sample of the newest outputs: the heavy one is the most frequent there
    (unless given), the light one appears once, the batch is 1,000 distinct Shelley addresses.
    """
    low, high = await conn.fetchrow("SELECT min(id), max(id) FROM tx")
    if low is None:
        msg = "the database holds no transactions"
        raise GateError(msg)
    step = max(1, (high - low) // 1500)
    ids = list(range(low, high + 1, step))
    hashes = [r[0] for r in await conn.fetch("SELECT hash FROM tx WHERE id = ANY($1)", ids)]
    random.Random(0).shuffle(hashes)  # noqa: S311
    max_block = await conn.fetchval("SELECT max(id) FROM block")
    block_row = await conn.fetchrow(
        "SELECT hash, tx_count FROM block WHERE id > $1 ORDER BY tx_count DESC, id LIMIT 1",
        max_block - 200_000,
    )
    epoch_row = await conn.fetchrow(
        "SELECT epoch_no, sum(tx_count)::bigint FROM block WHERE id > $1 AND epoch_no IS NOT NULL "
        "GROUP BY epoch_no ORDER BY 2 DESC, 1 LIMIT 1",
        max_block - 1_000_000,
    )
    if layout.address_table:
        outputs = (
            "SELECT a.address, a.payment_cred IS NOT NULL AS shelley FROM tx_out o "
            "JOIN address a ON a.id = o.address_id ORDER BY o.id DESC LIMIT $1"
        )
    else:
        outputs = (
            "SELECT address, payment_cred IS NOT NULL AS shelley FROM tx_out "
            "ORDER BY id DESC LIMIT $1"
        )
    counts = await conn.fetch(
        f"SELECT address, count(*) AS n FROM ({outputs}) o WHERE shelley "  # noqa: S608
        "GROUP BY address ORDER BY n DESC, address",
        _OUTPUT_SAMPLE,
    )
    heavy = heavy_address or counts[0]["address"]
    light = next((r["address"] for r in reversed(counts) if r["n"] == 1), counts[-1]["address"])
    batch = sorted(r["address"] for r in counts if r["address"] not in (heavy, light))[:1000]
    return ChainFacts(
        min_tx_id=low,
        max_tx_id=high,
        tx_hashes=tuple(hashes[:1000]),
        block_hash=block_row["hash"],
        block_txs=block_row["tx_count"],
        epoch_no=epoch_row[0],
        epoch_txs=epoch_row[1],
        heavy_address=heavy,
        light_address=light,
        addresses=tuple(batch),
    )


async def _int_codec(conn: Any) -> None:
    # The codec dbsync_core installs on its connections, so the floor decodes the same values.
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=decode_numeric, format="text"
    )


async def _noop_reset(_conn: Any) -> None:
    return None


@attrs.define(eq=False)
class Env:
    """The connections of one benchmark run: one held connection per path (each in a long read
    transaction, so no per-call BEGIN/ROLLBACK on any side), and pools for the concurrent
    workloads, opened on first use."""

    url: URL
    stack: contextlib.AsyncExitStack
    floor: Any
    core: AsyncConnection
    orm: AsyncConnection
    layout: Layout
    facts: ChainFacts
    server_version: str
    #: Connections in each pool of the concurrent workloads.
    pool_size: int = 10
    _lazy: dict[str, Any] = attrs.field(factory=dict)

    async def _once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self._lazy:
            self._lazy[key] = await make()
        return self._lazy[key]

    async def floor_default_codecs(self) -> Any:
        """A raw asyncpg connection with asyncpg's own codecs (numeric → Decimal)."""

        async def make() -> Any:
            conn = await asyncpg.connect(asyncpg_dsn(self.url))
            self.stack.push_async_callback(conn.close)
            return conn

        return await self._once("floor_plain", make)

    async def floor_pool(self, size: int, *, reset: bool = True) -> Any:
        """A raw asyncpg pool (``reset=False``: without the reset query on release)."""

        async def make() -> Any:
            kwargs: dict[str, Any] = {} if reset else {"reset": _noop_reset}
            pool = await asyncpg.create_pool(
                asyncpg_dsn(self.url), min_size=size, max_size=size, init=_int_codec, **kwargs
            )
            self.stack.push_async_callback(pool.close)
            return pool

        return await self._once(f"floor_pool_{size}_{reset}", make)

    async def engine(self, kind: str, size: int) -> AsyncEngine:
        """A pooled engine: ``core`` (:func:`dbsync_core.runtime.create_engine`), ``orm`` or
        ``orm-autocommit`` (SQLAlchemy's ``create_async_engine``)."""

        async def make() -> AsyncEngine:
            if kind == "core":
                engine = create_engine(self.url, pool_size=size, max_overflow=0)
            else:
                kwargs: dict[str, Any] = {"pool_size": size, "max_overflow": 0}
                if kind == "orm-autocommit":
                    kwargs["isolation_level"] = "AUTOCOMMIT"
                engine = create_async_engine(self.url, **kwargs)
            self.stack.push_async_callback(engine.dispose)
            return engine

        made: AsyncEngine = await self._once(f"engine_{kind}_{size}", make)
        return made


async def open_env(
    stack: contextlib.AsyncExitStack,
    url: URL,
    *,
    facts: ChainFacts | None = None,
    heavy_address: str | None = None,
) -> Env:
    """Open the held connections on ``url`` (closed by ``stack``) and read the chain's facts."""
    floor = await asyncpg.connect(asyncpg_dsn(url))
    stack.push_async_callback(floor.close)
    await _int_codec(floor)
    await floor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    engines = []
    for library in (True, False):
        if library:  # dbsync_core's engine factory: read-only sessions, the numeric codec
            engine = create_engine(url, pool_size=1, max_overflow=0)
        else:
            engine = create_async_engine(url, pool_size=1, max_overflow=0)
        stack.push_async_callback(engine.dispose)
        conn = await engine.connect()
        stack.push_async_callback(conn.close)
        await conn.begin()
        engines.append(conn)
    core, orm = engines
    layout = await detect_layout(core)
    if facts is None:
        facts = await discover_facts(floor, layout, heavy_address=heavy_address)
    version = str(await floor.fetchval("SHOW server_version"))
    return Env(url, stack, floor, core, orm, layout, facts, version)


def floor_sql(query: Query[Any], dialect: Dialect) -> tuple[str, list[object]]:
    """The SQL text and positional arguments of ``query`` for the asyncpg dialect (``$n``),
    compiled with SQLAlchemy's public API, independently of the library's executor."""
    statement, params = query._effective(page=False)  # noqa: SLF001
    compiled = statement.compile(dialect=dialect)
    state = compiled.construct_expanded_state(dict(params), escape_names=False)
    args: list[object] = []
    for name in state.positiontup or ():
        value = state.parameters[name]
        processor = state.processors.get(name)
        args.append(value if processor is None else processor(value))
    return state.statement, args


def _dialect(env: Env) -> Dialect:
    return env.core.sync_engine.dialect


# ---------------------------------------------------------------------------------------------
# The ORM: classes mapped onto dbsync_core's Table objects
# ---------------------------------------------------------------------------------------------


class OrmBase(DeclarativeBase):
    """Declarative base of the benchmark's ORM classes (``__table__`` = dbsync_core's tables).

    db-sync has no foreign keys, so every relationship spells its join with ``foreign()``; all are
    ``lazy="raise"``, as SQLAlchemy's asyncio guide recommends: async code must eager-load.
    """


class PoolHashModel(OrmBase):
    """``pool_hash``."""

    __table__ = pool_hash
    id: Mapped[int]
    view: Mapped[str]


class SlotLeaderModel(OrmBase):
    """``slot_leader``, with its pool."""

    __table__ = slot_leader
    id: Mapped[int]
    hash: Mapped[bytes]
    pool_hash_id: Mapped[int | None]
    pool: Mapped[PoolHashModel | None] = relationship(
        primaryjoin=lambda: foreign(SlotLeaderModel.pool_hash_id) == PoolHashModel.id,
        viewonly=True,
        lazy="raise",
    )


class BlockModel(OrmBase):
    """``block``, with its slot leader and its transactions (in block order)."""

    __table__ = block
    id: Mapped[int]
    hash: Mapped[bytes]
    epoch_no: Mapped[int | None]
    slot_no: Mapped[int | None]
    epoch_slot_no: Mapped[int | None]
    block_no: Mapped[int | None]
    previous_id: Mapped[int | None]
    slot_leader_id: Mapped[int]
    size: Mapped[int]
    time: Mapped[datetime]
    tx_count: Mapped[int]
    proto_major: Mapped[int]
    proto_minor: Mapped[int]
    vrf_key: Mapped[str | None]
    op_cert: Mapped[bytes | None]
    op_cert_counter: Mapped[int | None]
    slot_leader: Mapped[SlotLeaderModel] = relationship(
        primaryjoin=lambda: foreign(BlockModel.slot_leader_id) == SlotLeaderModel.id,
        viewonly=True,
        lazy="raise",
    )
    txs: Mapped[list[TxModel]] = relationship(
        primaryjoin=lambda: foreign(TxModel.block_id) == BlockModel.id,
        order_by=lambda: TxModel.block_index,
        viewonly=True,
        lazy="raise",
    )


class TxModel(OrmBase):
    """``tx``, with its block."""

    __table__ = tx
    id: Mapped[int]
    hash: Mapped[bytes]
    block_id: Mapped[int]
    block_index: Mapped[int]
    out_sum: Mapped[Decimal]
    fee: Mapped[Decimal]
    deposit: Mapped[int | None]
    size: Mapped[int]
    invalid_before: Mapped[Decimal | None]
    invalid_hereafter: Mapped[Decimal | None]
    valid_contract: Mapped[bool]
    script_size: Mapped[int]
    treasury_donation: Mapped[Decimal]
    block: Mapped[BlockModel] = relationship(
        primaryjoin=lambda: foreign(TxModel.block_id) == BlockModel.id,
        viewonly=True,
        lazy="raise",
    )


def orm_block(b: BlockModel) -> tuple[Any, ...]:
    """A block model in :class:`~dbsync_core.records.Block`'s field order."""
    leader = b.slot_leader
    made: tuple[Any, ...] = plain(
        (
            b.id, b.hash, b.epoch_no, b.slot_no, b.epoch_slot_no, b.block_no, b.previous_id,
            leader.hash, leader.pool.view if leader.pool is not None else None, b.size, b.time,
            b.tx_count, b.proto_major, b.proto_minor, b.vrf_key, b.op_cert, b.op_cert_counter,
        )
    )  # fmt: skip
    return made


def orm_tx(t: TxModel, b: BlockModel | None = None) -> tuple[Any, ...]:
    """A tx model (and its block) in :class:`~dbsync_core.records.Tx`'s field order."""
    b = t.block if b is None else b
    made: tuple[Any, ...] = plain(
        (
            t.id, t.hash, t.block_id, b.hash, b.block_no, b.epoch_no, b.slot_no, b.time,
            t.block_index, t.out_sum, t.fee, t.deposit, t.size, t.invalid_before,
            t.invalid_hereafter, t.valid_contract, t.script_size, t.treasury_donation,
        )
    )  # fmt: skip
    return made


def orm_txs(models: Sequence[TxModel]) -> tuple[Any, ...]:
    """:func:`orm_tx` over a list."""
    return tuple(orm_tx(t) for t in models)


def orm_session(env: Env) -> AsyncSession:
    """A session per call on the ORM's held connection (it joins that connection's transaction,
    so it sends no BEGIN/ROLLBACK of its own), as a request handler would open one."""
    return AsyncSession(bind=env.orm)


def _orm_blocks(models: Sequence[BlockModel]) -> tuple[Any, ...]:
    return tuple(orm_block(b) for b in models)


# ---------------------------------------------------------------------------------------------
# Core workloads (what ``dbsync-core bench`` and the demo run; ``benchmarks/`` adds the rest)
# ---------------------------------------------------------------------------------------------


def latest_blocks_workload(env: Env, limit: int = 10) -> Workload:
    """The newest blocks, with their slot leader and pool: a small multi-join read."""
    sql, args = floor_sql(latest_blocks(limit=limit), _dialect(env))

    async def floor() -> Any:
        return await env.floor.fetch(sql, *args)

    async def core() -> Any:
        return await fetch_latest_blocks(env.core, limit=limit)

    async def orm() -> Any:
        # The guide orders by block_no DESC: PostgreSQL puts the NULL block_no of the genesis
        # and epoch-boundary blocks first. Newest is highest id.
        async with orm_session(env) as session:
            stmt = (
                select(BlockModel)
                .options(joinedload(BlockModel.slot_leader).joinedload(SlotLeaderModel.pool))
                .order_by(BlockModel.id.desc())
                .limit(limit)
            )
            return (await session.execute(stmt)).scalars().all()

    return Workload(
        "latest_blocks",
        f"latest {limit} blocks",
        {FLOOR: Impl(floor, plain), CORE: Impl(core, plain), ORM: Impl(orm, _orm_blocks)},
    )


def _orm_tx_by_hash(tx_hash: bytes) -> Any:
    return select(TxModel).options(joinedload(TxModel.block)).where(TxModel.hash == tx_hash)


def tx_by_hash_workload(env: Env) -> Workload:
    """Point lookup of a transaction by hash, one after the other on a held connection; each
    call takes the next of 1,000 hashes spread over the chain."""
    hashes = env.facts.tx_hashes
    sql, args = floor_sql(tx_by_hash(hashes[0]), _dialect(env))
    assert args == [hashes[0]], args
    maker = tx_maker()

    def cycle() -> Callable[[], bytes]:
        return itertools.cycle(hashes).__next__

    floor_next, builder_next, core_next, orm_next = cycle(), cycle(), cycle(), cycle()

    async def floor() -> Any:
        return await env.floor.fetchrow(sql, floor_next())

    async def floor_builder() -> Any:
        row = await env.floor.fetchrow(sql, builder_next())
        return None if row is None else maker.one(row)

    async def core() -> Any:
        return await fetch_tx(env.core, core_next())

    async def orm() -> Any:
        async with orm_session(env) as session:
            result = await session.execute(_orm_tx_by_hash(orm_next()))
            return result.scalar_one_or_none()

    return Workload(
        "tx_by_hash",
        "tx by hash (sequential)",
        {
            FLOOR: Impl(floor, plain),
            CORE: Impl(core, plain),
            ORM: Impl(orm, orm_tx),
            "floor+builder": Impl(floor_builder, plain, context=True),
        },
    )


def tx_by_hash_concurrent_workload(
    env: Env, lookups: int = 200, pool: int | None = None
) -> Workload:
    """``lookups`` tx-by-hash lookups at once (``asyncio.gather``) over a pool of ``pool``
    connections (default ``env.pool_size``), each lookup checking a connection out and back in:
    throughput."""
    pool = env.pool_size if pool is None else pool
    hashes = env.facts.tx_hashes
    sql, _ = floor_sql(tx_by_hash(hashes[0]), _dialect(env))
    batches = [
        [hashes[(start + i) % len(hashes)] for i in range(lookups)]
        for start in range(0, len(hashes), lookups)
    ]

    def cycle() -> Callable[[], list[bytes]]:
        return itertools.cycle(batches).__next__

    floor_next, noreset_next, core_next, orm_next, auto_next = (cycle() for _ in range(5))

    async def floor() -> Any:
        p = await env.floor_pool(pool)
        return await asyncio.gather(*(p.fetchrow(sql, h) for h in floor_next()))

    async def floor_noreset() -> Any:
        p = await env.floor_pool(pool, reset=False)
        return await asyncio.gather(*(p.fetchrow(sql, h) for h in noreset_next()))

    async def core() -> Any:
        engine = await env.engine("core", pool)

        async def one(tx_hash: bytes) -> Tx | None:
            async with engine.connect() as conn:
                return await fetch_tx(conn, tx_hash)

        return await asyncio.gather(*(one(h) for h in core_next()))

    def orm_with(kind: str, next_batch: Callable[[], list[bytes]]) -> Call:
        async def orm() -> Any:
            engine = await env.engine(kind, pool)

            async def one(tx_hash: bytes) -> TxModel | None:
                async with AsyncSession(engine) as session:
                    result = await session.execute(_orm_tx_by_hash(tx_hash))
                    return result.scalar_one_or_none()

            return await asyncio.gather(*(one(h) for h in next_batch()))

        return orm

    return Workload(
        "tx_by_hash_concurrent",
        f"tx by hash, {lookups} concurrent over a pool of {pool}",
        {
            FLOOR: Impl(floor, plain),
            CORE: Impl(core, plain),
            ORM: Impl(orm_with("orm", orm_next), orm_txs),
            "floor/pool-no-reset": Impl(floor_noreset, plain, context=True),
            "orm/autocommit": Impl(orm_with("orm-autocommit", auto_next), orm_txs, context=True),
        },
        ops=lookups,
        kind="throughput",
    )


def _floor_block_with_txs(rows: Sequence[Any]) -> Any:
    if not rows:
        return None
    return (plain(rows[0][:17]), tuple(plain(r[17:]) for r in rows if r[17] is not None))


def block_with_txs_workload(env: Env) -> Workload:
    """The busiest block with all its transactions (the library: one query; the ORM:
    ``selectinload``)."""
    block_hash = env.facts.block_hash
    sql, args = floor_sql(block_with_txs(block_hash), _dialect(env))

    async def floor() -> Any:
        return await env.floor.fetch(sql, *args)

    async def core() -> Any:
        return await fetch_block_with_txs(env.core, block_hash)

    async def orm() -> Any:
        async with orm_session(env) as session:
            stmt = (
                select(BlockModel)
                .options(
                    joinedload(BlockModel.slot_leader).joinedload(SlotLeaderModel.pool),
                    selectinload(BlockModel.txs),
                )
                .where(BlockModel.hash == block_hash)
            )
            return (await session.execute(stmt)).scalar_one_or_none()

    def orm_answer(b: BlockModel | None) -> Any:
        return None if b is None else (orm_block(b), tuple(orm_tx(t, b) for t in b.txs))

    return Workload(
        "block_with_txs",
        f"block with its {env.facts.block_txs} txs",
        {
            FLOOR: Impl(floor, _floor_block_with_txs),
            CORE: Impl(core, plain),
            ORM: Impl(orm, orm_answer),
        },
    )


def epoch_stats_workload(env: Env) -> Workload:
    """Transaction and block statistics of the busiest epoch (the guide's two ORM queries;
    the library's one)."""
    epoch_no = env.facts.epoch_no
    sql, args = floor_sql(epoch_stats(epoch_no), _dialect(env))

    async def floor() -> Any:
        return await env.floor.fetchrow(sql, *args)

    async def core() -> Any:
        return await fetch_epoch_stats(env.core, epoch_no)

    async def orm() -> Any:
        # The guide's two queries, fixed: a real join, zeros (not None) for an empty epoch.
        async with orm_session(env) as session:
            txs = (
                await session.execute(
                    select(
                        func.count(TxModel.id),
                        func.sum(TxModel.fee),
                        func.avg(TxModel.fee),
                        func.sum(TxModel.size),
                    )
                    .select_from(TxModel)
                    .join(TxModel.block)
                    .where(BlockModel.epoch_no == epoch_no)
                )
            ).one()
            blocks = (
                await session.execute(
                    select(
                        func.count(BlockModel.id),
                        func.min(BlockModel.time),
                        func.max(BlockModel.time),
                    ).where(BlockModel.epoch_no == epoch_no)
                )
            ).one()
        return {
            "epoch": epoch_no,
            "transactions": txs[0],
            "total_fees": txs[1] or 0,
            "average_fee": float(txs[2]) if txs[2] is not None else 0.0,
            "total_size": txs[3] or 0,
            "blocks": blocks[0],
            "epoch_start": blocks[1],
            "epoch_end": blocks[2],
        }

    def orm_answer(stats: dict[str, Any]) -> Any:
        return plain(tuple(stats.values()))

    return Workload(
        "epoch_stats",
        f"epoch statistics ({env.facts.epoch_txs:,} txs)",
        {FLOOR: Impl(floor, plain), CORE: Impl(core, plain), ORM: Impl(orm, orm_answer)},
    )


@functools.cache
def all_txs_query() -> Query[Tx]:
    """Every transaction in id order, with a keyset on the id (page it with ``.after()``).

    Built once, like a catalogue builder's statement: the executor finds its compiled SQL by the
    identity of the ``Select`` (a ``Query.of`` per call would compile it every call).
    """
    return Query.of(Tx, tx_select().order_by(tx.c.id), keyset=BY_TX_ID)


def bulk_fetch_workload(env: Env, rows: int) -> Workload | None:
    """``rows`` transactions (with their block's fields) in one fetch: a keyset page of
    :func:`all_txs_query` from the middle of the chain. None if the chain is too small."""
    facts = env.facts
    if facts.tx_span < rows:
        return None
    start = facts.min_tx_id - 1 + (facts.tx_span - rows) // 2
    query = all_txs_query().after((start,)).limit(rows)
    sql, args = floor_sql(query, _dialect(env))
    maker = query.maker

    async def floor() -> Any:
        return await env.floor.fetch(sql, *args)

    async def floor_builder() -> Any:
        return _build(maker, await env.floor.fetch(sql, *args))

    async def floor_decimal() -> Any:
        conn = await env.floor_default_codecs()
        return await conn.fetch(sql, *args)

    async def core() -> Any:
        return await fetch_all(env.core, all_txs_query().after((start,)).limit(rows))

    async def orm() -> Any:
        async with orm_session(env) as session:
            stmt = (
                select(TxModel)
                .options(joinedload(TxModel.block))
                .where(TxModel.id > start)
                .order_by(TxModel.id)
                .limit(rows)
            )
            return (await session.execute(stmt)).scalars().all()

    big = rows >= 100_000
    return Workload(
        f"bulk_{rows}",
        f"bulk fetch, {rows:,} txs",
        {
            FLOOR: Impl(floor, plain),
            CORE: Impl(core, plain),
            ORM: Impl(orm, orm_txs),
            "floor+builder": Impl(floor_builder, plain, context=True),
            "floor/default-codecs": Impl(floor_decimal, plain, context=True),
        },
        max_rounds=5 if big else None,
    )


WorkloadFactory = Callable[..., "Workload | None"]

#: The core set: (factory, extra arguments).
CORE_WORKLOADS: tuple[tuple[WorkloadFactory, tuple[Any, ...]], ...] = (
    (latest_blocks_workload, ()),
    (tx_by_hash_workload, ()),
    (tx_by_hash_concurrent_workload, ()),
    (block_with_txs_workload, ()),
    (epoch_stats_workload, ()),
    (bulk_fetch_workload, (100,)),
    (bulk_fetch_workload, (1_000,)),
    (bulk_fetch_workload, (10_000,)),
)


def core_workloads(
    env: Env, *, sizes: Sequence[int] | None = None, pool: int | None = None, context: bool = True
) -> list[Workload]:
    """The core workloads on ``env``: bulk fetches of ``sizes`` rows (those the chain can serve),
    concurrent lookups over a pool of ``pool``; ``context=False`` drops the context paths."""
    made = []
    for factory, args in CORE_WORKLOADS:
        if factory is bulk_fetch_workload and sizes is not None and args[0] not in sizes:
            continue
        if factory is tx_by_hash_concurrent_workload:
            args = (200, pool)  # noqa: PLW2901
        workload = factory(env, *args)
        if workload is None:
            continue
        if not context:
            kept = {name: impl for name, impl in workload.paths.items() if not impl.context}
            workload = attrs.evolve(workload, paths=kept)
        made.append(workload)
    return made


# ---------------------------------------------------------------------------------------------
# Costs measured in fresh processes: memory, cold start, import time, footprint
# ---------------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with contextlib.suppress(OSError):
        fields = Path("/proc/self/statm").read_text().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux ≥ 4.0: resets VmHWM
    except OSError:
        return False
    return True


def _peak_rss_bytes() -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource  # noqa: PLC0415

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _module_root(factory: str) -> str | None:
    module = factory.partition(":")[0]
    spec = importlib.util.find_spec(module.partition(".")[0])
    if spec is None or spec.origin is None:
        return None
    return str(Path(spec.origin).parent.parent)


def run_probe(
    url: URL, facts: ChainFacts, factory: str, args: Sequence[Any], *, path: str, mode: str
) -> dict[str, Any]:
    """Run one path of one workload in a fresh interpreter and return what it measured.

    ``mode``: ``rss`` (peak resident memory above the baseline, the kernel's high-water mark
    reset after setup), ``tracemalloc`` (peak traced Python allocations), ``cold`` (the first
    call in the process, then the median of warm calls).
    """
    spec = {
        "url": url.render_as_string(hide_password=False),
        "facts": facts.to_json(),
        "factory": factory,
        "args": list(args),
        "path": path,
        "mode": mode,
    }
    env = dict(os.environ)
    root = _module_root(factory)
    if root is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "dbsync_core._bench", "probe"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        msg = f"probe {factory} {path} {mode} failed:\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _resolve(factory: str) -> WorkloadFactory:
    module, _, name = factory.partition(":")
    found: WorkloadFactory = getattr(importlib.import_module(module), name)
    return found


async def _probe(spec: Mapping[str, Any]) -> dict[str, Any]:
    url = sqlalchemy_url(spec["url"])
    async with contextlib.AsyncExitStack() as stack:
        env = await open_env(stack, url, facts=ChainFacts.from_json(spec["facts"]))
        workload = _resolve(spec["factory"])(env, *spec["args"])
        assert workload is not None
        call = workload.paths[spec["path"]].call
        mode = spec["mode"]
        if mode == "cold":
            started = time.perf_counter()
            await call()
            cold = time.perf_counter() - started
            warm = [await _one_call(call) for _ in range(300)]
            return {"cold_s": cold, "warm_s": statistics.median(warm)}
        configure_mappers()
        gc.collect()
        if mode == "tracemalloc":
            import tracemalloc  # noqa: PLC0415

            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            result = await call()
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            del result
            return {"tracemalloc_peak_bytes": peak}
        base = _rss_bytes()
        exact = _reset_peak_rss()
        started = time.perf_counter()
        result = await call()
        seconds = time.perf_counter() - started
        peak = _peak_rss_bytes() - base
        del result
        return {"rss_peak_bytes": peak, "rss_exact": exact, "seconds": seconds}


def _probe_main() -> int:
    spec = json.loads(sys.stdin.read())
    result = asyncio.run(_probe(spec))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


#: What ``import dbsync_core`` is measured against: its dependencies as the issue names them,
#: and what any user of SQLAlchemy's asyncio extension on asyncpg has imported anyway.
IMPORT_BASES = {
    "deps": "import sqlalchemy, asyncpg, attrs",
    "async_deps": (
        "import sqlalchemy, sqlalchemy.ext.asyncio, sqlalchemy.dialects.postgresql.asyncpg, "
        "asyncpg, attrs"
    ),
}

#: The package loads its modules on first use: what a service imports to run its first query.
FIRST_USE = (
    "import dbsync_core.blocks, dbsync_core.txs, dbsync_core.addresses; "
    "from dbsync_core import fetch_all, stream"
)

ImportRow = tuple[str, int, float, float]  # module, depth, self seconds, cumulative seconds


def _wall(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def _importtime(base: str, code: str) -> tuple[float, list[ImportRow]]:
    """What ``code`` imports after ``base`` by ``-X importtime``: the total (seconds) and the
    rows of its subtree."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", f"{base}; {code}"],
        check=True,
        capture_output=True,
        text=True,
    )
    rows: list[ImportRow] = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        with contextlib.suppress(ValueError):
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip()) - 1) // 2
            rows.append(
                (name.strip(), depth, float(parts[0].split(":")[1]) / 1e6, float(parts[1]) / 1e6)
            )
    # Children are printed before their parent: the code's subtree starts after the base's
    # last top-level import (the base imports no dbsync_core module).
    start = max(i for i, r in enumerate(rows) if r[1] == 0 and r[0] in base)
    subtree = rows[start + 1 :]
    return sum(r[3] for r in subtree if r[1] == 0), subtree


def _parent(rows: Sequence[ImportRow], index: int, depth: int) -> str:
    # -X importtime prints a module after everything it imported: its parent comes later.
    return next((r[0] for r in rows[index + 1 :] if r[1] == depth - 1), "dbsync_core")


def import_cost(repeats: int = 11) -> dict[str, Any]:
    """What importing dbsync_core adds over its dependencies: ``import dbsync_core`` alone (the
    package is lazy) and its first use (:data:`FIRST_USE`), over both :data:`IMPORT_BASES`.

    Wall time of fresh interpreters, min of ``repeats`` (alternated); ``-X importtime``'s
    account of the first use (min total), with dbsync_core's own modules and what they pull in.
    """
    codes = {}
    for key, base in IMPORT_BASES.items():
        codes[key] = base
        codes[key + "+import"] = base + "; import dbsync_core"
        codes[key + "+first_use"] = f"{base}; {FIRST_USE}"
    _wall(codes["async_deps+first_use"])  # bytecode written, caches warm
    walls: dict[str, list[float]] = {key: [] for key in codes}
    best: tuple[float, list[ImportRow]] | None = None
    for _ in range(repeats):
        for key, code in codes.items():
            walls[key].append(_wall(code))
        measured = _importtime(IMPORT_BASES["deps"], FIRST_USE)
        if best is None or measured[0] < best[0]:
            best = measured
    assert best is not None
    total, subtree = best
    fast = {key: min(values) for key, values in walls.items()}
    own = [(m, s) for m, _d, s, _c in subtree if m.startswith("dbsync_core")]
    pulled = [
        (m, c)
        for i, (m, d, _s, c) in enumerate(subtree)
        if not m.startswith("dbsync_core") and _parent(subtree, i, d).startswith("dbsync_core")
    ]
    return {
        "method": "min of fresh interpreters (wall) and of -X importtime",
        "repeats": repeats,
        "bases": dict(IMPORT_BASES),
        "first_use": FIRST_USE,
        "deps_s": fast["deps"],
        "deps_and_dbsync_core_s": fast["deps+import"],
        "added_wall_s": fast["deps+import"] - fast["deps"],
        "first_use_added_wall_s": fast["deps+first_use"] - fast["deps"],
        "async_deps_s": fast["async_deps"],
        "first_use_added_over_async_deps_wall_s": fast["async_deps+first_use"] - fast["async_deps"],
        "first_use_importtime_s": total,
        "own_modules_self_s": sum(s for _m, s in own),
        "heaviest_own": [
            {"module": m, "self_s": s} for m, s in sorted(own, key=lambda x: -x[1])[:6]
        ],
        "pulled_in": [
            {"module": m, "cumulative_s": c} for m, c in sorted(pulled, key=lambda x: -x[1])[:6]
        ],
    }


def _tree_bytes(root: Path) -> tuple[int, int, int]:
    files = code = cache = 0
    for item in root.rglob("*"):
        if item.is_file():
            size = item.stat().st_size
            if "__pycache__" in item.parts:
                cache += size
            else:
                files += 1
                code += size
    return files, code, cache


def footprint() -> dict[str, Any]:
    """Installed size of dbsync_core's files (bytecode apart) and, for scale, its dependencies."""
    own = Path(dbsync_core.__file__).parent
    files, size, cache = _tree_bytes(own)
    deps = {}
    # attrs ships two packages: the ``attrs`` namespace and the ``attr`` implementation.
    for name, packages in (("sqlalchemy", ("sqlalchemy",)), ("asyncpg", ("asyncpg",)),
                           ("attrs", ("attr", "attrs"))):  # fmt: skip
        deps[name] = 0
        for package in packages:
            module = importlib.import_module(package)
            if module.__file__ is not None:
                deps[name] += _tree_bytes(Path(module.__file__).parent)[1]
    return {
        "package_dir": own.name,
        "files": files,
        "bytes": size,
        "bytecode_bytes": cache,
        "dependencies_bytes": deps,
    }


# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment(env: Env | None = None) -> dict[str, Any]:
    """Versions, machine and load, recorded with every report."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "sqlalchemy": _version("sqlalchemy"),
        "asyncpg": _version("asyncpg"),
        "attrs": _version("attrs"),
        "greenlet": _version("greenlet"),
        "dbsync_core": str(dbsync_core.__version__),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "loadavg": [round(x, 2) for x in load],
        "gc": {"enabled": gc.isenabled(), "thresholds": list(gc.get_threshold())},
        "event_loop": "asyncio default",
    }
    if env is not None:
        info["postgresql"] = env.server_version
        info["layout"] = attrs.asdict(env.layout)
    return info


# ---------------------------------------------------------------------------------------------
# Report: a JSON-able dict, its Markdown, the targets
# ---------------------------------------------------------------------------------------------


def _stats_json(stats: Stats) -> dict[str, Any]:
    return {
        "median_s": stats.median,
        "q1_s": stats.q1,
        "q3_s": stats.q3,
        "min_s": stats.min,
        "max_s": stats.max,
        "samples_s": list(stats.samples),
    }


def _result_json(result: WorkloadResult) -> dict[str, Any]:
    w = result.workload
    stats = result.stats
    med = {name: s.median for name, s in stats.items()}
    paths = {}
    for name, s in stats.items():
        entry = _stats_json(s)
        entry["label"] = LABELS.get(name, name)
        entry["context"] = w.paths[name].context
        entry["vs_floor"] = med[name] / med[FLOOR]
        entry["vs_floor_paired"] = result.paired[name]
        if w.kind == "throughput":
            entry["ops_per_s"] = w.ops / s.median
        elif result.rows:
            entry["us_per_row"] = s.median / result.rows * 1e6
        paths[name] = entry
    return {
        "key": w.key,
        "title": w.title,
        "kind": w.kind,
        "rows": result.rows,
        "ops": w.ops,
        "inner": result.inner,
        "rounds": result.rounds,
        "note": w.note,
        "gate": "passed",
        "paths": paths,
        "ratios": {
            "dbsync_core_vs_floor": med[CORE] / med[FLOOR],
            "orm_vs_floor": med[ORM] / med[FLOOR],
            "orm_vs_dbsync_core": med[ORM] / med[CORE],
        },
    }


@attrs.frozen
class Target:
    """A figure the library must reach (DESIGN.md), read from a report."""

    name: str
    measured: float | None
    limit: float
    better: Literal["lower", "higher"]
    unit: str
    detail: str = ""

    @property
    def met(self) -> bool | None:
        """None when the run did not measure it."""
        if self.measured is None:
            return None
        if self.better == "lower":
            return self.measured <= self.limit
        return self.measured >= self.limit


def _workload(report: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    return next((w for w in report["workloads"] if w["key"] == key), None)


def targets(report: Mapping[str, Any]) -> list[Target]:
    """The targets of issue 5 and DESIGN.md, evaluated on ``report``."""

    def ratio(key: str, which: str) -> float | None:
        found = _workload(report, key)
        return None if found is None else float(found["ratios"][which])

    made = [
        Target("bulk 10k rows: dbsync_core ÷ floor", ratio("bulk_10000", "dbsync_core_vs_floor"),
               1.25, "lower", "x"),
        Target("bulk 10k rows: ORM ÷ dbsync_core", ratio("bulk_10000", "orm_vs_dbsync_core"),
               4.0, "higher", "x"),
        Target("point lookup: dbsync_core ÷ floor", ratio("tx_by_hash", "dbsync_core_vs_floor"),
               1.10, "lower", "x"),
        Target("point lookup: ORM ÷ dbsync_core", ratio("tx_by_hash", "orm_vs_dbsync_core"),
               4.0, "higher", "x"),
    ]  # fmt: skip
    concurrent = ratio("tx_by_hash_concurrent", "dbsync_core_vs_floor")
    made.append(
        Target(
            "concurrent lookups: dbsync_core throughput ÷ asyncpg pool's",
            None if concurrent is None else 1 / concurrent,
            0.95,
            "higher",
            "x",
        )
    )
    memory = report.get("memory", {}).get("stream_all_txs", {}).get(CORE)
    stream = _workload(report, "stream_all_txs")
    rows = stream["rows"] if stream else None
    made.append(
        Target(
            "stream every tx: dbsync_core peak RSS above baseline",
            None if memory is None else memory["rss_peak_bytes"] / 2**20,
            50.0,
            "lower",
            "MB",
            f"{rows:,} rows" if rows else "",
        )
    )
    bulk = _workload(report, "bulk_100000")
    if stream and bulk and stream.get("rows") and bulk.get("rows"):
        stream_rate = stream["rows"] / stream["paths"][CORE]["median_s"]
        bulk_rate = bulk["rows"] / bulk["paths"][CORE]["median_s"]
        made.append(
            Target("stream rows/s ÷ bulk 100k rows/s (dbsync_core)", stream_rate / bulk_rate,
                   0.8, "higher", "x")
        )  # fmt: skip
    imports = report.get("costs", {}).get("import")
    made.append(
        Target(
            "import dbsync_core over its dependencies",
            None if imports is None else imports["added_wall_s"] * 1000,
            30.0,
            "lower",
            "ms",
            ""
            if imports is None
            else f"first use: {imports['first_use_added_wall_s'] * 1000:.0f} ms",
        )
    )
    return made


def build_report(
    results: Sequence[WorkloadResult],
    *,
    env: Env | None,
    settings: Settings,
    chain: Mapping[str, Any] | None = None,
    memory: Mapping[str, Any] | None = None,
    costs: Mapping[str, Any] | None = None,
    skipped: Sequence[str] = (),
    command: str = "",
    environment_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-able report of a run (targets evaluated from it)."""
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if settings.quick else "full",
        "command": command,
        "environment": dict(environment_info) if environment_info else environment(env),
        "settings": attrs.asdict(settings),
        "chain": dict(chain or {}),
        "facts": env.facts.summary() if env is not None else {},
        "workloads": [_result_json(r) for r in results],
        "skipped": list(skipped),
        "memory": dict(memory or {}),
        "costs": dict(costs or {}),
    }
    report["targets"] = [{**attrs.asdict(t), "met": t.met} for t in targets(report)]
    return report


def fmt_seconds(seconds: float) -> str:
    """A duration with a readable unit."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def _cell(workload: Mapping[str, Any], name: str) -> str:
    entry = workload["paths"].get(name)
    if entry is None:
        return "-"
    if workload["kind"] == "throughput":
        return f"{entry['ops_per_s']:,.0f}/s"
    return fmt_seconds(entry["median_s"])


def _times(value: float) -> str:
    return f"{value:.2f}x"


def render_markdown(report: Mapping[str, Any], *, brief: bool = False) -> str:
    """The report as Markdown: the main table, then (unless ``brief``) the details."""
    env = report["environment"]
    chain = report.get("chain", {})
    lines = []
    where = chain.get("description", "")
    lines.append(
        f"dbsync_core benchmarks ({report['mode']} run{', ' + where if where else ''}; "
        f"PostgreSQL {env.get('postgresql', '?')}, Python {env['python']}, "
        f"SQLAlchemy {env['sqlalchemy']}, asyncpg {env['asyncpg']})"
    )
    lines.append("")
    lines.append(
        "Medians of interleaved rounds. Throughput rows show lookups per second (higher is "
        "better); time ratios: lower is better for ÷ floor, higher for ORM ÷ dbsync_core."
    )
    lines.append("")
    lines.append(
        "| workload | rows | raw asyncpg (floor) | dbsync_core | SQLAlchemy ORM "
        "| dbsync_core ÷ floor | ORM ÷ dbsync_core |"
    )
    lines.append("|---|--:|--:|--:|--:|--:|--:|")
    for w in report["workloads"]:
        ratios = w["ratios"]
        rows = f"{w['rows']:,}" if w["rows"] is not None else f"{w['ops']} ops"
        lines.append(
            f"| {w['title']} | {rows} | {_cell(w, FLOOR)} | {_cell(w, CORE)} | {_cell(w, ORM)} "
            f"| {_times(ratios['dbsync_core_vs_floor'])} | {_times(ratios['orm_vs_dbsync_core'])} |"
        )
    if brief:
        return "\n".join(lines) + "\n"
    _render_details(report, lines)
    return "\n".join(lines) + "\n"


def _render_details(report: Mapping[str, Any], lines: list[str]) -> None:
    context = [
        (w, name, entry)
        for w in report["workloads"]
        for name, entry in w["paths"].items()
        if entry["context"]
    ]
    if context:
        lines += ["", "Context paths (not part of the comparison):", ""]
        lines.append("| workload | path | median | ÷ floor | dbsync_core ÷ this |")
        lines.append("|---|---|--:|--:|--:|")
        for w, name, entry in context:
            core = w["paths"][CORE]["median_s"]
            lines.append(
                f"| {w['title']} | {entry['label']} | {_cell(w, name)} "
                f"| {_times(entry['vs_floor'])} | {_times(core / entry['median_s'])} |"
            )
    lines += ["", "Spread (seconds per call: min / q1 / median / q3 / max):", ""]
    lines.append("| workload | path | min | q1 | median | q3 | max | calls x rounds |")
    lines.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for w in report["workloads"]:
        for name in MAIN_PATHS:
            e = w["paths"][name]
            spread = " | ".join(
                fmt_seconds(e[k]) for k in ("min_s", "q1_s", "median_s", "q3_s", "max_s")
            )
            lines.append(
                f"| {w['title']} | {LABELS[name]} | {spread} | {w['inner']} x {w['rounds']} |"
            )
    _render_memory(report, lines)
    _render_costs(report, lines)
    _render_targets(report, lines)
    if report.get("skipped"):
        lines += ["", "Skipped: " + "; ".join(report["skipped"])]
    _render_environment(report, lines)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f} MB"


def _render_memory(report: Mapping[str, Any], lines: list[str]) -> None:
    memory = report.get("memory") or {}
    if not memory:
        return
    lines += [
        "",
        (
            "Peak memory above the baseline, one fresh process per path (RSS: the kernel's "
            "high-water mark, reset after setup; tracemalloc: Python allocations, separate run):"
        ),
        "",
        "| workload | path | rows | peak RSS | tracemalloc peak | time |",
        "|---|---|--:|--:|--:|--:|",
    ]
    titles = {w["key"]: w for w in report["workloads"]}
    for key, paths in memory.items():
        w = titles.get(key)
        title = w["title"] if w else key
        rows = f"{w['rows']:,}" if w and w["rows"] else "-"
        for name, entry in paths.items():
            seconds = entry.get("seconds")
            rss, traced = entry.get("rss_peak_bytes"), entry.get("tracemalloc_peak_bytes")
            lines.append(
                f"| {title} | {LABELS.get(name, name)} | {rows} | {_mb(rss)} | {_mb(traced)} "
                f"| {fmt_seconds(seconds) if seconds else '-'} |"
            )


def _render_costs(report: Mapping[str, Any], lines: list[str]) -> None:
    costs = report.get("costs") or {}
    cold = costs.get("cold")
    if cold:
        lines += [
            "",
            (
                f"Cold first call vs warm ({cold['workload']}, one fresh process per path, "
                "connection already open):"
            ),
            "",
            "| path | first call | warm median | first ÷ warm |",
            "|---|--:|--:|--:|",
        ]
        for name, entry in cold["paths"].items():
            lines.append(
                f"| {LABELS.get(name, name)} | {fmt_seconds(entry['cold_s'])} "
                f"| {fmt_seconds(entry['warm_s'])} | {entry['cold_s'] / entry['warm_s']:.0f}x |"
            )
    imports = costs.get("import")
    if imports:
        own = ", ".join(
            f"{h['module']} {h['self_s'] * 1000:.1f}" for h in imports["heaviest_own"][:5]
        )
        pulled = ", ".join(
            f"{h['module']} {h['cumulative_s'] * 1000:.1f}" for h in imports["pulled_in"][:4]
        )
        ms = {k: v * 1000 for k, v in imports.items() if isinstance(v, float)}
        text = (
            f"Import (min of {imports['repeats']} fresh interpreters each): "
            f"`{imports['bases']['deps']}` {ms['deps_s']:.0f} ms; `import dbsync_core` after it "
            f"adds **{ms['added_wall_s']:+.1f} ms** (the package loads its modules on first "
            f"use). First use (`{imports['first_use']}`) adds {ms['first_use_added_wall_s']:.0f} "
            f"ms over those dependencies, {ms['first_use_added_over_async_deps_wall_s']:.0f} ms "
            f"over what an async SQLAlchemy user has imported anyway "
            f"(`{imports['bases']['async_deps']}`). `-X importtime` of the first use: "
            f"{ms['first_use_importtime_s']:.0f} ms, dbsync_core's own modules "
            f"{ms['own_modules_self_s']:.0f} ms (heaviest, ms: {own}); pulled in (ms): {pulled}."
        )
        lines += ["", text]
    _render_orm_breakdown(costs.get("orm_breakdown") or {}, lines)
    size = costs.get("footprint")
    if size:
        deps = ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in size["dependencies_bytes"].items())
        bytecode = size["bytecode_bytes"]
        extra = f" (+{bytecode / 2**10:.0f} KB of bytecode once imported)" if bytecode else ""
        text = (
            f"Footprint: dbsync_core is {size['files']} files, {size['bytes'] / 2**10:.0f} KB"
            f"{extra}; for scale, installed: {deps}."
        )
        lines += ["", text]


def _render_orm_breakdown(breakdown: Mapping[str, Any], lines: list[str]) -> None:
    if not breakdown:
        return
    shapes = {"tx": "select(Tx)", "tx_with_block": "select(Tx) + joinedload(Tx.block)"}
    lines += [
        "",
        (
            "Where the ORM's time goes (cProfile own time grouped, top groups; GC: the same "
            "fetch with the collector paused):"
        ),
        "",
        "| ORM fetch | rows | GC share | largest shares of the profiled time |",
        "|---|--:|--:|---|",
    ]
    for entry in breakdown.values():
        for shape, label in shapes.items():
            part = entry[shape]
            top = "; ".join(
                f"{name} {share:.0%}" for name, share in list(part["profile_shares"].items())[:5]
            )
            lines.append(f"| {label} | {entry['rows']:,} | {part['gc_share']:.0%} | {top} |")


def _render_targets(report: Mapping[str, Any], lines: list[str]) -> None:
    lines += ["", "Targets:", "", "| target | measured | limit | met |", "|---|--:|--:|---|"]
    for t in report["targets"]:
        sign = "≤" if t["better"] == "lower" else "≥"
        measured = "-" if t["measured"] is None else f"{t['measured']:.2f} {t['unit']}"
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        detail = f" ({t['detail']})" if t["detail"] else ""
        lines.append(
            f"| {t['name']}{detail} | {measured} | {sign} {t['limit']:g} {t['unit']} | {met} |"
        )
    if report["mode"] == "quick":
        lines.append("")
        lines.append("(A quick run: small chain and few rounds; its figures are not the targets'.)")


def _render_environment(report: Mapping[str, Any], lines: list[str]) -> None:
    env = report["environment"]
    load = env.get("loadavg")
    load_end = env.get("loadavg_end")
    lines += [
        "",
        f"Environment: Python {env['python']}, SQLAlchemy {env['sqlalchemy']}, asyncpg "
        f"{env['asyncpg']}, attrs {env['attrs']}, greenlet {env['greenlet']}, dbsync_core "
        f"{env['dbsync_core']}; PostgreSQL {env.get('postgresql', '?')} "
        f"({env.get('server', '?')}); {env['cpu']}, {env['cores']} cores; {env['platform']}; "
        f"load average {load} at the start"
        + (f", {load_end} at the end" if load_end else "")
        + f"; GC {'on' if env['gc']['enabled'] else 'off'} {env['gc']['thresholds']}.",
    ]
    if report.get("command"):
        lines += ["", f"Command: `{report['command']}`"]


# ---------------------------------------------------------------------------------------------
# The database: a synthetic chain, loaded once and reused, or a given database
# ---------------------------------------------------------------------------------------------


def bench_epochs(txs: int) -> int:
    """Epochs for a benchmark chain of ``txs``: few enough that the busiest holds ≥ 100k txs
    at 1M (the synthetic default spreads 1M txs over 50 epochs of ~20k)."""
    byron = 2
    return byron + max(6, (txs - txs // 25) // 100_000)


def chain_name(txs: int, seed: int, variant_name: str) -> str:
    """The database name of a cached benchmark chain."""
    return f"dbsync_bench_{txs}_s{seed}_{variant_name.replace('-', '_')}"


async def _database_exists(server_url: URL, name: str) -> bool:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def prepare_chain(
    server: PgServer,
    *,
    txs: int,
    seed: int = 0,
    cache: Path | None,
    log: Log,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[URL, dict[str, Any]]:
    """A database on ``server`` holding the synthetic chain of ``txs`` (default variant).

    With ``cache``, the chain is kept and reused: a marker file written after a complete load
    names it (a database without its marker is dropped and loaded again).
    """
    from dbsync_core.synth import ChainConfig, Variant, seed_database  # noqa: PLC0415

    config = ChainConfig(txs=txs, seed=seed, epochs=bench_epochs(txs), truth=False)
    variant = Variant()
    name = chain_name(txs, seed, variant.name)
    url = server.database_url(name)
    marker = cache / "chains" / f"{name}.json" if cache is not None else None
    if marker is not None and marker.exists() and await _database_exists(server.url, name):
        info: dict[str, Any] = json.loads(marker.read_text())
        log(f"reusing the cached chain {name} (loaded in {info['load_seconds']:.0f} s)")
        return url, info
    await drop_database(server.url, name)
    await create_database(server.url, name)
    log(f"loading a synthetic chain of {txs:,} txs into {name} ...")
    report = await seed_database(url, config, variant, progress=progress)
    info = {
        "name": name,
        "txs": txs,
        "seed": seed,
        "epochs": config.total_epochs,
        "variant": variant.name,
        "rows": report.total_rows,
        "load_seconds": report.seconds,
        "heavy_address": report.heavy_address,
    }
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(info, indent=2) + "\n")
    log(f"loaded {report.total_rows:,} rows in {report.seconds:.1f} s")
    return url, info


def chain_description(info: Mapping[str, Any] | None, env: Env) -> dict[str, Any]:
    """What the report says about the database."""
    if info:
        text = (
            f"synthetic chain of {info['txs']:,} txs (seed {info['seed']}, {info['epochs']} "
            f"epochs, {info['variant']}, {info['rows']:,} rows)"
        )
        return {**info, "description": text}
    layout = env.layout
    text = (
        f"database {env.url.database} ({env.facts.tx_span:,} tx ids, "
        f"{'address' if layout.address_table else 'core'}-{layout.spent})"
    )
    return {"description": text, "database": env.url.database}


# ---------------------------------------------------------------------------------------------
# Entry points: the demo's table and ``dbsync-core bench``
# ---------------------------------------------------------------------------------------------


async def quick_table(url: URL, *, log: Log | None = None) -> str:
    """The demo's closing table: the core workloads (one bulk size, no context paths), a few
    short rounds, on ``url``; seconds on the demo's chain."""
    settings = Settings.for_quick()
    async with contextlib.AsyncExitStack() as stack:
        env = await open_env(stack, url)
        size = 10_000 if env.facts.tx_span >= 10_000 else 1_000
        workloads = core_workloads(env, sizes=(size,), context=False)
        results = await run_workloads(workloads, settings, log or (lambda _m: None))
        report = build_report(results, env=env, settings=settings)
    return render_markdown(report, brief=True)


def _data_dir(cache: Path | None, stack: contextlib.ExitStack) -> Path:
    """The embedded server's data directory: in ``cache`` (kept), else a temporary one."""
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        return cache / "pgdata"
    import tempfile  # noqa: PLC0415

    return Path(stack.enter_context(tempfile.TemporaryDirectory())) / "pg"


async def bench_command(
    *,
    dsn: str | None,
    txs: int,
    seed: int,
    quick: bool,
    rounds: int | None,
    out: Path | None,
    pool: int = 10,
    cache: Path | None,
    log: Log,
) -> dict[str, Any]:
    """``dbsync-core bench``: the core workloads against ``dsn`` (read only), or an embedded
    PostgreSQL with a synthetic chain; returns the report (and writes it into ``out``)."""
    from dbsync_core._pg import embedded_server  # noqa: PLC0415

    settings = Settings.for_quick() if quick else Settings()
    if rounds is not None:
        settings = attrs.evolve(settings, rounds=rounds)
    with contextlib.ExitStack() as sync_stack:
        info: dict[str, Any] | None = None
        if dsn:
            url = sqlalchemy_url(dsn)
            kind = "dsn"
        else:
            datadir = _data_dir(cache, sync_stack)
            log("starting an embedded PostgreSQL ...")
            server: PgServer = sync_stack.enter_context(
                embedded_server(datadir, keep=cache is not None)
            )
            kind = "embedded"
            url, info = await prepare_chain(server, txs=txs, seed=seed, cache=cache, log=log)
        async with contextlib.AsyncExitStack() as stack:
            env = await open_env(stack, url, heavy_address=info["heavy_address"] if info else None)
            env.pool_size = pool
            env_info = environment(env)
            env_info["server"] = kind
            results = await run_workloads(core_workloads(env), settings, log)
            costs = {"import": import_cost(2 if quick else 11), "footprint": footprint()}
            env_info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
            report = build_report(
                results,
                env=env,
                settings=settings,
                chain=chain_description(info, env),
                costs=costs,
                command="dbsync-core bench" + (" --quick" if quick else ""),
                environment_info=env_info,
            )
    if out is not None:
        write_report_files(report, out)
    return report


def write_report_files(report: Mapping[str, Any], out: Path) -> list[Path]:
    """``bench.md`` and ``bench.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / "bench.md"
    md.write_text(render_markdown(report))
    js = out / "bench.json"
    js.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return [md, js]


if __name__ == "__main__":
    if sys.argv[1:] == ["probe"]:
        sys.exit(_probe_main())
    sys.exit("usage: python -m dbsync_core._bench probe  (JSON spec on stdin)")
