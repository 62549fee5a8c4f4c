"""The full suite: which workloads run, in which order, and which get memory and cold-start
probes. Workloads are named ``"module:factory"`` with their arguments, so that a probe in a fresh
interpreter can rebuild the same one.

To add a workload: write a factory ``(env, *args) -> Workload | None`` (see
:mod:`benchmarks.txs` for the pattern: the floor runs :func:`~dbsync_core._bench.floor_sql` of
the library's query, each path has a normaliser so the gate can compare), then list it here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsync_core._bench import Env, Workload

__all__ = ["COLD", "MEMORY", "SUITE", "WorkloadRef", "build"]

#: A workload factory by import path, and its arguments.
WorkloadRef = tuple[str, tuple[Any, ...]]

_CORE = "dbsync_core._bench"

SUITE: tuple[WorkloadRef, ...] = (
    (f"{_CORE}:latest_blocks_workload", ()),
    (f"{_CORE}:tx_by_hash_workload", ()),
    (f"{_CORE}:tx_by_hash_concurrent_workload", ()),
    (f"{_CORE}:block_with_txs_workload", ()),
    (f"{_CORE}:epoch_stats_workload", ()),
    ("benchmarks.addresses:address_outputs_workload", ("light",)),
    ("benchmarks.addresses:address_outputs_workload", ("heavy",)),
    ("benchmarks.txs:batch_tx_hashes_workload", ()),
    ("benchmarks.addresses:batch_addresses_workload", ()),
    (f"{_CORE}:bulk_fetch_workload", (100,)),
    (f"{_CORE}:bulk_fetch_workload", (1_000,)),
    (f"{_CORE}:bulk_fetch_workload", (10_000,)),
    (f"{_CORE}:bulk_fetch_workload", (100_000,)),
    ("benchmarks.txs:stream_epoch_txs_workload", ()),
    ("benchmarks.txs:stream_all_txs_workload", ()),
)

#: Workloads whose peak memory is measured per path in fresh processes: (key, ref, modes).
#: The largest bulk fetch the chain allows stands in for 100k on small chains.
MEMORY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bulk_largest", ("rss", "tracemalloc")),
    ("stream_epoch_txs", ("rss",)),
    ("stream_all_txs", ("rss",)),
)

#: The workload of the cold-first-call measurement.
COLD: WorkloadRef = (f"{_CORE}:tx_by_hash_workload", ())


def factory(ref: str) -> Any:
    """The factory a ``"module:name"`` reference names."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def build(
    env: Env, only: set[str] | None = None
) -> tuple[list[tuple[Workload, WorkloadRef]], list[str]]:
    """The suite's workloads on ``env`` (``only``: keys to keep), and what was left out, why."""
    made: list[tuple[Workload, WorkloadRef]] = []
    skipped: list[str] = []
    for ref in SUITE:
        workload = factory(ref[0])(env, *ref[1])
        if workload is None:
            skipped.append(f"{ref[0].partition(':')[2]}{ref[1] or ''}: not applicable here")
            continue
        if only and not any(word in workload.key for word in only):
            continue
        made.append((workload, ref))
    return made, skipped
