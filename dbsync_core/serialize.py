"""Records as JSON: what an API returns, without hand-written dict building.

``to_jsonable(value)`` turns records (any attrs instance), pages, lists and tuples into plain
``dict`` / ``list`` / ``str`` / ``int`` / ``float`` / ``bool`` / ``None`` trees: ``bytes`` become
lowercase hex (how hashes are written everywhere in Cardano), ``datetime`` ISO 8601 with its UTC
offset, ``Decimal`` an int when integral. Lovelace and token quantities stay JSON integers,
exact whatever their size (JSON has no integer limit; JavaScript clients that need more than
2**53 should parse them as big integers).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["dumps", "to_jsonable"]


def to_jsonable(value: Any) -> Any:  # noqa: PLR0911 (one return per JSON type)
    """``value`` as a tree of JSON types (see the module's documentation)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if attrs.has(type(value)):
        return {
            field.name: to_jsonable(getattr(value, field.name))
            for field in attrs.fields(type(value))
        }
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    msg = f"cannot represent a {type(value).__name__} as JSON"
    raise TypeError(msg)


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps(to_jsonable(value))``; keyword arguments go to :func:`json.dumps`."""
    return json.dumps(to_jsonable(value), **kwargs)
