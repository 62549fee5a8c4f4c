"""The engine factory, pool statistics and the health check."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from dbsync_core._exec import acquire_driver, install_codecs
from dbsync_core.exceptions import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["HealthReport", "PoolStatus", "create_engine", "health_check", "pool_status"]

_log = logging.getLogger("dbsync_core.runtime")

_SCHEMES = frozenset({"postgresql", "postgresql+asyncpg", "postgres"})
_NAMEDATALEN = 64  # PostgreSQL truncates names (application_name too) to 63 bytes


# ---------------------------------------------------------------------------------------------
# Argument checks (InvalidInputError naming the argument, never echoing a DSN)
# ---------------------------------------------------------------------------------------------


def check_bool(value: object, arg: str) -> bool:
    """``value`` if it is a bool."""
    if not isinstance(value, bool):
        msg = f"{arg}: expected a bool, got {type(value).__name__}"
        raise InvalidInputError(msg)
    return value


def check_int(value: object, arg: str, low: int, high: int) -> int:
    """``value`` if it is an int (not bool) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{arg}: expected an int, got {type(value).__name__}"
        raise InvalidInputError(msg)
    if not low <= value <= high:
        msg = f"{arg}: expected {low}..{high}, got {value if abs(value) < 10**12 else 'a huge int'}"
        raise InvalidInputError(msg)
    return value


def check_seconds(value: object, arg: str, *, maximum: float = 86_400.0) -> float:
    """A duration in seconds: a positive finite int/float or a positive ``timedelta``."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            seconds = math.inf
    else:
        msg = f"{arg}: expected seconds (int, float or timedelta), got {type(value).__name__}"
        raise InvalidInputError(msg)
    if not (math.isfinite(seconds) and 0 < seconds <= maximum):
        msg = f"{arg}: expected a duration in (0, {maximum:g}] seconds"
        raise InvalidInputError(msg)
    return seconds


def check_optional_seconds(value: object, arg: str, *, maximum: float = 86_400.0) -> float | None:
    """None, or :func:`check_seconds`."""
    return None if value is None else check_seconds(value, arg, maximum=maximum)


def engine_url(dsn: object) -> URL:
    """``dsn`` (``postgresql://`` or ``postgresql+asyncpg://``, str or URL) as an asyncpg URL.

    Error messages never repeat the DSN: it may hold a password.
    """
    url: URL | None = None
    if isinstance(dsn, URL):
        url = dsn
    elif isinstance(dsn, str):
        if "\x00" in dsn:
            msg = "dsn: contains a NUL character"
            raise InvalidInputError(msg)
        try:
            url = make_url(dsn)
        except (ArgumentError, ValueError, TypeError):
            url = None  # re-raised below, outside the handler: no context holding the DSN
        if url is None:
            msg = "dsn: not a database URL (expected postgresql://user@host:port/database)"
            raise InvalidInputError(msg)
    else:
        msg = f"dsn: expected a str or sqlalchemy URL, got {type(dsn).__name__}"
        raise InvalidInputError(msg)
    if url.drivername not in _SCHEMES:
        shown = url.drivername if len(url.drivername) <= 40 else url.drivername[:40] + "…"
        msg = f"dsn: expected a postgresql:// or postgresql+asyncpg:// URL, got {shown!r}://"
        raise InvalidInputError(msg)
    return url.set(drivername="postgresql+asyncpg")


def _check_application_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"application_name: expected a str or None, got {type(value).__name__}"
        raise InvalidInputError(msg)
    if not value.isascii() or not value.isprintable() or len(value) >= _NAMEDATALEN:
        msg = "application_name: expected at most 63 printable ASCII characters"
        raise InvalidInputError(msg)
    return value


# ---------------------------------------------------------------------------------------------
# create_engine
# ---------------------------------------------------------------------------------------------


def create_engine(
    dsn: str | URL,
    *,
    read_only: bool = True,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 10.0,
    statement_timeout: float | timedelta | None = None,
    application_name: str | None = "dbsync_core",
    pgbouncer: bool = False,
    pool_recycle: float | None = 1800.0,
    pool_pre_ping: bool = False,
    connect_timeout: float = 10.0,
    **kw: Any,
) -> AsyncEngine:
    """An ``AsyncEngine`` (asyncpg) set up for a read service: read-only sessions, pool limits,
    the numeric codec, dead pooled connections discarded at checkout.

    ``pgbouncer=True`` for PgBouncer in transaction mode (no named prepared statements; see
    docs/deployment.md for what changes). ``kw`` goes to SQLAlchemy's ``create_async_engine``.
    """
    url = engine_url(dsn)
    read_only = check_bool(read_only, "read_only")
    pgbouncer = check_bool(pgbouncer, "pgbouncer")
    pool_pre_ping = check_bool(pool_pre_ping, "pool_pre_ping")
    pool_size = check_int(pool_size, "pool_size", 1, 10_000)
    max_overflow = check_int(max_overflow, "max_overflow", 0, 10_000)
    pool_timeout = check_seconds(pool_timeout, "pool_timeout")
    connect_timeout = check_seconds(connect_timeout, "connect_timeout")
    timeout = check_optional_seconds(statement_timeout, "statement_timeout")
    recycle = check_optional_seconds(pool_recycle, "pool_recycle", maximum=365 * 86_400.0)
    name = _check_application_name(application_name)

    user_args: Mapping[str, Any] = kw.pop("connect_args", None) or {}
    if not hasattr(user_args, "items"):
        msg = "connect_args: expected a mapping"
        raise InvalidInputError(msg)
    settings: dict[str, str] = dict(user_args.get("server_settings") or {})
    connect_args: dict[str, Any] = {"timeout": connect_timeout, **user_args}
    if name is not None:
        settings["application_name"] = name  # PgBouncer tracks this one per client
    execution_options: dict[str, Any] = dict(kw.pop("execution_options", None) or {})
    if pgbouncer:
        # Transaction pooling: a client's statements may run on a different server connection
        # in every transaction, so nothing may outlive a transaction on the server. Unnamed
        # statements only (asyncpg and SQLAlchemy caches off, unless connect_args turns them on
        # for PgBouncer >= 1.21's max_prepared_statements); session settings cannot be sent
        # (PgBouncer rejects unknown startup parameters, and a SET would stay behind on a shared
        # server connection), so read-only becomes BEGIN READ ONLY on every transaction and the
        # statement timeout a client-side command timeout that cancels the query.
        connect_args.setdefault("statement_cache_size", 0)
        connect_args.setdefault("prepared_statement_cache_size", 0)
        if read_only:
            execution_options["postgresql_readonly"] = True
        if timeout is not None:
            connect_args["command_timeout"] = timeout
    else:
        if read_only:
            settings["default_transaction_read_only"] = "on"
        if timeout is not None:
            settings["statement_timeout"] = str(max(1, round(timeout * 1000)))
    connect_args["server_settings"] = settings
    if execution_options:
        kw["execution_options"] = execution_options

    poolclass = kw.get("poolclass")
    if poolclass is None or (isinstance(poolclass, type) and issubclass(poolclass, QueuePool)):
        # Sizing applies to queue pools only (NullPool, say, rejects these arguments).
        kw.update(pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
    engine = create_async_engine(
        url,
        pool_recycle=-1 if recycle is None else recycle,
        pool_pre_ping=pool_pre_ping,
        connect_args=connect_args,
        **kw,
    )
    event.listen(engine.sync_engine, "connect", install_codecs)
    event.listen(engine.sync_engine, "checkout", _discard_closed)
    return engine


def _discard_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool ``checkout``: a connection the server already closed is replaced, at no round trip.

    A terminated backend or a restarted server closes idle pooled connections; asyncpg notices
    the end of the stream, and raising DisconnectionError makes the pool open a fresh one.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        msg = "the pooled connection was closed by the server"
        raise DisconnectionError(msg)


# ---------------------------------------------------------------------------------------------
# Pool statistics and the health check
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class PoolStatus:
    """The engine pool's counters, for a health or metrics endpoint."""

    #: Configured number of pooled connections (``pool_size``).
    size: int
    #: Connections handed out right now.
    checked_out: int
    #: Connections open beyond ``size`` right now (at most ``max_overflow``).
    overflow: int
    #: Open connections idle in the pool.
    checked_in: int


def _require_engine(engine: object) -> AsyncEngine:
    if not isinstance(engine, AsyncEngine):
        msg = f"engine: expected an AsyncEngine, got {type(engine).__name__}"
        raise InvalidInputError(msg)
    return engine


def pool_status(engine: AsyncEngine) -> PoolStatus:
    """The pool counters of ``engine`` (zeros for pools that keep none, such as NullPool)."""
    pool = _require_engine(engine).pool
    if not isinstance(pool, QueuePool):
        return PoolStatus(0, 0, 0, 0)
    return PoolStatus(
        size=pool.size(),
        checked_out=pool.checkedout(),
        overflow=max(0, pool.overflow()),
        checked_in=pool.checkedin(),
    )


@attrs.frozen
class HealthReport:
    """One health probe of a server: whether it answered, how fast, and what it is."""

    healthy: bool
    #: Seconds for checkout plus one round trip (or until the failure).
    latency: float
    server_version: str | None
    #: True on a standby (a read replica), False on a primary, None when unknown.
    in_recovery: bool | None
    #: How far a standby's replay is behind (0 when it has replayed all it received); None on a
    #: primary or when unknown.
    replay_lag: timedelta | None
    #: ``ExceptionClass: message`` when unhealthy (never credentials).
    error: str | None
    pool: PoolStatus


# One round trip. Lag: 0 when everything received is replayed (an idle primary writes no
# transactions, so the replay timestamp alone would grow forever; after a restart the receiver
# starts at a segment boundary, behind what was already replayed); else the age of the last
# replayed transaction. No receiver yet (NULL): the age too, or NULL, meaning unknown.
_HEALTH_SQL = """
SELECT current_setting('server_version'),
       pg_is_in_recovery(),
       CASE
         WHEN NOT pg_is_in_recovery() THEN NULL
         WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN interval '0'
         ELSE greatest(interval '0', now() - pg_last_xact_replay_timestamp())
       END
"""


def describe_error(exc: BaseException) -> str:
    """``ExceptionClass: first line of the message`` (short; for logs and reports)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:200] + "…"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


async def health_check(engine: AsyncEngine, *, timeout: float = 2.0) -> HealthReport:  # noqa: ASYNC109  (bounds connect + query, applied with asyncio.timeout)
    """Ping ``engine``'s server within ``timeout`` seconds; never raises for a server failure.

    A connection that fails the probe is invalidated, so the pool does not hand it out again.
    """
    _require_engine(engine)
    seconds = check_seconds(timeout, "timeout", maximum=3600.0)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds), engine.connect() as conn:
            try:
                driver = await acquire_driver(conn)
                version, in_recovery, lag = await driver.fetchrow(_HEALTH_SQL)
            except BaseException:
                await invalidate_quietly(conn)
                raise
    except Exception as exc:  # noqa: BLE001  (any failure is the answer: unhealthy)
        return HealthReport(
            healthy=False,
            latency=time.perf_counter() - started,
            server_version=None,
            in_recovery=None,
            replay_lag=None,
            error=describe_error(exc),
            pool=pool_status(engine),
        )
    return HealthReport(
        healthy=True,
        latency=time.perf_counter() - started,
        server_version=str(version),
        in_recovery=bool(in_recovery),
        replay_lag=lag,
        error=None,
        pool=pool_status(engine),
    )


async def invalidate_quietly(conn: AsyncConnection) -> None:
    """Invalidate ``conn`` (the pool closes it rather than reuse it); errors are logged only."""
    try:
        await asyncio.shield(conn.invalidate())
    except Exception:  # noqa: BLE001  (already failing; the original error is what matters)
        _log.debug("invalidating a failed connection failed too", exc_info=True)
