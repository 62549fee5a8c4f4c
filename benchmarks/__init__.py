"""dbsync_core's benchmark suite (not installed with the package): ``python -m benchmarks``.

Every workload runs three ways on one database in one process: raw asyncpg on the SQL the
library emits (the floor), dbsync_core's public API, and the SQLAlchemy ORM as its users write it.
A correctness gate compares the three answers before anything is timed. The runner, the core
workloads and the report format are in :mod:`dbsync_core._bench` (``dbsync-core bench`` uses
them too); this package adds the rest of the suite (:mod:`benchmarks.suite`), the ORM mapping
(:mod:`benchmarks.orm`) and the report files with the chart (:mod:`benchmarks.report`).
See ``docs/performance.md``.
"""
