"""Production runtime: the engine factory, snapshots, retries, health and read replicas.

See docs/deployment.md for pool sizing, PgBouncer, replicas and the read-only role.
"""

from __future__ import annotations

from dbsync_core.runtime._engine import (
    HealthReport,
    PoolStatus,
    create_engine,
    health_check,
    pool_status,
)
from dbsync_core.runtime._faults import is_connection_error, is_transient
from dbsync_core.runtime._retry import RetryPolicy, retry
from dbsync_core.runtime._router import ReplicaRouter, ServerState, Strategy
from dbsync_core.runtime._snapshot import snapshot

__all__ = [
    "HealthReport",
    "PoolStatus",
    "ReplicaRouter",
    "RetryPolicy",
    "ServerState",
    "Strategy",
    "create_engine",
    "health_check",
    "is_connection_error",
    "is_transient",
    "pool_status",
    "retry",
    "snapshot",
]
