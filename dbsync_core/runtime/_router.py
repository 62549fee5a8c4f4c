"""``ReplicaRouter``: spread reads over read replicas, skip failing or lagging ones."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Literal, Self

import attrs
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from dbsync_core.exceptions import InvalidInputError
from dbsync_core.runtime._engine import (
    check_bool,
    check_optional_seconds,
    check_seconds,
    describe_error,
    health_check,
    invalidate_quietly,
)
from dbsync_core.runtime._faults import is_connection_error
from dbsync_core.runtime._snapshot import snapshot as connection_snapshot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["ReplicaRouter", "ServerState", "Strategy"]

_log = logging.getLogger("dbsync_core.runtime")

Strategy = Literal["round_robin", "least_busy"]
_STRATEGIES = ("round_robin", "least_busy")
_MAX_REPLICAS = 64


@attrs.frozen
class ServerState:
    """What the router knows of one server (for a health endpoint)."""

    #: ``host:port/database`` (never credentials).
    name: str
    primary: bool
    #: Answered the last health check and has had no connection error since.
    up: bool
    #: Chosen for reads now (up, and within ``max_lag`` when that is set).
    usable: bool
    in_recovery: bool | None
    lag: timedelta | None
    #: Connections handed out by the router right now.
    in_flight: int
    #: Why it is down (``ExceptionClass: message``), else None.
    error: str | None


@attrs.define(eq=False)
class _Server:
    engine: AsyncEngine
    name: str
    primary: bool
    up: bool = True
    in_recovery: bool | None = None
    lag: timedelta | None = None
    in_flight: int = 0
    error: str | None = None


def _server_name(engine: AsyncEngine) -> str:
    url = engine.url
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


class ReplicaRouter:
    """Reads spread over replica engines, the primary as the fallback.

    A replica leaves the rotation on a connection error or a failed health check (every
    ``health_interval`` seconds) and comes back when a check passes; with ``max_lag``, a replica
    whose replay is further behind is skipped. ``read_primary=True`` also reads from the primary.
    """

    def __init__(
        self,
        primary: AsyncEngine,
        replicas: Sequence[AsyncEngine],
        *,
        strategy: Strategy = "round_robin",
        max_lag: timedelta | None = None,
        health_interval: float = 5.0,
        health_timeout: float = 2.0,
        read_primary: bool = False,
    ) -> None:
        if not isinstance(primary, AsyncEngine):
            msg = f"primary: expected an AsyncEngine, got {type(primary).__name__}"
            raise InvalidInputError(msg)
        if not isinstance(replicas, Sequence) or isinstance(replicas, str | bytes):
            msg = f"replicas: expected a sequence of AsyncEngine, got {type(replicas).__name__}"
            raise InvalidInputError(msg)
        if len(replicas) > _MAX_REPLICAS:
            msg = f"replicas: expected at most {_MAX_REPLICAS} engines"
            raise InvalidInputError(msg)
        for index, replica in enumerate(replicas):
            if not isinstance(replica, AsyncEngine) or replica is primary:
                msg = f"replicas[{index}]: expected an AsyncEngine other than the primary"
                raise InvalidInputError(msg)
        if strategy not in _STRATEGIES:
            msg = f"strategy: expected one of {', '.join(_STRATEGIES)}"
            raise InvalidInputError(msg)
        lag = check_optional_seconds(max_lag, "max_lag")
        self._max_lag = None if lag is None else timedelta(seconds=lag)
        self._interval = check_seconds(health_interval, "health_interval")
        self._timeout = check_seconds(health_timeout, "health_timeout", maximum=3600.0)
        self._read_primary = check_bool(read_primary, "read_primary")
        self._strategy: Strategy = strategy
        self._primary = _Server(primary, _server_name(primary), primary=True)
        self._replicas = [_Server(r, _server_name(r), primary=False) for r in replicas]
        self._turn = itertools.count()
        self._starting: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        replicas = ", ".join(s.name for s in self._replicas)
        return f"<ReplicaRouter primary={self._primary.name} replicas=[{replicas}]>"

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Check every server once and start the periodic health check (``connect`` does this
        on first use); :meth:`close` stops it.
        """
        if self._closed:
            msg = "the router is closed"
            raise RuntimeError(msg)
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(
                self._start(), name="dbsync_core: replica router start"
            )
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        await self.check()
        self._loop_task = asyncio.get_running_loop().create_task(
            self._health_loop(), name="dbsync_core: replica health checks"
        )

    async def close(self) -> None:
        """Stop the health checks (the engines stay open: they are the caller's)."""
        self._closed = True
        for task in (self._starting, self._loop_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception:  # noqa: BLE001  (the loop must survive; the error is logged)
                _log.exception("replica health check failed")

    # -- state -----------------------------------------------------------------------------

    async def check(self) -> tuple[ServerState, ...]:
        """Run the health check on every server now; replicas that pass are used again.

        A server whose pool is fully checked out is busy serving: its state is kept as is (a
        probe would only wait for the pool).
        """
        servers = [s for s in (self._primary, *self._replicas) if not _saturated(s.engine)]
        reports = await asyncio.gather(
            *(health_check(server.engine, timeout=self._timeout) for server in servers)
        )
        for server, report in zip(servers, reports, strict=True):
            before = self._usable(server)
            server.up = report.healthy
            server.error = report.error
            if report.healthy:
                server.in_recovery = report.in_recovery
                server.lag = report.replay_lag
            after = self._usable(server)
            if not server.primary and before != after:
                if after:
                    _log.info("replica %s back in rotation", server.name)
                else:
                    why = server.error or f"replay lag {server.lag}"
                    _log.warning("replica %s out of rotation: %s", server.name, why)
        return self.status()

    def status(self) -> tuple[ServerState, ...]:
        """The primary's state, then each replica's."""
        return tuple(
            ServerState(
                name=s.name,
                primary=s.primary,
                up=s.up,
                usable=self._usable(s),
                in_recovery=s.in_recovery,
                lag=s.lag,
                in_flight=s.in_flight,
                error=s.error,
            )
            for s in (self._primary, *self._replicas)
        )

    def _usable(self, server: _Server) -> bool:
        if not server.up:
            return False
        if server.primary or self._max_lag is None or server.in_recovery is False:
            return True
        return server.lag is not None and server.lag <= self._max_lag

    def _mark_down(self, server: _Server, exc: BaseException) -> None:
        if server.up:
            what = "primary" if server.primary else "replica"
            _log.warning("%s %s out of rotation: %s", what, server.name, describe_error(exc))
        server.up = False
        server.error = describe_error(exc)

    def _candidates(self) -> list[_Server]:
        """Servers to try in order: the strategy's pick first, the primary always last."""
        pool = [s for s in self._replicas if self._usable(s)]
        if self._read_primary and self._primary.up:
            pool.append(self._primary)
        if pool:
            turn = next(self._turn) % len(pool)
            pool = pool[turn:] + pool[:turn]
            if self._strategy == "least_busy":
                pool.sort(key=lambda s: s.in_flight)  # stable: ties keep the rotation
        if self._primary not in pool:
            pool.append(self._primary)
        return pool

    # -- connections -----------------------------------------------------------------------

    def connect(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """``async with router.connect() as conn``: a connection to the next usable server."""
        return self._lease(snapshot=False, deferrable=False)

    def snapshot(
        self, *, deferrable: bool = False
    ) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """:func:`~dbsync_core.runtime.snapshot` on one server: every query of the block there.

        ``deferrable=True`` runs on the primary (a standby cannot run SERIALIZABLE).
        """
        deferrable = check_bool(deferrable, "deferrable")
        return self._lease(snapshot=True, deferrable=deferrable)

    @contextlib.asynccontextmanager
    async def _lease(self, *, snapshot: bool, deferrable: bool) -> AsyncIterator[AsyncConnection]:
        if self._loop_task is None:
            await self.start()
        candidates = [self._primary] if deferrable else self._candidates()
        server, conn, stack = await self._open(candidates, snapshot=snapshot, deferrable=deferrable)
        try:
            async with stack:
                try:
                    yield conn
                except Exception as exc:
                    if is_connection_error(exc):
                        await invalidate_quietly(conn)
                        self._mark_down(server, exc)
                    raise
        finally:
            server.in_flight -= 1

    async def _open(
        self, candidates: list[_Server], *, snapshot: bool, deferrable: bool
    ) -> tuple[_Server, AsyncConnection, contextlib.AsyncExitStack]:
        """A connection (in a snapshot if asked) to the first candidate that gives one.

        A candidate whose connection fails (refused, lost, timed out) is marked down and the
        next one tried: nothing ran yet, so this is not a retry of the caller's work.
        """
        for position, server in enumerate(candidates):
            stack = contextlib.AsyncExitStack()
            server.in_flight += 1
            try:
                conn = await stack.enter_async_context(server.engine.connect())
                if snapshot:
                    await stack.enter_async_context(
                        connection_snapshot(conn, deferrable=deferrable)
                    )
            except BaseException as exc:
                server.in_flight -= 1
                with contextlib.suppress(Exception):
                    await stack.aclose()
                last = position == len(candidates) - 1
                if last or not isinstance(exc, Exception) or not _connect_failure(exc):
                    raise
                self._mark_down(server, exc)
                continue
            return server, conn, stack
        msg = "no server to connect to"  # unreachable: the primary is always a candidate
        raise AssertionError(msg)


def _connect_failure(exc: Exception) -> bool:
    """While connecting: a connection error, or a connect that timed out (not the pool's)."""
    return is_connection_error(exc) or isinstance(exc, TimeoutError)


def _saturated(engine: AsyncEngine) -> bool:
    """Whether every connection the engine's pool may open is checked out."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return False
    capacity = pool.size() + max(0, getattr(pool, "_max_overflow", 0))
    return pool.checkedout() >= capacity
