"""``retry()``: run an idempotent read again, on a fresh connection, after a transient fault."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

import attrs
from sqlalchemy.ext.asyncio import AsyncEngine

from dbsync_core.exceptions import InvalidInputError
from dbsync_core.runtime._engine import (
    check_bool,
    check_int,
    check_optional_seconds,
    check_seconds,
    describe_error,
    invalidate_quietly,
)
from dbsync_core.runtime._faults import is_connection_error, is_transient
from dbsync_core.runtime._snapshot import snapshot as engine_snapshot

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core.runtime._router import ReplicaRouter

__all__ = ["RetryPolicy", "retry"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_log = logging.getLogger("dbsync_core.runtime")


@attrs.frozen
class RetryPolicy:
    """How :func:`retry` retries: attempts, exponential backoff with full jitter, time limits.

    Retry n sleeps a random time in ``[0, min(max_delay, base_delay * 2**(n-1))]``; no retry
    starts after ``max_time`` seconds; ``attempt_timeout`` cancels an attempt (not retried).
    """

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 1.0
    max_time: float | None = 15.0
    attempt_timeout: float | None = None

    def __attrs_post_init__(self) -> None:
        check_int(self.max_attempts, "max_attempts", 1, 1000)
        check_seconds(self.base_delay, "base_delay", maximum=3600.0)
        check_seconds(self.max_delay, "max_delay", maximum=3600.0)
        check_optional_seconds(self.max_time, "max_time")
        check_optional_seconds(self.attempt_timeout, "attempt_timeout")

    def backoff(self, retry_number: int) -> float:
        """The sleep before retry ``retry_number`` (1 for the first retry), in seconds."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry_number - 1, 60))
        return random.uniform(0.0, ceiling)  # noqa: S311  (jitter, not cryptography)


DEFAULT_POLICY = RetryPolicy()


def _check_source(source: object) -> None:
    from dbsync_core.runtime._router import ReplicaRouter  # noqa: PLC0415  (import cycle)

    if not isinstance(source, AsyncEngine | ReplicaRouter):
        msg = f"source: expected an AsyncEngine or a ReplicaRouter, got {type(source).__name__}"
        raise InvalidInputError(msg)


def _open(
    source: AsyncEngine | ReplicaRouter, *, snapshot: bool
) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    if isinstance(source, AsyncEngine):
        return engine_snapshot(source) if snapshot else source.connect()
    return source.snapshot() if snapshot else source.connect()


async def retry(
    source: AsyncEngine | ReplicaRouter,
    fn: Callable[[AsyncConnection, *Ts], Awaitable[T]],
    /,
    *args: *Ts,
    policy: RetryPolicy | None = None,
    snapshot: bool = False,
) -> T:
    """``await fn(conn, *args)`` on a connection from ``source`` (engine or router); after a
    transient fault (:func:`is_transient`) again on a fresh connection, as ``policy`` allows.

    For reads only (they must be safe to repeat). ``snapshot=True``: each attempt in a snapshot.
    """
    _check_source(source)
    if not callable(fn):
        msg = f"fn: expected an async callable taking the connection, got {type(fn).__name__}"
        raise InvalidInputError(msg)
    if policy is None:
        policy = DEFAULT_POLICY
    elif not isinstance(policy, RetryPolicy):
        msg = f"policy: expected a RetryPolicy, got {type(policy).__name__}"
        raise InvalidInputError(msg)
    snapshot = check_bool(snapshot, "snapshot")
    loop = asyncio.get_running_loop()
    started = loop.time()
    attempt = 1
    while True:
        connected: list[bool] = []
        try:
            return await _attempt(source, fn, args, policy, snapshot=snapshot, connected=connected)
        except Exception as exc:
            # A connect that timed out is a connection fault; a query that did is not.
            retryable = is_transient(exc) or (not connected and isinstance(exc, TimeoutError))
            if attempt >= policy.max_attempts or not retryable:
                raise
            delay = policy.backoff(attempt)
            if policy.max_time is not None and loop.time() - started + delay > policy.max_time:
                raise
            _log.warning(
                "transient fault, retrying in %.3f s (attempt %d of %d): %s",
                delay,
                attempt + 1,
                policy.max_attempts,
                describe_error(exc),
            )
        await asyncio.sleep(delay)
        attempt += 1


async def _attempt(
    source: AsyncEngine | ReplicaRouter,
    fn: Callable[[AsyncConnection, *Ts], Awaitable[T]],
    args: tuple[*Ts],
    policy: RetryPolicy,
    *,
    snapshot: bool,
    connected: list[bool],
) -> T:
    async with _open(source, snapshot=snapshot) as conn:
        connected.append(True)
        try:
            if policy.attempt_timeout is None:
                return await fn(conn, *args)
            async with asyncio.timeout(policy.attempt_timeout):
                return await fn(conn, *args)
        except Exception as exc:
            if is_connection_error(exc):
                # The executors' fast path reports driver errors as they are, so SQLAlchemy
                # has not invalidated the connection: do it, or the pool would hand it out again.
                await invalidate_quietly(conn)
            raise
