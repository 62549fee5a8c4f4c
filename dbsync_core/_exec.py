"""Executors: run a ``Query[R]`` on the caller's ``AsyncConnection`` and build records.

The hot path, in the order it matters (see the performance notes in the docs):

- each statement is compiled once with the connection's asyncpg dialect (``$n`` placeholders):
  first by the identity of the ``Select`` object, else by its SQLAlchemy cache key, and the SQL
  text and the positional parameter order are kept;
- the SQL runs directly on the asyncpg connection under the ``AsyncConnection``, whose statement
  cache reuses the prepared statement; a read outside a transaction sends no BEGIN/ROLLBACK, and
  inside one the transaction SQLAlchemy owes the driver is started first, so the read sees the
  caller's snapshot;
- rows become records through a generated builder, with the cyclic GC paused for large results;
- ``numeric`` arrives as ``int`` when integral (a text codec installed once per connection).

The fast path bypasses SQLAlchemy's cursor: ``before_cursor_execute`` events and echo logging do
not see these statements, result processors of custom types are not applied, and driver errors
arrive as asyncpg exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio.exc import AsyncContextNotStarted

from dbsync_core.codecs import parse_limit
from dbsync_core.exceptions import InvalidInputError, NotFoundError
from dbsync_core.query import _NO_PARAMS, Page, Query, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Mapping, Sequence

    from sqlalchemy import Select
    from sqlalchemy.engine import Connection, Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction
    from sqlalchemy.sql.compiler import SQLCompiler

    from dbsync_core._rowbuild import RowMaker

__all__ = [
    "Driver",
    "acquire_driver",
    "decode_numeric",
    "fetch_all",
    "fetch_one",
    "fetch_optional",
    "fetch_scalar",
    "install_codecs",
    "pages",
    "stream",
]

R = TypeVar("R")

#: Results with at least this many rows are built with the cyclic GC paused.
GC_PAUSE_ROWS = 1000

_CODECS_KEY = "dbsync_core.codecs"


class Driver(Protocol):
    """The part of ``asyncpg.Connection`` the executors use."""

    async def fetch(self, query: str, *args: object) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: object) -> Any: ...
    async def fetchval(self, query: str, *args: object) -> Any: ...
    def cursor(self, query: str, *args: object) -> Any: ...
    async def prepare(self, query: str, *, name: str | None = None) -> Any: ...
    def transaction(self) -> Any: ...
    def is_in_transaction(self) -> bool: ...
    async def set_type_codec(
        self,
        typename: str,
        *,
        schema: str,
        encoder: Any,
        decoder: Any,
        format: str,  # noqa: A002  (asyncpg's name)
    ) -> None: ...


# ---------------------------------------------------------------------------------------------
# numeric → int
# ---------------------------------------------------------------------------------------------


def decode_numeric(text: str) -> int | Decimal:
    """A ``numeric`` in PostgreSQL's text form: ``int`` when integral, else ``Decimal``.

    Integral values print without a point, so lovelace is always ``int``; fractions, NaN stay exact.
    """
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


async def _set_codecs(driver: Driver) -> None:
    # pg_catalog builtins need no introspection query: this sends nothing to the server.
    await driver.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=decode_numeric, format="text"
    )


def install_codecs(dbapi_connection: Any, connection_record: Any = None) -> None:
    """Engine ``connect`` handler (``event.listen(engine.sync_engine, "connect", install_codecs)``):
    decode ``numeric`` as :func:`decode_numeric` does. Without it, executors install it lazily.
    """
    dbapi_connection.run_async(_set_codecs)
    if connection_record is not None:
        connection_record.info[_CODECS_KEY] = dbapi_connection.driver_connection


# ---------------------------------------------------------------------------------------------
# The driver connection under an AsyncConnection
# ---------------------------------------------------------------------------------------------


def _sync(conn: AsyncConnection) -> Connection:
    sync = conn.sync_connection
    if sync is None:
        msg = "AsyncConnection context has not been started and object has not been awaited."
        raise AsyncContextNotStarted(msg)
    return sync


async def acquire_driver(conn: AsyncConnection) -> Driver:
    """The asyncpg connection under ``conn``, ready to run a statement in ``conn``'s transaction.

    Installs the numeric codec once; starts the driver transaction SQLAlchemy begins lazily.
    """
    return await _driver(conn, _sync(conn))


async def _driver(conn: AsyncConnection, sync: Connection) -> Driver:
    fairy: Any = sync._dbapi_connection  # noqa: SLF001  (None once closed or invalidated)
    if fairy is None:
        fairy = await conn.get_raw_connection()  # raises if closed; reconnects if invalidated
    adapter = fairy.dbapi_connection
    driver: Driver = adapter.driver_connection
    info = fairy.info
    if info.get(_CODECS_KEY) is not driver:
        await _set_codecs(driver)
        info[_CODECS_KEY] = driver
    if sync.in_transaction() and adapter._transaction is None and not adapter.autocommit:  # noqa: SLF001
        async with adapter._execute_mutex:  # noqa: SLF001
            if adapter._transaction is None:  # noqa: SLF001
                await adapter._start_transaction()  # noqa: SLF001
    return driver


async def _ready(
    conn: AsyncConnection, statement: Select[Any], params: Mapping[str, object]
) -> tuple[Driver, str, list[object]]:
    """The SQL and arguments (bound before any I/O), and the driver to run them on."""
    # The hot path of every executor: _driver() inlined, attribute lookups kept to a minimum.
    sync = conn.sync_connection
    if sync is None:
        sync = _sync(conn)
    dialect = sync.dialect
    plan = _PLANS.get((id(statement), id(dialect)))
    if plan is None:
        plan = _new_plan(dialect, statement)
    sql, args = plan.bind(params)
    fairy: Any = sync._dbapi_connection  # noqa: SLF001
    if fairy is None:
        return await _driver(conn, sync), sql, args
    adapter = fairy.dbapi_connection
    driver: Driver = adapter.driver_connection
    if fairy.info.get(_CODECS_KEY) is not driver or (
        sync.in_transaction() and adapter._transaction is None  # noqa: SLF001
    ):
        return await _driver(conn, sync), sql, args
    return driver, sql, args


def _adapter(conn: AsyncConnection) -> Any:
    """SQLAlchemy's DBAPI adapter under ``conn`` (valid after :func:`acquire_driver`)."""
    sync = conn.sync_connection
    assert sync is not None
    return sync.connection.dbapi_connection


# ---------------------------------------------------------------------------------------------
# Compiled statements
# ---------------------------------------------------------------------------------------------


class _Plan:
    """A statement compiled for one dialect, with its parameters laid out by position."""

    __slots__ = (
        "by_key",
        "compiled",
        "defaults",
        "dialect",
        "direct",
        "direct_processors",
        "expanding",
        "positions",
        "processors",
        "required",
        "sql",
        "statement",
        "values",
    )

    def __init__(
        self,
        statement: Select[Any],
        dialect: Dialect,
        compiled: SQLCompiler,
        extracted: Sequence[Any] | None,
        collected: Mapping[str, Any] | None,
    ) -> None:
        self.statement = statement  # held so that id(statement) stays this statement's
        self.dialect = dialect
        self.compiled = compiled
        kwargs: dict[str, Any] = {"_collected_params": collected} if collected else {}
        # This statement's own bind values, mapped onto the (possibly shared) compiled form.
        self.values: dict[str, Any] = dict(
            compiled.construct_params(
                None, extracted_parameters=extracted, escape_names=False, _check=False, **kwargs
            )
        )
        binds = compiled.binds
        self.by_key = {bp.key: name for name, bp in binds.items()}
        self.required = frozenset(bp.key for bp in binds.values() if bp.required)
        # Expanding IN and literal_execute parameters change the SQL text: expanded per call.
        self.expanding = bool(compiled.post_compile_params or compiled.literal_execute_params)
        self.sql = compiled.string
        self.processors: list[Any] = []
        self.defaults: list[object] = []
        self.positions: dict[str, list[int]] = {}
        self.direct: tuple[str, ...] | None = None
        self.direct_processors: list[tuple[int, Any]] = []
        if self.expanding:
            return
        state = compiled.construct_expanded_state(self.values, escape_names=False)
        order = list(state.positiontup or ())
        self.sql = state.statement
        self.processors = [state.processors.get(name) for name in order]
        self.defaults = [
            value if proc is None else proc(value)
            for value, proc in zip(state.positional_parameters, self.processors, strict=True)
        ]
        for index, name in enumerate(order):
            self.positions.setdefault(binds[name].key, []).append(index)
        # When every position takes its own caller-supplied key, binding is one list display.
        keys = [binds[name].key for name in order]
        if len(set(keys)) == len(keys) and set(keys) == self.required:
            self.direct = tuple(keys)
            self.direct_processors = [
                (index, proc) for index, proc in enumerate(self.processors) if proc is not None
            ]

    def bind(self, params: Mapping[str, object]) -> tuple[str, list[object]]:
        """The SQL text and positional arguments with ``params`` (by bind key) filled in."""
        direct = self.direct
        if direct is not None and len(params) == len(direct):
            try:
                args = [params[key] for key in direct]
            except KeyError:
                pass
            else:
                for index, proc in self.direct_processors:
                    args[index] = proc(args[index])
                return self.sql, args
        return self._bind_general(params)

    def _bind_general(self, params: Mapping[str, object]) -> tuple[str, list[object]]:
        for key in self.required:
            if key not in params:
                msg = f"a value is required for the query parameter {key!r}"
                raise InvalidInputError(msg)
        if self.expanding:
            return self._bind_expanding(params)
        args = self.defaults.copy()
        if params:
            positions = self.positions
            processors = self.processors
            for key, value in params.items():
                where = positions.get(key)
                if where is None:
                    msg = f"the query has no parameter {key!r}"
                    raise InvalidInputError(msg)
                for index in where:
                    proc = processors[index]
                    args[index] = value if proc is None else proc(value)
        return self.sql, args

    def _bind_expanding(self, params: Mapping[str, object]) -> tuple[str, list[object]]:
        values = dict(self.values)
        for key, value in params.items():
            name = self.by_key.get(key)
            if name is None:
                msg = f"the query has no parameter {key!r}"
                raise InvalidInputError(msg)
            values[name] = value
        state = self.compiled.construct_expanded_state(values, escape_names=False)
        processors = state.processors
        args: list[object] = []
        for name in state.positiontup or ():
            value = state.parameters[name]
            proc = processors.get(name)
            args.append(value if proc is None else proc(value))
        return state.statement, args


_PLANS: dict[tuple[int, int], _Plan] = {}
_PLANS_MAX = 1024
_SHAPES: dict[tuple[Any, int], tuple[Dialect, SQLCompiler]] = {}
_SHAPES_MAX = 512


def _evict_oldest(cache: dict[Any, Any], limit: int) -> None:
    if len(cache) >= limit:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # a racing thread
            del cache[next(iter(cache))]


def _new_plan(dialect: Dialect, statement: Select[Any]) -> _Plan:
    plan = _make_plan(dialect, statement)
    _evict_oldest(_PLANS, _PLANS_MAX)
    _PLANS[id(statement), id(dialect)] = plan
    return plan


def _make_plan(dialect: Dialect, statement: Select[Any]) -> _Plan:
    cache_key = statement._generate_cache_key()  # noqa: SLF001
    if cache_key is None:  # a construct SQLAlchemy cannot cache: compile this statement alone
        compiled: Any = statement.compile(dialect=dialect)
        return _Plan(statement, dialect, compiled, None, None)
    shape_key = (cache_key.key, id(dialect))
    shape = _SHAPES.get(shape_key)
    if shape is None:
        compiled = statement.compile(dialect=dialect, cache_key=cache_key)
        _evict_oldest(_SHAPES, _SHAPES_MAX)
        _SHAPES[shape_key] = (dialect, compiled)
    else:
        compiled = shape[1]
    collected = getattr(cache_key, "params", None)  # SQLAlchemy 2.1: params given via .params()
    return _Plan(statement, dialect, compiled, cache_key.bindparams, collected)


def _bind(
    conn: AsyncConnection, statement: Select[Any], params: Mapping[str, object]
) -> tuple[str, list[object]]:
    dialect = _sync(conn).dialect
    plan = _PLANS.get((id(statement), id(dialect))) or _new_plan(dialect, statement)
    return plan.bind(params)


def _build(maker: RowMaker[R], rows: Sequence[Any]) -> list[R]:
    if len(rows) < GC_PAUSE_ROWS or not gc.isenabled():
        return maker.many(rows)
    # Building many small objects triggers full collections that scan the whole heap.
    gc.disable()
    try:
        return maker.many(rows)
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------


async def fetch_all(conn: AsyncConnection, query: Query[R]) -> list[R]:
    """Every row of ``query`` as records."""
    statement, params = query._effective(page=False)  # noqa: SLF001
    driver, sql, args = await _ready(conn, statement, params)
    return _build(query.maker, await driver.fetch(sql, *args))


async def fetch_optional(conn: AsyncConnection, query: Query[R]) -> R | None:
    """The first row of ``query`` as a record, or None when there is none."""
    if query.after_key is None:
        statement, params = query.statement, query.params
    else:
        statement, params = query._effective(page=False)  # noqa: SLF001
    driver, sql, args = await _ready(conn, statement, params)
    row = await driver.fetchrow(sql, *args)
    return None if row is None else query.maker.one(row)


async def fetch_one(conn: AsyncConnection, query: Query[R]) -> R:
    """The first row of ``query`` as a record; :class:`NotFoundError` when there is none."""
    if query.after_key is None:
        statement, params = query.statement, query.params
    else:
        statement, params = query._effective(page=False)  # noqa: SLF001
    driver, sql, args = await _ready(conn, statement, params)
    row = await driver.fetchrow(sql, *args)
    if row is None:
        msg = "the query returned no row"
        raise NotFoundError(msg)
    return query.maker.one(row)


async def fetch_scalar(
    conn: AsyncConnection,
    query: Query[Any] | Select[Any],
    params: Mapping[str, object] | None = None,
) -> Any:
    """The first column of the first row (the driver's value), or None when there is no row."""
    if isinstance(query, Query):
        statement, bound = query._effective(page=False)  # noqa: SLF001
        if params:
            bound = {**bound, **params}
    else:
        statement, bound = query, params or _NO_PARAMS
    driver, sql, args = await _ready(conn, statement, bound)
    return await driver.fetchval(sql, *args)


async def pages(
    conn: AsyncConnection, query: Query[R], *, page_size: int, cursor: str | None = None
) -> Page[R]:
    """One keyset page of ``query``; pass ``next_cursor`` back as ``cursor`` for the next one.

    The opaque token encodes the last row's key: no OFFSET, each page starts where the last ended.
    """
    size = parse_limit(page_size, arg="page_size")
    if query.keyset is None:
        msg = "query: pages() needs a query with a keyset"
        raise InvalidInputError(msg)
    keyset = query.keyset
    after = None if cursor is None else decode_cursor(keyset, cursor)
    statement, params = query._effective(page=True, after=after, limit=size + 1)  # noqa: SLF001
    driver, sql, args = await _ready(conn, statement, params)
    rows = await driver.fetch(sql, *args)
    more = len(rows) > size
    items = _build(query.maker, rows[:size] if more else rows)
    token = encode_cursor(keyset, keyset.key(items[-1])) if more else None
    return Page(items, token)


def stream(
    conn: AsyncConnection, query: Query[R], *, batch_size: int = 1000
) -> AsyncGenerator[R, None]:
    """Every row of ``query`` through a server-side cursor, ``batch_size`` rows per round trip.

    Runs in the caller's transaction, else in its own, ended at exhaustion or ``aclose()``
    (use ``contextlib.aclosing``: a dropped stream leaves it open, like an autobegun execute).
    """
    size = parse_limit(batch_size, arg="batch_size", maximum=1_000_000)
    statement, params = query._effective(page=False)  # noqa: SLF001
    sql, args = _bind(conn, statement, params)
    return _stream(conn, sql, args, query.maker, size)


async def _stream(
    conn: AsyncConnection, sql: str, args: list[object], maker: RowMaker[R], size: int
) -> AsyncGenerator[R, None]:
    owner = asyncio.current_task()
    began: AsyncTransaction | None = None if conn.in_transaction() else await conn.begin()
    own: Any = None  # a driver transaction we started (AUTOCOMMIT connections only)
    failed = False
    try:
        driver = await acquire_driver(conn)
        if not driver.is_in_transaction():
            own = driver.transaction()
            await own.start()
            # Registered with SQLAlchemy's adapter, so its commit, rollback and pool reset end it.
            _adapter(conn)._transaction = own  # noqa: SLF001
        if getattr(driver, "_stmt_cache_enabled", True):
            cursor = await driver.cursor(sql, *args)
        else:
            # Statement cache off (PgBouncer in transaction mode): asyncpg's cursor() would
            # leave a named statement behind on a server connection that other clients share;
            # an unnamed one feeds the portal and ends with it.
            cursor = await (await driver.prepare(sql, name="")).cursor(*args)
        while True:
            rows = await cursor.fetch(size)
            if rows:
                for record in _build(maker, rows):
                    yield record
            if len(rows) < size:
                break
    except BaseException as error:
        failed = not isinstance(error, GeneratorExit)
        raise
    finally:
        # Only from the task that iterated: a stream finalised by the garbage collector runs
        # here in a task of its own, possibly after the connection went back to the pool.
        if asyncio.current_task() is owner:
            await _end_stream(conn, began, own, failed=failed)


async def _end_stream(
    conn: AsyncConnection, began: AsyncTransaction | None, own: Any, *, failed: bool
) -> None:
    if own is not None and began is None:
        adapter = _adapter(conn)
        if adapter._transaction is own:  # noqa: SLF001
            adapter._transaction = None  # noqa: SLF001
            await (own.rollback() if failed else own.commit())
    if began is not None and began.is_active:
        await (began.rollback() if failed else began.commit())
