"""Which errors are transient: worth running the same read again on a new connection."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from dbsync_core.exceptions import DbsyncError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["TRANSIENT_SQLSTATES", "is_connection_error", "is_transient"]

#: SQLSTATEs after which the same read, run again, can succeed.
TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown (also what pg_terminate_backend sends)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, shutting down, in recovery)
    }
)
#: Of those, the ones that mean the connection or its server is gone (with all of class 08
#: but 08P01, a protocol violation, such as a startup parameter PgBouncer does not accept).
_CONNECTION_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})
_NOT_CONNECTION_SQLSTATES = frozenset({"08P01"})
#: Never transient, wherever they appear in the chain: bad input, not found, timeouts (a slow
#: query run again is as slow), pool exhaustion (retrying adds load where it is already too high).
_FINAL = (DbsyncError, PoolTimeoutError, TimeoutError)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (SQLAlchemy's ``orig``, ``__cause__``), bounded, no cycles."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 16:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            todo.append(orig)
        if current.__cause__ is not None:
            todo.append(current.__cause__)


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


@functools.cache
def _driver_errors() -> tuple[type[BaseException], type[BaseException]]:
    import asyncpg  # noqa: PLC0415  (kept off the import path of `import dbsync_core`)

    return asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError


def _broken_driver_connection(exc: BaseException) -> bool:
    interface_error, internal_error = _driver_errors()
    # A connection asyncpg already knows to be closed: InterfaceError "connection is closed"
    # (other InterfaceErrors are misuse). A protocol out of step with the server, as when a
    # server's FATAL goodbye arrives on an idle connection just before its end of stream:
    # InternalClientError. Either way that connection is done; a new one is not.
    if isinstance(exc, interface_error):
        return "connection is closed" in str(exc)
    return isinstance(exc, internal_error)


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection or its server is gone: lost, refused, shut down,
    starting up, out of connection slots, or the driver's protocol state broken.
    """
    for error in _chain(exc):
        if isinstance(error, _FINAL):
            return False
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        state = _sqlstate(error)
        if state in _NOT_CONNECTION_SQLSTATES:
            return False
        if state is not None and (state.startswith("08") or state in _CONNECTION_SQLSTATES):
            return True
        if isinstance(error, OSError) or _broken_driver_connection(error):
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether a read that failed with ``exc`` may succeed when run again on a new connection.

    Yes: connection errors (:func:`is_connection_error`), serialization failures, deadlocks.
    No: bad input, not found, SQL errors, timeouts, pool exhaustion.
    """
    if is_connection_error(exc):
        return True
    for error in _chain(exc):
        if isinstance(error, _FINAL):
            return False
        if _sqlstate(error) in TRANSIENT_SQLSTATES:
            return True
    return False
