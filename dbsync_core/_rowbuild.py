"""Row builders: one positional driver row becomes one record, with a single call per row.

Per record shape the work is done once (psycopg's row-factory split): the builder for a record
class and a column count is generated with ``exec`` and cached. For a frozen slotted attrs class
the generated code fills an instance of a *mutable twin* (a plain class with the same slots) and
then swaps its ``__class__`` to the record class: ~0.4 µs for a 17-column asyncpg row, against
~1.25 µs through the frozen ``__init__`` (``object.__setattr__`` per field is slower still). The
result is an ordinary instance of the record class: equal, hashable and frozen as usual. CPython
refuses the swap for classes with a ``__weakref__`` slot (records use ``weakref_slot=False``);
classes whose ``__init__`` does more (validators, converters, hooks) are built through it.
"""

from __future__ import annotations

import keyword
import types
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["RowMaker", "function_maker", "record_maker"]

R = TypeVar("R")


class RowMaker(Generic[R]):
    """Builds ``R`` from one positional row (:attr:`one`) or from a list of rows (:attr:`many`)."""

    __slots__ = ("fast", "many", "one")

    def __init__(
        self,
        one: Callable[[Sequence[Any]], R],
        many: Callable[[Sequence[Sequence[Any]]], list[R]],
        *,
        fast: bool = False,
    ) -> None:
        self.one = one
        self.many = many
        #: True when records are built without running the class's ``__init__``.
        self.fast = fast


_MAKERS: dict[tuple[type[Any], int], RowMaker[Any]] = {}


def record_maker(cls: type[R], columns: int) -> RowMaker[R]:
    """The cached builder of ``cls`` from rows of ``columns`` values, in field order."""
    key = (cls, columns)
    maker = _MAKERS.get(key)
    if maker is None:
        maker = _generate(cls, columns)
        _MAKERS[key] = maker
    return maker


def function_maker(fn: Callable[[Sequence[Any]], R]) -> RowMaker[R]:
    """A builder that calls ``fn(row)`` for every row (for shapes that are not attrs records)."""

    def many(rows: Sequence[Sequence[Any]]) -> list[R]:
        return [fn(row) for row in rows]

    return RowMaker(fn, many)


def _generate(cls: type[R], columns: int) -> RowMaker[R]:
    klass: type[Any] = cls
    if attrs.has(klass):
        names = [field.name for field in attrs.fields(klass)]
        if columns != len(names):
            msg = f"{cls.__qualname__} has {len(names)} fields, the rows have {columns} columns"
            raise ValueError(msg)
        twin = _twin_for(cls, names) if _plain_fields(cls, names) else None
        if twin is not None:
            return _twin_maker(cls, twin, names)
    return _init_maker(cls, columns)


def _plain_fields(cls: type[Any], names: list[str]) -> bool:
    """True when setting every field directly is all the class's ``__init__`` would do."""
    fields = attrs.fields(cls)
    if any(not f.init or f.converter is not None or f.validator is not None for f in fields):
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    if not all(name.isidentifier() and not keyword.iskeyword(name) for name in names):
        return False
    slots: set[str] = set()
    for klass in cls.__mro__[:-1]:
        declared = klass.__dict__.get("__slots__")
        if declared is None:  # a class without __slots__ gives instances a __dict__
            return False
        slots.update((declared,) if isinstance(declared, str) else declared)
    # Every slot must be a field, or the twin would leave one unset (e.g. attrs' cached hash).
    return slots == set(names)


def _twin_for(cls: type[Any], names: list[str]) -> type[Any] | None:
    """A mutable class whose instances can become ``cls`` instances, or None if CPython refuses."""
    namespace: dict[str, Any] = {"__slots__": cls.__dict__["__slots__"], "__module__": __name__}
    if any("__setattr__" in vars(base) for base in cls.__mro__[1:-1]):
        namespace["__setattr__"] = object.__setattr__  # bypass a frozen attrs base class
    # The same bases (``Generic[T]`` included, hence new_class and __orig_bases__): CPython only
    # lets an instance change class between classes with the same base and the same slots.
    bases = cls.__dict__.get("__orig_bases__", cls.__bases__)
    twin = types.new_class(f"{cls.__name__}Twin", bases, exec_body=lambda ns: ns.update(namespace))
    trial: Any = object.__new__(twin)
    try:
        for name in names:
            setattr(trial, name, None)
        trial.__class__ = cls  # refused if the layouts differ (e.g. a __weakref__ slot)
    except TypeError:
        return None
    return twin


def _twin_maker(cls: type[R], twin: type[Any], names: list[str]) -> RowMaker[R]:
    # Unpacking a row is faster than indexing it field by field (asyncpg's Record is no tuple).
    # Locals are v0, v1, ... so that no field name can shadow the generated code's own names.
    unpack = ", ".join(f"v{index}" for index in range(len(names))) + ","
    sets = [f"o.{name} = v{index}" for index, name in enumerate(names)]
    one_sets = "\n    ".join(sets)
    many_sets = "\n        ".join(sets)
    source = f"""\
def one(r):
    {unpack} = r
    o = new(Twin)
    {one_sets}
    o.__class__ = Cls
    return o

def many(rows):
    out = []
    append = out.append
    for r in rows:
        {unpack} = r
        o = new(Twin)
        {many_sets}
        o.__class__ = Cls
        append(o)
    return out
"""
    return _compile(source, {"new": object.__new__, "Twin": twin, "Cls": cls}, cls, fast=True)


def _init_maker(cls: type[R], columns: int) -> RowMaker[R]:
    args = ", ".join(f"r[{index}]" for index in range(columns))
    source = f"""\
def one(r):
    return Cls({args})

def many(rows):
    return [Cls({args}) for r in rows]
"""
    return _compile(source, {"Cls": cls}, cls, fast=False)


def _compile(source: str, namespace: dict[str, Any], cls: type[R], *, fast: bool) -> RowMaker[R]:
    code = compile(source, f"<dbsync_core row builder for {cls.__qualname__}>", "exec")
    exec(code, namespace)  # noqa: S102  (the source is built from attrs field names only)
    one: Callable[[Sequence[Any]], R] = namespace["one"]
    many: Callable[[Sequence[Sequence[Any]]], list[R]] = namespace["many"]
    return RowMaker(one, many, fast=fast)
