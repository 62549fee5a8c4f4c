"""``Query[R]``: a Core ``Select`` paired with the builder of its records, composable and typed.

A query is immutable: ``.where()``, ``.order_by()``, ``.limit()``, ``.after()`` and ``.bind()``
return a new one. Values that change from call to call travel in :attr:`Query.params` (named
``bindparam`` values) rather than in the statement, so that a catalogue builder hands the executor
the *same* ``Select`` object every time and the compiled SQL is found by identity.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from sqlalchemy import BigInteger, and_, asc, bindparam, desc, or_, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import DOMAIN

from dbsync_core._rowbuild import RowMaker, record_maker
from dbsync_core.exceptions import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.sql._typing import (
        _ColumnExpressionArgument,
        _ColumnExpressionOrStrLabelArgument,
    )
    from sqlalchemy.types import TypeEngine

__all__ = ["Keyset", "Page", "Query", "make_query"]

R = TypeVar("R")
T = TypeVar("T")

_NO_PARAMS: Mapping[str, object] = MappingProxyType({})

#: Bind parameter names the library adds; a user statement should not use them.
LIMIT_PARAM = "dbsync_limit"
AFTER_PARAM = "dbsync_after_{}"

_MAX_ROWS = 2**63 - 1


def _plain_type(column: ColumnElement[Any]) -> TypeEngine[Any]:
    # Operators on db-sync's DOMAIN-typed columns warn on SQLAlchemy 2.1 (no operator class);
    # comparing and ordering through the base type renders the same SQL without the warning.
    kind = column.type
    return kind.data_type if isinstance(kind, DOMAIN) else kind


def _plain(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return type_coerce(column, _plain_type(column)) if isinstance(column.type, DOMAIN) else column


def _python_type(column: ColumnElement[Any]) -> type[Any]:
    try:
        return _plain_type(column).python_type
    except NotImplementedError:
        return object


@attrs.frozen(eq=False)
class Keyset(Generic[R]):
    """A query's unique ordering key: ``(column, descending)`` pairs, and a record's key values.

    Key columns must be NOT NULL and the last one unique (usually an ``id``).
    """

    columns: tuple[tuple[ColumnElement[Any], bool], ...]
    key: Callable[[R], tuple[object, ...]]
    condition: ColumnElement[bool] = attrs.field(init=False)
    ordering: tuple[ColumnElement[Any], ...] = attrs.field(init=False)
    fingerprint: str = attrs.field(init=False)
    types: tuple[type[Any], ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if not self.columns:
            msg = "a keyset needs at least one column"
            raise ValueError(msg)
        plain = [_plain(column) for column, _ in self.columns]
        binds = [
            bindparam(AFTER_PARAM.format(index), type_=_plain_type(column))
            for index, (column, _) in enumerate(self.columns)
        ]
        descending = [flag for _, flag in self.columns]
        condition: ColumnElement[bool]
        if len(plain) == 1:
            condition = plain[0] < binds[0] if descending[0] else plain[0] > binds[0]
        elif all(descending) or not any(descending):
            left, right = tuple_(*plain), tuple_(*binds)
            condition = left < right if descending[0] else left > right
        else:
            # Mixed directions: (a > x) OR (a = x AND b < y) OR (a = x AND b = y AND c > z) ...
            terms = []
            for index, flag in enumerate(descending):
                last = plain[index] < binds[index] if flag else plain[index] > binds[index]
                equal = [plain[i] == binds[i] for i in range(index)]
                terms.append(and_(*equal, last))
            condition = or_(*terms)
        object.__setattr__(self, "condition", condition)
        object.__setattr__(
            self,
            "ordering",
            tuple(desc(c) if flag else asc(c) for c, flag in zip(plain, descending, strict=True)),
        )
        spec = "|".join(f"{column}:{'d' if flag else 'a'}" for column, flag in self.columns)
        object.__setattr__(self, "fingerprint", hashlib.blake2b(spec.encode()).hexdigest()[:12])
        object.__setattr__(self, "types", tuple(_python_type(column) for column, _ in self.columns))


# Derived statements (a base statement plus the keyset condition, the keyset ordering or a LIMIT
# parameter) are memoised by the identity of what they derive from, so that repeated paging of the
# same builder reuses one Select object and its compiled SQL. Entries hold strong references, so
# the ids in a key cannot be reused while the entry exists.
_DERIVED: dict[tuple[int, str, int], tuple[object, object, Select[Any]]] = {}
_DERIVED_MAX = 512


def _derived(
    statement: Select[Any], kind: str, arg: object, build: Callable[[], Select[Any]]
) -> Select[Any]:
    key = (id(statement), kind, id(arg))
    hit = _DERIVED.get(key)
    if hit is not None:
        return hit[2]
    result = build()
    if len(_DERIVED) >= _DERIVED_MAX:
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # a racing thread
            del _DERIVED[next(iter(_DERIVED))]
    _DERIVED[key] = (statement, arg, result)
    return result


def _with_limit_param(statement: Select[Any]) -> Select[Any]:
    return _derived(
        statement,
        "limit",
        None,
        lambda: statement.limit(bindparam(LIMIT_PARAM, type_=BigInteger)),
    )


def _keyset_ordered(statement: Select[Any], keyset: Keyset[Any], *, after: bool) -> Select[Any]:
    def build() -> Select[Any]:
        stmt = statement.where(keyset.condition) if after else statement
        return stmt.order_by(None).order_by(*keyset.ordering)

    return _derived(statement, "after" if after else "order", keyset, build)


def _check_limit(value: object, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{arg}: expected an int, got {type(value).__name__}"
        raise InvalidInputError(msg)
    if not 1 <= value <= _MAX_ROWS:
        msg = f"{arg}: expected 1..{_MAX_ROWS}, got {value}"
        raise InvalidInputError(msg)
    return value


@attrs.frozen(eq=False, weakref_slot=False)
class Query(Generic[R]):
    """A ``Select`` and the builder of its records ``R``; every method returns a new query.

    Make one with :meth:`Query.of` or a catalogue builder; run it with ``fetch_all`` & co.
    """

    statement: Select[Any]
    maker: RowMaker[R]
    params: Mapping[str, object] = _NO_PARAMS
    keyset: Keyset[R] | None = None
    after_key: tuple[object, ...] | None = None

    @staticmethod
    def of(
        record: type[T],
        statement: Select[Any],
        *,
        params: Mapping[str, object] | None = None,
        keyset: Keyset[T] | None = None,
    ) -> Query[T]:
        """A query whose rows build ``record`` by position; labels must equal its field names."""
        klass: type[Any] = record
        if not attrs.has(klass):
            msg = f"{record.__qualname__} is not an attrs class"
            raise TypeError(msg)
        labels = list(statement.selected_columns.keys())
        names = [field.name for field in attrs.fields(klass)]
        if labels != names:
            msg = f"the select's labels {labels} differ from {record.__qualname__}'s fields {names}"
            raise ValueError(msg)
        return Query(
            statement,
            record_maker(record, len(names)),
            params=MappingProxyType(dict(params)) if params else _NO_PARAMS,
            keyset=keyset,
        )

    def where(self, *clauses: _ColumnExpressionArgument[bool]) -> Query[R]:
        """Add WHERE criteria (ANDed with those already there)."""
        return attrs.evolve(self, statement=self.statement.where(*clauses))

    def order_by(self, *clauses: _ColumnExpressionOrStrLabelArgument[Any]) -> Query[R]:
        """Replace the ORDER BY (``.after()`` and ``pages`` still order by the keyset)."""
        return attrs.evolve(self, statement=self.statement.order_by(None).order_by(*clauses))

    def limit(self, n: int) -> Query[R]:
        """Return at most ``n`` rows (``n`` ≥ 1)."""
        n = _check_limit(n, "limit")
        return attrs.evolve(
            self,
            statement=_with_limit_param(self.statement),
            params=MappingProxyType({**self.params, LIMIT_PARAM: n}),
        )

    def after(self, key: Sequence[object]) -> Query[R]:
        """Rows strictly after ``key`` (keyset values, see :meth:`key_of`), in keyset order."""
        keyset = self._require_keyset("after")
        if isinstance(key, str | bytes) or not hasattr(key, "__len__"):
            msg = f"after: expected a tuple of {len(keyset.columns)} key values"
            raise InvalidInputError(msg)
        values = tuple(key)
        if len(values) != len(keyset.columns):
            msg = f"after: expected {len(keyset.columns)} key values, got {len(values)}"
            raise InvalidInputError(msg)
        if any(value is None for value in values):
            msg = "after: key values must not be None"
            raise InvalidInputError(msg)
        return attrs.evolve(self, after_key=values)

    def bind(self, **values: object) -> Query[R]:
        """Supply values for named ``bindparam``\\ s of the statement."""
        return attrs.evolve(self, params=MappingProxyType({**self.params, **values}))

    def key_of(self, record: R) -> tuple[object, ...]:
        """The keyset values of ``record`` (what :meth:`after` takes)."""
        return self._require_keyset("key_of").key(record)

    def to_select(self) -> Select[Any]:
        """The ``Select`` that runs (with the keyset condition and ordering once ``.after()``)."""
        return self._effective(page=False)[0]

    def _require_keyset(self, arg: str) -> Keyset[R]:
        if self.keyset is None:
            msg = f"{arg}: this query has no keyset"
            raise InvalidInputError(msg)
        return self.keyset

    def _effective(
        self, *, page: bool, after: tuple[object, ...] | None = None, limit: int = 0
    ) -> tuple[Select[Any], Mapping[str, object]]:
        """The statement and parameters to run; ``page`` orders by the keyset and adds a LIMIT."""
        key = after if after is not None else self.after_key
        statement = self.statement
        keyset = self.keyset
        if keyset is None or (key is None and not page):
            return statement, self.params
        params = dict(self.params)
        if key is not None:
            statement = _keyset_ordered(statement, keyset, after=True)
            for index, value in enumerate(key):
                params[AFTER_PARAM.format(index)] = value
        else:
            statement = _keyset_ordered(statement, keyset, after=False)
        if page:
            statement = _with_limit_param(statement)
            params[LIMIT_PARAM] = limit
        return statement, params


@attrs.frozen
class Page(Generic[R]):
    """One page of a keyset listing; pass :attr:`next_cursor` back for the next (None: last)."""

    items: list[R]
    next_cursor: str | None


# Cursor tokens: base64url(version byte + JSON [fingerprint, values] + 8-byte blake2b tag). The tag
# catches garbled or edited tokens; it is a checksum, not a secret, so a token is no capability.
_TOKEN_VERSION = 1
_TOKEN_TAG_KEY = b"dbsync_core.cursor"
_TOKEN_MAX = 4096


def _tag(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=8, key=_TOKEN_TAG_KEY).digest()


def _encode_value(value: object) -> object:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return "s:" + value
    if isinstance(value, bytes):
        return "b:" + value.hex()
    if isinstance(value, datetime):
        return "t:" + value.isoformat()
    if isinstance(value, Decimal):
        return "d:" + str(value)
    msg = f"cannot put a {type(value).__name__} key value in a cursor"
    raise TypeError(msg)


def _decode_value(value: object) -> object:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, str) and value[1:2] == ":":
        tag, text = value[0], value[2:]
        if tag == "s":
            return text
        if tag == "b":
            return bytes.fromhex(text)
        if tag == "t":
            return datetime.fromisoformat(text)
        if tag == "d":
            return Decimal(text)
    raise ValueError(value)


def encode_cursor(keyset: Keyset[Any], values: tuple[object, ...]) -> str:
    """An opaque, URL-safe token for the position after ``values`` in ``keyset`` order."""
    payload = [keyset.fingerprint, [_encode_value(value) for value in values]]
    raw = bytes([_TOKEN_VERSION]) + json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw + _tag(raw)).rstrip(b"=").decode("ascii")


def _unpack_token(token: object, arg: str) -> tuple[object, list[object]]:
    if not isinstance(token, str):
        msg = f"{arg}: expected a str token, got {type(token).__name__}"
        raise InvalidInputError(msg)
    damaged = f"{arg}: not a cursor token, or a damaged or altered one"
    if not token or len(token) > _TOKEN_MAX:
        raise InvalidInputError(damaged)
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInputError(damaged) from None
    # Re-encoding must give the token back: rejects stray characters the decoder skips.
    if len(blob) < 10 or base64.urlsafe_b64encode(blob).rstrip(b"=").decode() != token:
        raise InvalidInputError(damaged)
    raw, tag = blob[:-8], blob[-8:]
    if not hmac.compare_digest(tag, _tag(raw)):
        raise InvalidInputError(damaged)
    if raw[0] != _TOKEN_VERSION:
        msg = f"{arg}: unsupported cursor token version {raw[0]}"
        raise InvalidInputError(msg)
    try:
        fingerprint, encoded = json.loads(raw[1:])
        values = [_decode_value(item) for item in encoded]
    except (ValueError, TypeError):
        raise InvalidInputError(damaged) from None
    return fingerprint, values


def decode_cursor(keyset: Keyset[Any], token: object, *, arg: str = "cursor") -> tuple[object, ...]:
    """The key values of a token made by :func:`encode_cursor`; InvalidInputError if not one."""
    fingerprint, values = _unpack_token(token, arg)
    if fingerprint != keyset.fingerprint:
        msg = f"{arg}: the token belongs to a listing with a different order"
        raise InvalidInputError(msg)
    if len(values) != len(keyset.types):
        msg = f"{arg}: expected {len(keyset.types)} key values, got {len(values)}"
        raise InvalidInputError(msg)
    for value, expected in zip(values, keyset.types, strict=True):
        allowed = (int, Decimal) if expected is Decimal else expected
        if not isinstance(value, allowed) or (isinstance(value, bool) and expected is not bool):
            msg = f"{arg}: a key value has the wrong type ({type(value).__name__})"
            raise InvalidInputError(msg)
    return tuple(values)


# Catalogue builders make a Query per call; building it like a record (see _rowbuild) costs
# ~0.15 µs instead of ~0.6 µs through the frozen __init__.
_QUERY_MAKER = record_maker(Query, 5)


def make_query(
    statement: Select[Any],
    maker: RowMaker[R],
    params: Mapping[str, object],
    keyset: Keyset[R] | None = None,
) -> Query[R]:
    """``Query(statement, maker, params=params, keyset=keyset)``, faster (for hot builders)."""
    query: Query[R] = _QUERY_MAKER.one((statement, maker, params, keyset, None))
    return query
