"""A minimal CBOR encoder for the metadata, datums and scripts the synthetic chain writes.

db-sync stores transaction metadata and datums twice: as JSON and as the CBOR bytes seen on
chain. The generator builds the value once and writes both; only what it needs is supported:
unsigned and negative integers, byte and text strings, arrays and maps.
"""

from __future__ import annotations

from typing import Any

__all__ = ["encode"]


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


def encode(value: Any) -> bytes:
    """CBOR of ``value`` (int, bytes, str, list/tuple, dict), canonical enough for tests."""
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode()
        return _head(3, len(data)) + data
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    msg = f"cannot encode {type(value).__name__} as CBOR"
    raise TypeError(msg)
