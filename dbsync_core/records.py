"""Result records: frozen, slotted attrs classes, one per result shape.

Pure data: hashes are ``bytes``, lovelace and quantities ``int``, times tz-aware UTC ``datetime``.
Records carry no converters or validators, and no ``__weakref__`` slot, so the generated row
builders of :mod:`dbsync_core._rowbuild` can create them without calling the frozen ``__init__``.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003  (kept at runtime: typing.get_type_hints(Block))

import attrs

__all__ = ["Block"]


@attrs.frozen(slots=True, weakref_slot=False)
class Block:
    """A block, with its slot leader's hash and, from Shelley on, the leader's pool id."""

    id: int
    hash: bytes
    epoch_no: int | None
    slot_no: int | None
    epoch_slot_no: int | None
    block_no: int | None
    previous_id: int | None
    slot_leader: bytes
    pool_id: str | None
    size: int
    time: datetime
    tx_count: int
    proto_major: int
    proto_minor: int
    vrf_key: str | None
    op_cert: bytes | None
    op_cert_counter: int | None
